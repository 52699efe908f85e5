"""A small run directory built the way `bentu run credit` builds one: a tiny tabular MLP trained on
synthetic rows, exported to ONNX, its preprocessing saved, every artifact in a hash-chained audit log."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bentu.rundir.weights import save_model_weights

N_ROWS = 3000
NUMERIC = ["income", "loan_amount", "age", "debt_ratio"]
CATEGORICAL = ["province", "employment"]


def synthetic_credit(n: int = N_ROWS, seed: int = 0) -> pd.DataFrame:
    """Raw credit-like rows with a learnable default signal."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "income": rng.lognormal(9, 0.6, n).round(0),
        "loan_amount": rng.lognormal(10, 0.8, n).round(0),
        "age": rng.integers(20, 70, n).astype(float),
        "debt_ratio": rng.uniform(0, 1.5, n),
        "province": rng.choice(["北京", "广东", "四川", "江苏", "河南"], n),
        "employment": rng.choice(["salaried", "self_employed", "unemployed"], n, p=[0.6, 0.3, 0.1]),
    })
    df.loc[rng.random(n) < 0.05, "income"] = np.nan
    logit = (-1.5 + 1.6 * df["debt_ratio"] - 0.5 * np.log(df["income"].fillna(8000) / 8000)
             + 0.9 * (df["employment"] == "unemployed") + 0.02 * (45 - df["age"]) + 0.3 * (df["province"] == "河南"))
    df["default"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return df


def build_run_dir(root: Path, *, hidden=(128, 64), epochs: int = 4, seed: int = 0) -> Path:
    from bentu.compliance.audit_log import AuditLog
    from bentu.data.preprocess import TabularPreprocessor
    from bentu.inference.export import export_onnx
    from bentu.models import create_model
    from bentu.train import Trainer

    torch.set_num_threads(1)
    run = root / "credit-test-run"
    model_dir = run / "model"
    model_dir.mkdir(parents=True)
    df = synthetic_credit(seed=seed)
    train, val, test = df.iloc[:2000], df.iloc[2000:2400], df.iloc[2400:]
    pre = TabularPreprocessor(numeric=NUMERIC, categorical=CATEGORICAL).fit(train)
    X = {k: pre.transform(v) for k, v in (("train", train), ("val", val), ("test", test))}
    Y = {k: v["default"].to_numpy(np.float32) for k, v in (("train", train), ("val", val), ("test", test))}
    ds = {k: torch.utils.data.TensorDataset(torch.from_numpy(X[k]), torch.from_numpy(Y[k])) for k in X}
    params = {"in_features": X["train"].shape[1], "hidden": list(hidden)}
    model = create_model("tabular_mlp", **params)
    Trainer(epochs=epochs, batch_size=128, lr=3e-3, seed=seed).fit(model, ds["train"], ds["val"])
    p_weights, p_spec = save_model_weights(run, model.state_dict(), name="tabular_mlp", params=params)
    parity = export_onnx(model, (torch.from_numpy(X["test"][:64]),), model_dir / "model.onnx")
    preprocess = {**pre.to_dict(), "threshold": 0.3, "target": "default", "event": 1,
                  "decision": {"at_or_above_threshold": "decline_or_review", "below_threshold": "approve"}}
    (model_dir / "preprocess.json").write_text(json.dumps(preprocess, ensure_ascii=False), encoding="utf-8")
    (run / "metrics.json").write_text(json.dumps({"test": {"auc": 0.7}}), encoding="utf-8")
    (run / "recipe.yaml").write_text("name: credit-test\napplication: credit\n", encoding="utf-8")
    (run / "model_card.en.md").write_text("# Model card\nA test model.\n", encoding="utf-8")
    test.to_csv(run / "holdout.csv", index=False)  # labelled rows for `bentu compress --data`
    log = AuditLog(run / "audit.jsonl")
    log.append("start", params={"recipe": "credit-test"})
    log.append("export", params={"parity": parity}, outputs={
        "model_weights": p_weights, "model_spec": p_spec, "model_onnx": model_dir / "model.onnx",
        "preprocess": model_dir / "preprocess.json"})
    log.append("evaluate", outputs={"metrics": run / "metrics.json", "model_card_en": run / "model_card.en.md"})
    log.complete()  # as `bentu run` ends: serve, compress and monitor accept only complete runs
    return run




def _finish_run(run: Path, model, example, input_names, preprocess: dict, dynamic=None) -> Path:
    from bentu.compliance.audit_log import AuditLog
    from bentu.inference.export import export_onnx

    model_dir = run / "model"
    model_dir.mkdir(parents=True)
    parity = export_onnx(model.eval(), example, model_dir / "model.onnx", input_names=input_names, dynamic_dims=dynamic)
    (model_dir / "preprocess.json").write_text(json.dumps(preprocess), encoding="utf-8")
    AuditLog(run / "audit.jsonl").append("export", params={"parity": parity}, outputs={
        "model_onnx": model_dir / "model.onnx", "preprocess": model_dir / "preprocess.json"})
    return run


def build_image_run(root: Path) -> tuple[Path, object]:
    """An (untrained) tiny resnet_small run with the imaging pipeline's preprocess.json."""
    from bentu.models import create_model

    torch.manual_seed(0)
    model = create_model("resnet_small", width=4, blocks=[1]).eval()
    pre = {"kind": "image", "size": 28, "channels": 1, "scale": 1 / 255.0, "mean": [0.4], "std": [0.25],
           "layout": "NCHW", "input_name": "image", "label_names": ["benign", "malignant"], "threshold": 0.5}
    return _finish_run(root / "imaging-run", model, (torch.randn(2, 1, 28, 28),), ("image",), pre), model


def build_sequence_run(root: Path) -> tuple[Path, object]:
    """An (untrained) small DKT run with the learning pipeline's preprocess.json."""
    from bentu.models import create_model

    torch.manual_seed(0)
    model = create_model("dkt", n_exercises=10, hidden=8, embed=4).eval()
    names = ("exercises", "responses", "query")
    ex = torch.randint(0, 10, (2, 6))
    pre = {"kind": "sequence", "model": "dkt", "n_exercises": 10, "max_len": 8, "input_names": list(names)}
    return _finish_run(root / "learning-run", model, (ex, torch.randint(0, 2, (2, 6)), ex), names, pre,
                       dynamic={n: {1: "time"} for n in names}), model
