"""Explanation benchmark: reason codes for 1,000 credit decisions, per SHAP method.

Trains the `credit` recipe's tabular MLP (hidden 128, 64) on the simulated portfolio, then for
each method explains 1,000 test decisions against 100 background rows and writes their reason
codes in Chinese and English. Prints a Markdown table (seconds for the attributions, for the
reason codes, total; largest additivity error |Σφ + base − logit|; largest difference from
``shap.DeepExplainer``) and writes bench/results/explain.json.

    .venv/bin/python bench/explain.py [--rows 1000] [--methods deeplift deep gradient] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from bentu.audit.explain import explain_tabular
from bentu.data.preprocess import TabularPreprocessor
from bentu.datasets.credit_sim import CREDIT_SIM_ROLES, simulate_credit
from bentu.models import create_model
from bentu.train import Trainer

RESULTS = Path(__file__).resolve().parent / "results"


def _model(n_train: int, seed: int):
    """The credit MLP trained on simulated rows; returns (test frame, preprocessor, X train, X test, model)."""
    df = simulate_credit(n_rows=n_train + 3000, seed=seed)
    feats = CREDIT_SIM_ROLES["features"]
    cat = [c for c in feats if c in CREDIT_SIM_ROLES["categorical"]]
    train, val, test = df.iloc[:n_train], df.iloc[n_train:n_train + 1000], df.iloc[n_train + 1000:]
    pre = TabularPreprocessor(numeric=[c for c in feats if c not in cat], categorical=cat).fit(train)
    ds = {k: torch.utils.data.TensorDataset(torch.from_numpy(pre.transform(v)),
                                            torch.from_numpy(v["default"].to_numpy(np.float32)))
          for k, v in (("train", train), ("val", val))}
    model = create_model("tabular_mlp", in_features=len(pre.feature_names_), hidden=[128, 64])
    Trainer(epochs=5, batch_size=512, lr=1e-3, seed=seed, progress=False).fit(model, ds["train"], ds["val"])
    return test.reset_index(drop=True), pre, pre.transform(train), pre.transform(test), model.eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--background", type=int, default=100)
    ap.add_argument("--methods", nargs="+", default=["deeplift", "deep", "gradient"])
    ap.add_argument("--repeats", type=int, default=3, help="repeats of the fast method (median reported)")
    ap.add_argument("--train-rows", type=int, default=12000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS / "explain.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    test, pre, X_train, X_test, model = _model(args.train_rows, args.seed)
    X, raw = X_test[:args.rows], test.iloc[:args.rows]
    kw = dict(model=model, background=X_train, X=X, feature_names=pre.feature_names_, groups=pre.groups_,
              n_background=args.background, seed=args.seed)
    rows, reference = [], None
    for method in args.methods:
        runs = []
        for _ in range(args.repeats if method == "deeplift" else 1):
            t0 = time.perf_counter()
            exp = explain_tabular(**kw, method=method)
            t1 = time.perf_counter()
            codes = {lang: exp.reason_codes(raw, top_k=4, lang=lang) for lang in ("zh", "en")}
            t2 = time.perf_counter()
            runs.append((t1 - t0, t2 - t1, t2 - t0))
        if method == "deep":
            reference = exp.values
        rows.append({
            "method": method, "rows": len(X), "background": args.background,
            "attribution_s": statistics.median(r[0] for r in runs),
            "reason_codes_s": statistics.median(r[1] for r in runs),
            "total_s": statistics.median(r[2] for r in runs), "repeats": len(runs),
            "additivity_error": exp.additivity_error(), "values": exp.values,
            "decisions_with_reasons": sum(bool(c) for c in codes["zh"]),
            "example_zh": [r["text"] for r in codes["zh"][0]], "example_en": [r["text"] for r in codes["en"][0]],
        })
    for r in rows:
        vals = r.pop("values")
        r["max_abs_diff_vs_shap_deep"] = float(np.abs(vals - reference).max()) if reference is not None else None
    print(f"| method | rows | attributions s | reason codes (zh+en) s | total s | additivity error | max diff vs shap.DeepExplainer |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        diff = "—" if r["max_abs_diff_vs_shap_deep"] is None else f"{r['max_abs_diff_vs_shap_deep']:.1e}"
        print(f"| {r['method']} | {r['rows']} | {r['attribution_s']:.2f} | {r['reason_codes_s']:.2f} | "
              f"{r['total_s']:.2f} | {r['additivity_error']:.1e} | {diff} |")
    print("\nexample (decision 0):", *rows[0]["example_zh"], *rows[0]["example_en"], sep="\n  ")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    out = {"benchmark": "explain", "rows": rows, "model": "tabular_mlp [128, 64] on credit-sim",
           "space": "logit", "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                         "torch_threads": torch.get_num_threads(),
                                         "load_average": os.getloadavg()}}
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
