"""Compression benchmark: fp32 vs int8 (dynamic, static) for the credit MLP, the imaging CNN and DKT.

For each model, `bentu.inference.compress.compress_model` writes the variants and measures file
size, ONNX Runtime latency (p50/p99 at batch 1 and 256, in-process after warm-up, 1 intra-op
thread) and the test metric (AUC), then chooses the variant to serve by the rule (fastest at batch
256 whose AUC loss <= 0.002). Prints one Markdown table per model with the choice and its reason,
and writes bench/results/compress.json.

    .venv/bin/python bench/compress.py [--models credit imaging dkt] [--credit-run RUN]

credit: a `credit` run directory (given, or made by running the recipe), compressed with
`bentu compress` on 20,000 freshly simulated applicants (half calibration, half test).
imaging: `resnet_small` (default config) trained 4 epochs on BreastMNIST (shared/data/medmnist);
metric on its official test split. dkt: `dkt` (default config) trained 3 epochs on 2,000
students of the DKT synthetic data (c5 v0); metric on 1,000 other students, every answered
step counted (the mask). Data come from ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent / "results"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _cfg(static: bool = True):
    from bentu.recipe import CompressCfg

    return CompressCfg(int8=True, static=static, max_metric_loss=0.002)


def credit(tmp: Path, run: Path | None) -> dict:
    from bentu.pipeline.compress import compress_run
    from bentu.datasets.credit_sim import simulate_credit

    if run is None:
        from bentu.pipeline import run_recipe
        from bentu.recipe import load_recipe

        run = run_recipe(load_recipe("credit", ["compress.int8=false", "audit.fairness=false", "audit.explain=null"]),
                         out=tmp / "credit", progress=False)
    work = tmp / "credit-copy"
    shutil.copytree(run, work)
    data = tmp / "fresh.csv"
    simulate_credit(n_rows=20_000, seed=12345).to_csv(data, index=False)
    spec = json.loads((work / "model" / "preprocess.json").read_text(encoding="utf-8"))
    result = compress_run(work, data, overrides={"static": True, "max_metric_loss": 0.002})
    result["model"] = {"name": "tabular_mlp", "inputs": len(spec["feature_names"]), "run": str(run)}
    return result


def _fit(model, train, val, epochs: int, batch_size: int):
    from bentu.train import Trainer

    return Trainer(epochs=epochs, batch_size=batch_size, lr=1e-3, seed=0, patience=epochs).fit(model, train, val)


def imaging(tmp: Path) -> dict:
    from bentu.datasets.medmnist import load_medmnist
    from bentu.inference.compress import compress_model
    from bentu.inference.export import export_onnx
    from bentu.models import create_model

    data = load_medmnist(DATA / "medmnist" / "breastmnist.npz")

    def prep(split):
        x = data.images[split].astype(np.float32).transpose(0, 3, 1, 2) / 255.0
        return x, (data.labels[split] > 0).astype(np.float32)

    (xtr, ytr), (xva, yva), (xte, yte) = prep("train"), prep("val"), prep("test")
    mean, std = float(xtr.mean()), float(xtr.std())
    xtr, xva, xte = ((x - mean) / std for x in (xtr, xva, xte))
    ds = lambda x, y: torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))  # noqa: E731
    model = create_model("resnet_small")
    _fit(model, ds(xtr, ytr), ds(xva, yva), epochs=4, batch_size=64)
    onnx_path = tmp / "imaging" / "model" / "model.onnx"
    parity = export_onnx(model, (torch.from_numpy(xte[:4]),), onnx_path, input_names=("image",))
    result = compress_model(onnx_path=onnx_path, out_dir=onnx_path.parent, calib={"image": xtr[:256]},
                            test_inputs={"image": xte}, y_test=yte, cfg=_cfg())
    result["model"] = {"name": "resnet_small", "params": sum(p.numel() for p in model.parameters()), "parity": parity,
                       "data": "BreastMNIST 28x28 (official splits)", "test_rows": int(len(yte))}
    return result


def dkt(tmp: Path) -> dict:
    from bentu.datasets.interactions import dkt_synthetic_path, load_dkt_synthetic
    from bentu.inference.compress import compress_model
    from bentu.inference.export import export_onnx
    from bentu.models import create_model

    inter = load_dkt_synthetic(dkt_synthetic_path(DATA, concepts=5, version=0))
    ex = np.stack(inter.exercises).astype(np.int64)  # (students, t): every student answers every exercise
    resp = np.stack(inter.responses).astype(np.int64)
    n = inter.n_exercises

    class Split(torch.utils.data.Dataset):  # items ((exercises, responses, query), y, mask)
        def __init__(self, idx):
            self.e, self.r = torch.from_numpy(ex[idx]), torch.from_numpy(resp[idx])

        def __len__(self):
            return len(self.e)

        def __getitem__(self, i):
            return (self.e[i], self.r[i], self.e[i]), self.r[i].float(), torch.ones_like(self.r[i], dtype=torch.bool)

    rng = np.random.default_rng(0)
    order = rng.permutation(len(ex))
    tr, va, te = order[:2000], order[2000:2500], order[2500:3500]
    model = create_model("dkt", n_exercises=n)
    _fit(model, Split(tr), Split(va), epochs=3, batch_size=64)
    names = ("exercises", "responses", "query")
    onnx_path = tmp / "dkt" / "model" / "model.onnx"
    example = tuple(torch.from_numpy(a[te[:4]]) for a in (ex, resp, ex))
    parity = export_onnx(model, example, onnx_path, input_names=names, dynamic_dims={k: {1: "time"} for k in names})
    feeds = lambda idx: {"exercises": ex[idx], "responses": resp[idx], "query": ex[idx]}  # noqa: E731
    result = compress_model(onnx_path=onnx_path, out_dir=onnx_path.parent, calib=feeds(tr[:256]), test_inputs=feeds(te),
                            y_test=resp[te].astype(np.float32), mask=np.ones_like(resp[te], dtype=bool), cfg=_cfg())
    result["model"] = {"name": "dkt", "params": sum(p.numel() for p in model.parameters()), "parity": parity,
                       "data": f"DKT synthetic c5 v0: {len(tr)} train / {len(te)} test students x {ex.shape[1]} steps"}
    return result


def _table(name: str, r: dict) -> str:
    lines = [f"### {name} (threads={r['threads']}, metric={r['metric']})", "",
             "| variant | KB | size ratio | b1 p50 ms | b1 p99 ms | b256 p50 ms | b256 p99 ms | speed-up b256 | AUC | ΔAUC |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for v, d in r["variants"].items():
        b1, b256 = d["latency"]["batch_1"], d["latency"]["batch_256"]
        lines.append(f"| {v}{' (chosen)' if v == r['chosen'] else ''} | {d['size_bytes'] / 1024:.1f} | "
                     f"{d['size_ratio_vs_fp32']:.2f}x | {b1['p50_ms']:.4f} | {b1['p99_ms']:.4f} | {b256['p50_ms']:.4f} | "
                     f"{b256['p99_ms']:.4f} | {d['speedup_b256_vs_fp32']:.2f}x | {d['metric']:.4f} | {d['metric_delta']:+.4f} |")
    return "\n".join(lines + ["", f"Chosen: **{r['chosen']}**. {r['reason']}", ""])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["credit", "imaging", "dkt"], choices=["credit", "imaging", "dkt"])
    ap.add_argument("--credit-run", type=Path, default=None, help="an existing `credit` run directory")
    ap.add_argument("--out", type=Path, default=RESULTS / "compress.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    results = {}
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        for name in args.models:
            start = time.perf_counter()
            results[name] = credit(tmp, args.credit_run) if name == "credit" else globals()[name](tmp)
            results[name]["bench_seconds"] = round(time.perf_counter() - start, 1)
            print(_table(name, results[name]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"results": results, "machine": platform.platform(), "python": platform.python_version(),
               "onnxruntime": __import__("onnxruntime").__version__}
    args.out.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
