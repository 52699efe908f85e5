"""The imaging application end to end on tiny MedMNIST-format files (real images, few of them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from bentu.errors import ConfigError, DataError
from bentu.models import create_model
from bentu.pipeline._context import RunContext
from bentu.audit.metrics import choose_threshold, clinical_metrics
from bentu.pipeline.imaging import run, subsample
from bentu.recipe import load_recipe
from bentu.report.builder import Report
from bentu.rundir.weights import load_model_weights
from bentu.train.transfer import save_weights

FAST = [
    "train.epochs=1", "train.batch_size=16", "model.width=4", "model.blocks=[1,1]", "model.attention=[1]",
    "transfer.layers=[stem,stages.0]",
    "imaging.pretrain_epochs=1",
    "imaging.data_volume=[0.5,1.0]", "imaging.gradcam_cases=1",
]


class FakeAudit:
    """Records audit entries; checks that every output path lies inside the run directory."""

    def __init__(self, root: Path):
        self.root, self.steps = root, []

    def append(self, step, *, params=None, inputs=None, outputs=None):
        for p in (outputs or {}).values():
            assert Path(p).resolve().is_relative_to(self.root.resolve()) and Path(p).exists()
        self.steps.append(step)


def _ctx(tmp_path: Path, data_root: Path, sets: list[str], recipe="imaging-breastmnist", data_path=None):
    out = tmp_path / "run"
    out.mkdir(parents=True)
    rc = load_recipe(recipe, [*FAST, *sets])
    return RunContext(recipe=rc, dir=out, lang="zh", data_root=data_root, data_path=data_path,
                      audit=FakeAudit(out), report=Report(lang="zh", title="t"), progress=False)


def test_breastmnist_run_writes_every_output(tmp_path, tiny_root):
    ctx = _ctx(tmp_path, tiny_root, [])
    run(ctx)
    d = ctx.dir
    m = json.loads((d / "metrics.json").read_text())
    for k in ("auc", "accuracy", "sensitivity", "specificity", "threshold", "fn", "fp", "tn", "tp"):
        assert k in m["test"] and k in m["val"]
    assert m["test"]["tp"] + m["test"]["fn"] == 8  # 8 malignant test images: the positive class
    assert m["positive_class"] == "malignant" and m["operating_point"]["chosen_on"] == "val"
    assert m["transfer"]["from"] == "pneumoniamnist" and set(m["arms"]) == {"transfer", "scratch"}
    assert {(r["fraction"], r["arm"]) for r in m["data_volume"]} == {
        (f, a) for f in (0.5, 1.0) for a in ("transfer", "scratch")}
    assert m["export"]["passed"]
    prof = json.loads((d / "data_profile.json").read_text())
    assert prof["counts"]["train"] == {"malignant": 16, "normal/benign": 16} and len(prof["sha256"]) == 64
    pre = json.loads((d / "model" / "preprocess.json").read_text())
    assert pre["kind"] == "image" and pre["size"] == 28 and pre["label_names"] == ["normal/benign", "malignant"]
    # The ONNX model scores what the metrics were computed on (TTA is inside the graph).
    sess = ort.InferenceSession(str(d / "model" / "model.onnx"), providers=["CPUExecutionProvider"])
    x = np.zeros((2, 1, 28, 28), np.float32)
    assert sess.run(None, {"image": x})[0].shape == (2,)
    idx = json.loads((d / "explanations" / "gradcam" / "index.json").read_text())
    assert idx["cases"] and all((d / "explanations" / "gradcam" / c["file"]).is_file() for c in idx["cases"])
    assert {c["kind"] for c in idx["cases"]} <= {"TP", "TN", "FP", "FN"}
    assert ctx.audit.steps[:4] == ["load_data", "privacy_gate", "prepare_data", "pretrain"]
    assert ctx.audit.steps[-4:] == ["data_volume", "export", "evaluate", "explain_gradcam"]
    keys = [s.key for s in ctx.report.sections]
    assert keys == ["data", "imaging_evaluation", "data_volume", "explanations"]
    assert "假阴性" in str(ctx.report.sections[1].blocks[0].content)
    assert ctx.evidence["metrics"]["auc"] == m["test"]["auc"]
    # A second run with the same pretraining settings reuses the source model from the cache.
    ctx2 = _ctx(tmp_path / "again", tiny_root, ["imaging.compare_scratch=false", "imaging.primary=transfer", "imaging.data_volume=[1.0]", "imaging.ensemble=1",
                                                 "audit.explain=null", "imaging.onnx=false"])
    run(ctx2)
    t2 = json.loads((ctx2.dir / "metrics.json").read_text())["transfer"]
    assert t2["reused_from_cache"] and t2["source_val_auc"] == m["transfer"]["source_val_auc"]
    assert (ctx2.dir / "model" / "pretrained-pneumoniamnist.safetensors").read_bytes() == \
        (d / "model" / "pretrained-pneumoniamnist.safetensors").read_bytes()


def test_transfer_from_weights_file_and_seed(tmp_path, tiny_root):
    w = save_weights(create_model("resnet_small", width=4, blocks=[1, 1]), tmp_path / "other-hospital.safetensors")
    aucs = []
    for seed in (0, 1):
        ctx = _ctx(tmp_path / str(seed), tiny_root, [f"transfer.from={w}", "transfer.freeze=[stem]", "transfer.layers=[stem]",
                                                       "imaging.compare_scratch=false", "imaging.primary=transfer", "imaging.data_volume=[1.0]", "imaging.ensemble=1",
                                                       f"train.seed={seed}", "audit.explain=null", "imaging.onnx=false"])
        run(ctx)
        m = json.loads((ctx.dir / "metrics.json").read_text())
        assert m["transfer"]["kind"] == "weights_file" and m["transfer"]["freeze"] == ["stem"]
        assert m["transfer"]["layers"] == ["stem"] and m["transfer"]["tensors_transferred"] == 6  # conv + 5 of bn
        assert list(m["arms"]) == ["transfer"] and m["seed"] == seed
        aucs.append(load_model_weights(ctx.dir)[1]["model.head.2.weight"])
    assert not torch.equal(aucs[0], aucs[1])  # another seed, other weights


def _run_from_weights(tmp_path: Path, tiny_root: Path, sets: list[str]):
    """Run with transfer from another hospital's weights file (no pretraining); the context and metrics."""
    w = save_weights(create_model("resnet_small", width=4, blocks=[1, 1]), tmp_path / "other-hospital.safetensors")
    ctx = _ctx(tmp_path, tiny_root, [f"transfer.from={w}", "imaging.data_volume=[1.0]", *sets])
    run(ctx)
    return ctx, json.loads((ctx.dir / "metrics.json").read_text())


def test_primary_arm_can_be_chosen_on_validation(tmp_path, tiny_root):
    _, m = _run_from_weights(tmp_path, tiny_root, ["imaging.primary=auto", "imaging.ensemble=2", "audit.explain=null",
                                                   "imaging.onnx=false"])
    choice = m["primary_choice"]
    assert set(choice["val_auc"]) == {"transfer", "scratch"} and choice["chosen_on"] == "val"
    assert m["primary"] == choice["chosen"] == max(choice["val_auc"], key=choice["val_auc"].get)
    other = ({"transfer", "scratch"} - {m["primary"]}).pop()
    # the deployed arm has the ensemble's 2 members (seeds 0 and 1000); the other arm one model
    assert [r["seed"] for r in m["arms"][m["primary"]]["runs"]] == [0, 1000]
    assert [r["seed"] for r in m["arms"][other]["runs"]] == [0]


def test_both_arms_alternate_in_the_deployed_ensemble(tmp_path, tiny_root):
    ctx, m = _run_from_weights(tmp_path, tiny_root, ["imaging.primary=both", "imaging.ensemble=3", "imaging.tta_shift=1"])
    assert m["primary"] == "both" and m["primary_choice"]["rule"] == "both"
    # members: transfer 0, scratch 0, transfer 1000; the scratch arm stops at its share
    assert [r["seed"] for r in m["arms"]["transfer"]["runs"]] == [0, 1000]
    assert [r["seed"] for r in m["arms"]["scratch"]["runs"]] == [0]
    spec, state = load_model_weights(ctx.dir)
    assert spec.ensemble == 3 and spec.model_extra["tta_shift"] == 1
    assert {k.split(".")[2] for k in state if k.startswith("model.members.")} == {"0", "1", "2"}
    assert json.loads((ctx.dir / "model" / "preprocess.json").read_text())["tta_shift"] == 1
    assert m["export"]["passed"]  # the 18 views of each image are inside the ONNX graph


def test_primary_arm_that_is_not_trained_is_a_config_error(tmp_path, tiny_root):
    ctx = _ctx(tmp_path, tiny_root, ["transfer.from=null", "imaging.primary=transfer"])
    with pytest.raises(ConfigError) as err:
        run(ctx)
    assert str(err.value) == "imaging.primary is 'transfer' but this run trains only scratch (set transfer.from)."
    assert not (ctx.dir / "metrics.json").exists()


def test_missing_data_names_path(tmp_path):
    ctx = _ctx(tmp_path, tmp_path / "nowhere", [])
    with pytest.raises(DataError, match=r"MedMNIST file not found: .*nowhere/medmnist/breastmnist\.npz\. Download it from Zenodo"):
        run(ctx)


def test_data_path_file(tmp_path, tiny_root):
    ctx = _ctx(tmp_path, None, ["transfer.from=null", "imaging.data_volume=[1.0]", "audit.explain=null",
                                "imaging.ensemble=2"], recipe="imaging-pneumoniamnist",
               data_path=tiny_root / "medmnist" / "pneumoniamnist.npz")
    run(ctx)
    m = json.loads((ctx.dir / "metrics.json").read_text())
    assert m["positive_class"] == "pneumonia" and m["transfer"]["enabled"] is False
    assert m["ensemble"] == 2 and len(m["arms"]["scratch"]["runs"]) == 2 and m["export"]["passed"]


def test_choose_threshold_rules():
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.6, 0.4, 0.8, 0.9])
    t = choose_threshold(y, p, "accuracy")
    assert clinical_metrics(y, p, t)["accuracy"] == pytest.approx(5 / 6)
    t = choose_threshold(y, p, "target_sensitivity", target_sensitivity=1.0)
    assert clinical_metrics(y, p, t)["sensitivity"] == 1.0 and 0.2 < t <= 0.4
    m = clinical_metrics(y, p, 0.5)
    assert (m["tp"], m["fn"], m["fp"], m["tn"]) == (2, 1, 1, 2)


def test_subsample_is_stratified():
    y = np.array([0] * 40 + [1] * 60)
    idx = subsample(y, 0.25, seed=0)
    assert (y[idx] == 0).sum() == 10 and (y[idx] == 1).sum() == 15


def test_png_folder_source(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for k, cls in enumerate(("normal", "tumour")):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(10):
            a = rng.integers(0, 120, (40, 40), dtype=np.uint8) + (100 if k else 0)
            Image.fromarray(a.astype(np.uint8)).save(tmp_path / "imgs" / cls / f"{i}.png")
    ctx = _ctx(tmp_path, tmp_path, ["imaging.source=folder", "imaging.path=imgs", "imaging.image_size=28",
                                    "imaging.positive_label=1", "transfer.from=null", "imaging.primary=scratch", "imaging.data_volume=[1.0]",
                                    "audit.explain=null", "imaging.onnx=false"])
    run(ctx)
    prof = json.loads((ctx.dir / "data_profile.json").read_text())
    assert prof["label_names"] == ["normal", "tumour"] and prof["image_size"] == [28, 28]
    assert prof["counts"]["test"] == {"normal": 2, "tumour": 2}
    assert json.loads((ctx.dir / "metrics.json").read_text())["positive_class"] == "tumour"


def test_choose_threshold_accuracy_plateau():
    """Small validation sets: the accuracy rule is smoothed over neighbouring thresholds (a plateau)."""
    from bentu.audit.metrics import SMOOTH_BELOW

    rng = np.random.default_rng(0)
    y = (rng.random(78) < 0.27).astype(int)
    p = np.clip(0.3 * y + rng.random(78) * 0.7, 0, 1)
    plain = choose_threshold(y, p, "accuracy", smooth=0)
    best = max(clinical_metrics(y, p, t)["accuracy"] for t in np.unique(p))
    assert clinical_metrics(y, p, plain)["accuracy"] == pytest.approx(best)
    assert choose_threshold(y, p, "accuracy") == choose_threshold(y, p, "accuracy", smooth=78 // 15)
    big = np.arange(SMOOTH_BELOW) % 2
    assert choose_threshold(big, big * 0.5 + 0.2, "accuracy") == choose_threshold(big, big * 0.5 + 0.2, "accuracy", smooth=0)


def test_both_arms_without_scratch_is_a_config_error(tmp_path, tiny_root):
    ctx = _ctx(tmp_path, tiny_root, ["imaging.primary=both", "imaging.compare_scratch=false"])
    with pytest.raises(ConfigError) as err:
        run(ctx)
    assert str(err.value) == ("imaging.primary is 'both' but this run trains only transfer "
                              "(set imaging.compare_scratch: true, or imaging.primary: transfer).")
    assert not (ctx.dir / "metrics.json").exists()
    one = _ctx(tmp_path / "one", tiny_root, ["imaging.primary=both", "imaging.ensemble=1"])
    with pytest.raises(ConfigError) as err:
        run(one)
    assert str(err.value) == ("imaging.primary 'both' deploys models of both arms: imaging.ensemble must be at "
                              "least 2. Got 1.")


def test_worker_processes_give_the_models_of_a_one_thread_run(tmp_path, tiny_root):
    """train.processes: 2 trains every model (source, members, curve) in one-thread workers: the
    numbers are those of a one-thread run in this process, and the source model is cached apart."""
    sets = ["imaging.ensemble=3", "imaging.data_volume_seeds=2", "audit.explain=null", "imaging.onnx=false"]
    runs = {}
    for processes in (0, 2):
        ctx = _ctx(tmp_path / str(processes), tiny_root, [*sets, f"train.processes={processes}"])
        run(ctx)
        runs[processes] = json.loads((ctx.dir / "metrics.json").read_text())
    a, b = runs[0], runs[2]
    for key in ("test", "val", "arms", "data_volume", "primary"):
        assert a[key] == b[key], key
    assert b["transfer"]["source_val_auc"] == a["transfer"]["source_val_auc"]
    assert b["transfer"]["cache_key"] != a["transfer"]["cache_key"] and not b["transfer"]["reused_from_cache"]
    assert [r["seed"] for r in b["arms"]["transfer"]["runs"]] == [0, 1000]
    assert [r["seeds"] for r in b["data_volume"]] == [2, 2, 2, 1]  # at 100 %: the arms' trained models
