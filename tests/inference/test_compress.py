"""Compression: int8 variants, measurements, the choice rule, pruning and distillation."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from bentu.errors import ConfigError
from bentu.inference.compress import choose_variant, compress_model, evaluate_onnx
from bentu.inference.latency import measure_latency, take_batch
from bentu.inference.predictor import Predictor
from bentu.inference.prune import prune_model, prunable_layers, sparsity
from bentu.inference.quantize import fold_batchnorm
from bentu.models import create_model
from bentu.rundir.weights import load_model_weights
from bentu.recipe import CompressCfg
from bentu.train.distill import SoftTargetDataset, distill

from _inference_runs import synthetic_credit


def _data(run_dir):
    pred = Predictor.from_run_dir(run_dir)
    df = synthetic_credit(1200, seed=7)
    x, y = pred.transform(df), df["default"].to_numpy(np.float32)
    return x, y


def _lat(p50):
    return {"batch_256": {"p50_ms": p50}}


def test_choice_rule_keeps_fp32_when_int8_loses():
    fp32 = {"metric_loss": 0.0, "latency": _lat(1.0)}
    slow = choose_variant({"fp32": fp32, "int8": {"metric_loss": 0.0, "latency": _lat(1.3)}}, 0.002)
    assert slow[0] == "fp32" and slow[1] == "Keeping fp32: int8 is not faster at batch 256 (1.3 ms vs fp32 1 ms)."
    worse = choose_variant({"fp32": fp32, "int8": {"metric_loss": 0.01, "latency": _lat(0.4)}}, 0.002)
    assert worse[0] == "fp32" and "int8 loses 0.0100 of the metric (allowed: 0.002)" in worse[1]
    fast = choose_variant({"fp32": fp32, "int8": {"metric_loss": 0.001, "latency": _lat(0.5)},
                           "int8_static": {"metric_loss": 0.0, "latency": _lat(0.45)}}, 0.002)
    assert fast[0] == "int8_static" and "2.22x" in fast[1]


def test_fold_batchnorm_keeps_the_function(run_dir, tmp_path):
    src = run_dir / "model" / "model.onnx"
    model = onnx.load(str(src))
    assert fold_batchnorm(model) == 2
    assert "BatchNormalization" not in {n.op_type for n in model.graph.node}
    onnx.save(model, str(tmp_path / "folded.onnx"))
    x = np.random.default_rng(0).normal(size=(64, Predictor.from_run_dir(run_dir).session.get_inputs()[0].shape[1])).astype(np.float32)
    a = ort.InferenceSession(str(src)).run(None, {"input": x})[0]
    b = ort.InferenceSession(str(tmp_path / "folded.onnx")).run(None, {"input": x})[0]
    assert np.max(np.abs(a - b)) < 1e-5


def test_compress_model_writes_and_measures_every_variant(run_dir):
    x, y = _data(run_dir)
    spec, state = load_model_weights(run_dir)
    model = create_model(spec.name, **spec.params)
    model.load_state_dict(state)
    train = torch.utils.data.TensorDataset(torch.from_numpy(x[:600]), torch.from_numpy(y[:600]))
    cfg = CompressCfg(int8=True, static=True, prune=0.5, distill={"student": {"hidden": [16]}, "epochs": 2})
    result = compress_model(
        onnx_path=run_dir / "model" / "model.onnx", out_dir=run_dir / "model", calib={"input": x[:600]},
        test_inputs={"input": x[600:]}, y_test=y[600:], cfg=cfg, torch_model=model, train_dataset=train,
        model_spec={"name": spec.name, "params": spec.params}, latency_seconds=0.3,
    )
    v = result["variants"]
    assert set(v) == {"fp32", "int8", "int8_static", "pruned", "distilled"}
    assert v["int8"]["file"] == "model/model.int8.onnx" and (run_dir / v["int8"]["file"]).is_file()
    assert v["int8"]["size_bytes"] < v["fp32"]["size_bytes"] / 2
    for name, var in v.items():
        assert set(var["latency"]) == {"threads", "batch_1", "batch_256"} and var["latency"]["threads"] == 1
        assert var["latency"]["batch_256"]["p99_ms"] >= var["latency"]["batch_256"]["p50_ms"] > 0
        assert var["metric_delta"] == pytest.approx(var["metric"] - v["fp32"]["metric"], abs=2e-6)  # both rounded to 1e-6
    assert abs(v["int8"]["metric_delta"]) < 0.01
    assert v["pruned"]["sparsity"] == pytest.approx(0.5, abs=0.01) and v["pruned"]["parity"]["passed"]
    assert v["distilled"]["parameters"] < v["distilled"]["teacher_parameters"]
    assert result["chosen"] in v and result["reason"] and result["reason_zh"]
    json.dumps(result)  # JSON-ready
    # the Predictor serves the variant compression.json names
    (run_dir / "compression.json").write_text(json.dumps(result))
    assert Predictor.from_run_dir(run_dir, "int8").variant == "int8"


def test_compress_needs_the_torch_model_for_pruning(run_dir):
    x, y = _data(run_dir)
    with pytest.raises(ConfigError, match="compress.prune needs the trained PyTorch model"):
        compress_model(onnx_path=run_dir / "model" / "model.onnx", out_dir=run_dir / "model", calib={"input": x},
                       test_inputs={"input": x}, y_test=y, cfg=CompressCfg(prune=0.3))


def test_evaluate_onnx_uses_the_mask(tmp_path):
    model = create_model("dkt", n_exercises=10, hidden=8, embed=4).eval()
    from bentu.inference.export import export_onnx

    ex = torch.randint(0, 10, (6, 5))
    resp = torch.randint(0, 2, (6, 5))
    export_onnx(model, (ex, resp, ex), tmp_path / "dkt.onnx", input_names=("exercises", "responses", "query"),
                dynamic_dims={n: {1: "time"} for n in ("exercises", "responses", "query")})
    feeds = {"exercises": ex.numpy(), "responses": resp.numpy(), "query": ex.numpy()}
    mask = np.zeros((6, 5), bool)
    mask[:, :3] = True
    seen = {}

    def metric(y, p):
        seen["n"] = len(y)
        return 0.5

    assert evaluate_onnx(tmp_path / "dkt.onnx", feeds, resp.numpy(), mask=mask, metric_fn=metric) == 0.5
    assert seen["n"] == 18


def test_latency_and_batches(run_dir):
    x = np.ones((3, 4), np.float32)
    assert take_batch({"a": x}, 7)["a"].shape == (7, 4)
    n = Predictor.from_run_dir(run_dir).session.get_inputs()[0].shape[1]
    lat = measure_latency(run_dir / "model" / "model.onnx", {"input": np.zeros((5, n), np.float32)},
                          batch_sizes=(1, 8), warmup=2, repeats=25, max_seconds=0.2)
    assert lat["threads"] == 1 and lat["batch_8"]["runs"] >= 20


def test_prune_structured_zeroes_whole_channels():
    model = create_model("tabular_mlp", in_features=12, hidden=[16, 8])
    pruned, info = prune_model(model, amount=0.5, structured=True)
    first = prunable_layers(pruned)[0][1].weight
    assert int((first.abs().sum(dim=1) == 0).sum()) == 8  # half of the 16 output channels
    assert info["method"] == "structured-l2" and sparsity(model) == 0.0  # the original is untouched
    with pytest.raises(ConfigError, match=r"The 'amount' parameter of prune_model must be a float in \[0, 1\). Got 1.5 instead."):
        prune_model(model, amount=1.5)


def test_distill_trains_a_smaller_student(run_dir):
    x, y = _data(run_dir)
    spec, state = load_model_weights(run_dir)
    teacher = create_model(spec.name, **spec.params)
    teacher.load_state_dict(state)
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x[:800]), torch.from_numpy(y[:800]))
    soft = SoftTargetDataset(ds, torch.zeros(800), alpha=0.25)
    assert float(soft[0][1]) == pytest.approx(0.25 * float(y[0]) + 0.75 * 0.5)
    student = create_model("tabular_mlp", in_features=x.shape[1], hidden=[8])
    trainer = distill(teacher, student, ds, torch.utils.data.TensorDataset(torch.from_numpy(x[800:]), torch.from_numpy(y[800:])),
                      temperature=2.0, epochs=3, batch_size=128, lr=3e-3)
    assert trainer.best_score_ > 0.6  # validation AUC on hard labels
    with pytest.raises(ConfigError, match="The 'temperature' parameter of distill must be a float in \\(0, inf\\)"):
        distill(teacher, student, ds, temperature=0)
