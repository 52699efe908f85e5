"""Credit benchmark: bentu's MLP against the baselines trained in the same run.

Runs the `credit-uci` recipe (UCI table, FATE's test partition) and the `credit` recipe (simulated
portfolio) through the real pipeline, then prints AUC, KS and training seconds per model as a
Markdown table and writes bench/results/credit.json.

    .venv/bin/python bench/credit.py [--recipes credit-uci credit] [--seeds 0]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from bentu.pipeline import run_recipe
from bentu.recipe import load_recipe

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipes", nargs="+", default=["credit-uci", "credit"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--out", type=Path, default=RESULTS / "credit.json")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.recipes:
            for seed in args.seeds:
                recipe = load_recipe(name, [f"train.seed={seed}", "compress.int8=false", "audit.fairness=false",
                                            "audit.explain=null"])
                start = time.perf_counter()
                run_dir = run_recipe(recipe, out=Path(tmp) / f"{name}-{seed}", progress=False)
                wall = time.perf_counter() - start
                m = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
                rows.append({"recipe": name, "seed": seed, "model": recipe.model.name, "auc": m["test"]["auc"],
                             "ks": m["test"]["ks"], "train_seconds": m["training"].get("train_seconds"), "run_seconds": wall})
                for b, v in m["baselines"].items():
                    rows.append({"recipe": name, "seed": seed, "model": b, "auc": v["test"]["auc"], "ks": v["test"]["ks"],
                                 "train_seconds": v["train_seconds"], "run_seconds": None})
    print("| recipe | seed | model | test AUC | test KS | training s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['recipe']} | {r['seed']} | {r['model']} | {r['auc']:.4f} | {r['ks']:.4f} | {r['train_seconds']:.1f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "rows": rows}, indent=2), encoding="utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
