"""Imaging benchmark: bentu's imaging recipes over several seeds beside the published MedMNIST v2
results (test AUC / ACC, 28×28), plus transfer learning vs scratch on the data-volume curve.

Usage (from the project root; every bentu number in the output is measured by this run)::

    .venv/bin/python bench/imaging.py [--recipes imaging-breastmnist,imaging-pneumoniamnist]
        [--seeds 0,1,2] [--set key=value ...] [--out bench/results] [--jobs N] [--direct]

Each (recipe, seed) is one full ``bentu run`` (``run_recipe``) with ``--set train.seed=N``; the
model and its threshold are chosen on the validation split only, and the test split is the
official MedMNIST one. ``--direct`` calls the imaging application without the common driver
(no compliance / model card / report), for quick checks. Writes ``<out>/imaging.json`` and
``<out>/imaging.md``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import logging
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bentu.recipe import default_data_root, load_recipe

# MedMNIST v2, "Benchmarking Performance on MedMNIST2D" (Yang et al., Scientific Data 2023), read from
# MedMNIST/medmnist.github.io v2.html @ 74c5d447 — see ../shared/data/REFERENCE_RESULTS.md §1.
PUBLISHED = {
    "breastmnist": {
        "ResNet-18 (28)": (0.901, 0.863), "ResNet-18 (224)": (0.891, 0.833), "ResNet-50 (28)": (0.857, 0.812),
        "ResNet-50 (224)": (0.866, 0.842), "auto-sklearn": (0.836, 0.803), "AutoKeras": (0.871, 0.831),
        "Google AutoML Vision": (0.919, 0.861),
    },
    "pneumoniamnist": {
        "ResNet-18 (28)": (0.944, 0.854), "ResNet-18 (224)": (0.956, 0.864), "ResNet-50 (28)": (0.948, 0.854),
        "ResNet-50 (224)": (0.962, 0.884), "auto-sklearn": (0.942, 0.855), "AutoKeras": (0.947, 0.878),
        "Google AutoML Vision": (0.991, 0.946),
    },
}
TARGETS = {"breastmnist": (0.92, 0.87), "pneumoniamnist": (0.96, 0.88)}  # issue 5: AUC, ACC


def _run_direct(rc, out: Path, data: Path | None) -> Path:
    from bentu.compliance.audit_log import AuditLog
    from bentu.pipeline._context import RunContext
    from bentu.pipeline.imaging import run
    from bentu.report.builder import Report

    out.mkdir(parents=True)
    ctx = RunContext(recipe=rc, dir=out, lang="en", data_root=data or default_data_root(), data_path=None,
                     audit=AuditLog(out / "audit.jsonl", root=out), report=Report(lang="en", title=rc.name),
                     progress=False)
    run(ctx)
    return out


def run_one(recipe: str, seed: int, sets: list[str], out: Path, data: Path | None, direct: bool) -> dict:
    """One full run; returns its metrics plus wall-clock and CPU seconds."""
    rc = load_recipe(recipe, [f"train.seed={seed}", *sets])
    cpu0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    if direct:
        run_dir = _run_direct(rc, out, data)
    else:
        from bentu.pipeline import run_recipe

        run_dir = run_recipe(rc, out=out, data=data, lang="en", progress=False)
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    m = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    return {"recipe": recipe, "seed": seed, "run_dir": str(run_dir), "wall_s": wall,
            "cpu_s": (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime),
            "test": m["test"], "val": m["val"], "data_volume": m["data_volume"], "transfer": m["transfer"]}


def summarise(runs: list[dict]) -> dict:
    """Mean and std over seeds of the test metrics, and of each data-volume point per arm."""
    out = {}
    for k in ("auc", "accuracy", "sensitivity", "specificity", "fn", "fp"):
        v = np.array([r["test"][k] for r in runs], dtype=float)
        out[k] = {"mean": float(v.mean()), "std": float(v.std()), "values": v.tolist()}
    curve: dict[str, list] = {}
    for r in runs:
        for row in r["data_volume"]:
            # every (run seed, curve seed) model: runs use independent subsets (bentu.models.ensemble.member_seeds)
            curve.setdefault(f"{row['arm']}@{row['fraction']:g}", []).extend(row.get("test_aucs", [row["test_auc"]]))
    out["data_volume"] = {k: {"mean": float(np.mean(v)), "std": float(np.std(v)), "values": v} for k, v in curve.items()}
    out["wall_s"] = {"mean": float(np.mean([r["wall_s"] for r in runs])), "max": float(max(r["wall_s"] for r in runs))}
    out["cpu_s"] = {"mean": float(np.mean([r["cpu_s"] for r in runs])), "max": float(max(r["cpu_s"] for r in runs))}
    return out


def markdown(results: dict) -> str:
    lines = []
    for recipe, res in results.items():
        flag = recipe.removeprefix("imaging-")
        s = res["summary"]
        n = len(res["runs"])
        lines += [f"### {recipe} (official test split, 28×28)", "",
                  "| method | test AUC | test ACC | source |", "|---|---|---|---|"]
        for name, (auc, acc) in PUBLISHED.get(flag, {}).items():
            lines.append(f"| {name} | {auc:.3f} | {acc:.3f} | MedMNIST v2 (published) |")
        lines.append(f"| **bentu resnet_small** | **{s['auc']['mean']:.3f} ± {s['auc']['std']:.3f}** | "
                     f"**{s['accuracy']['mean']:.3f} ± {s['accuracy']['std']:.3f}** | this run, mean ± std over {n} seeds |")
        if flag in TARGETS:
            ta, tc = TARGETS[flag]
            lines.append(f"| target (issue 5) | ≥ {ta} | ≥ {tc} | |")
        lines += ["", f"Sensitivity {s['sensitivity']['mean']:.3f} ± {s['sensitivity']['std']:.3f}, specificity "
                  f"{s['specificity']['mean']:.3f} ± {s['specificity']['std']:.3f}, FN {s['fn']['mean']:.1f}, "
                  f"FP {s['fp']['mean']:.1f} (means). Runtime per run: wall {s['wall_s']['mean']:.0f} s mean, "
                  f"{s['wall_s']['max']:.0f} s max; CPU {s['cpu_s']['mean']:.0f} s mean.", "",
                  "| data volume | test AUC (mean ± std over every trained model) | models |", "|---|---|---|"]
        for k, v in sorted(s["data_volume"].items(), key=lambda kv: (float(kv[0].split("@")[1]), kv[0])):
            lines.append(f"| {k} | {v['mean']:.3f} ± {v['std']:.3f} | {len(v['values'])} |")
        dv = s["data_volume"]
        for frac in sorted({k.split("@")[1] for k in dv}, key=float):
            t, c = dv.get(f"transfer@{frac}"), dv.get(f"scratch@{frac}")
            if t and c:
                wins = sum(a > b for a, b in zip(t["values"], c["values"]))
                lines.append(f"\nAt {float(frac):.0%}: transfer − scratch = {t['mean'] - c['mean']:+.4f} "
                             f"(transfer ahead on {wins} of {len(t['values'])} paired models).")
        lines.append("")
    return "\n".join(lines)


def _init_worker() -> None:
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)


def _show(r: dict) -> dict:
    t = r["test"]
    print(f"{r['recipe']} seed {r['seed']}: test AUC {t['auc']:.4f} ACC {t['accuracy']:.4f} "
          f"sens {t['sensitivity']:.3f} spec {t['specificity']:.3f}  wall {r['wall_s']:.0f}s cpu {r['cpu_s']:.0f}s",
          flush=True)
    return r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipes", default="imaging-breastmnist,imaging-pneumoniamnist")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--set", dest="sets", action="append", default=[], help="extra recipe override (repeatable)")
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=Path("bench/results"))
    ap.add_argument("--direct", action="store_true", help="skip the common driver (quick checks)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads when --jobs is 1")
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel (separate processes, 1 thread each)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    recipes = args.recipes.split(",")
    jobs = [(recipe, seed) for recipe in recipes for seed in seeds]
    done: dict[tuple[str, int], dict] = {}
    with tempfile.TemporaryDirectory(prefix="bentu-bench-imaging-") as tmp:
        call = lambda rs: (run_one, rs[0], rs[1], args.sets, Path(tmp) / f"{rs[0]}-{rs[1]}", args.data, args.direct)  # noqa: E731
        if args.jobs > 1:
            # Separate processes, one torch thread each; runs of one recipe share its pretrained
            # source model through the cache (the first run trains it, the others wait for it).
            ctx = multiprocessing.get_context("spawn")
            with concurrent.futures.ProcessPoolExecutor(args.jobs, mp_context=ctx, initializer=_init_worker) as pool:
                futures = {pool.submit(*call(rs)): rs for rs in jobs}
                for fut in concurrent.futures.as_completed(futures):
                    done[futures[fut]] = _show(fut.result())
        else:
            for rs in jobs:
                fn, *a = call(rs)
                done[rs] = _show(fn(*a))
    results = {}
    for recipe in recipes:
        runs = [done[(recipe, s)] for s in seeds]
        results[recipe] = {"sets": args.sets, "seeds": seeds, "runs": runs, "summary": summarise(runs)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "imaging.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    md = markdown(results)
    (args.out / "imaging.md").write_text(md + "\n", encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
