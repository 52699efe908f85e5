"""Benchmark: knowledge tracing on the DKT paper's synthetic students, beside the paper's numbers.

For each version ``v`` of ``naive_c{C}_q50_s4000_v{v}.csv.gz`` (rows 0-1999 train, 2000-3999
test; 10% of the training rows for early stopping) this fits the baselines and the chosen models
(``--models``, default all: DKT, SAKT, irt) under the locked protocol (bentu.audit.kt_eval), with
``--ensemble N`` also each model as the mean logit of N seeds (reported as such, beside its first
member alone). irt finds its exercise-concept map in the training answers, as in the pipeline.
``--oracle`` adds a reference ceiling (the irt model given the true concepts and difficulties),
``--heldout-versions`` the held-out-exercise comparison of graph_dkt vs DKT. It prints mean ± std
over versions beside Piech et al. (2015) Table 1 and writes JSON and a Markdown table;
``--merge`` joins the JSON of earlier runs that split the versions or the models.

    .venv/bin/python bench/learning.py --versions 0-19 --ensemble 3 --out runs/bench-learning
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from sklearn.metrics import adjusted_rand_score

from bentu.audit.kt_eval import SequenceDataset, predict_steps, question_metrics
from bentu.models.kt_baselines import BASELINES
from bentu.datasets.interactions import dkt_synthetic_path, load_dkt_synthetic, load_dkt_synthetic_concepts
from bentu.models import create_model
from bentu.models.ensemble import LogitEnsemble, member_seeds
from bentu.models.irt import answer_matrix, discover_concepts
from bentu.pipeline.learning import PAPER_AUC, heldout_comparison
from bentu.recipe import default_data_root, load_recipe
from bentu.train import Trainer

# label: (registry name, model parameters, Trainer settings) -- the learning-dkt-synthetic recipe's
MODELS = {
    "dkt": ("dkt", {"hidden": 100, "embed": 50, "dropout": 0.3},
            {"lr": 5e-4, "weight_decay": 1e-3, "batch_size": 64, "epochs": 80, "patience": 8}),
    "sakt (exercise keys)": ("sakt", {"d_model": 64, "heads": 4, "dropout": 0.3, "max_len": 50, "exercise_keys": True},
             {"lr": 2e-3, "batch_size": 64, "epochs": 40, "patience": 5}),
    "irt": ("irt", {}, {"lr": 2e-2, "batch_size": 64, "epochs": 100, "patience": 8}),
}


def _versions(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def run_version(root: Path, concepts: int, version: int, seed: int, heldout: bool, ensemble: int = 1,
                oracle: bool = False, models: list[str] | None = None) -> dict:
    data = load_dkt_synthetic(dkt_synthetic_path(root, concepts=concepts, version=version))
    rng = np.random.default_rng(seed)
    val_idx = np.sort(rng.choice(2000, 200, replace=False))
    train, val, test = data.subset(np.setdiff1d(np.arange(2000), val_idx)), data.subset(val_idx), data.subset(np.arange(2000, 4000))
    res: dict = {"version": version, "baselines": {}, "models": {}}
    for name, cls in BASELINES.items():
        p, y, _ = cls().fit(train).predict(test)
        res["baselines"][name] = question_metrics(y, p)
    test_ds = SequenceDataset(test, 50)
    info = root / "dkt_synthetic" / "info" / f"naive_c{concepts}_q50_s4000_v{version}_info.txt"
    if oracle:
        res["reference"] = {"oracle (true concepts and difficulties)": generator_oracle(train, val, test, info, seed)}
    chosen = MODELS if models is None else {k: MODELS[k] for k in models}  # None: all
    for label, (name, params, tcfg) in chosen.items():
        if name == "irt":  # the exercise-concept map is found in the training answers, as in the pipeline
            found = discover_concepts(answer_matrix(train.exercises, train.responses, 50), seed=seed)
            params = {**params, "concept_of": found.tolist()}
            res["concepts_found"] = {"concepts": int(found.max()) + 1,
                                     "adjusted_rand_vs_true": float(adjusted_rand_score(load_dkt_synthetic_concepts(info)[0], found))}
        members, best, t0 = [], [], time.perf_counter()
        for member_seed in member_seeds(seed, ensemble):
            torch.manual_seed(member_seed)
            model = create_model(name, n_exercises=50, **params)
            tr = Trainer(seed=member_seed, grad_clip=1.0, **tcfg).fit(model, SequenceDataset(train, 50), SequenceDataset(val, 50))
            members.append(model.eval())
            best.append(tr.best_epoch_)
        p1, y, _ = predict_steps(members[0], test_ds)
        res["models"][label] = {**question_metrics(y, p1), "best_epoch": best[0]}
        if ensemble > 1:
            p, y, _ = predict_steps(LogitEnsemble(members), test_ds)
            res["models"][f"{label} x{ensemble}"] = {**question_metrics(y, p), "best_epoch": best}
        res["models"][label]["seconds"] = time.perf_counter() - t0
    if heldout:
        concept_of, _ = load_dkt_synthetic_concepts(info)
        for d in (train, val, test):
            d.concept_of = concept_of
        recipe = load_recipe("learning-dkt-synthetic", [f"train.seed={seed}"])
        ctx = SimpleNamespace(recipe=recipe, progress=False)
        res["heldout"] = heldout_comparison(ctx, "dkt", MODELS["dkt"][1], train, val, test, 50)
    return res


def generator_oracle(train, val, test, info: Path, seed: int) -> dict:
    """A reference ceiling, not a bentu model: the irt model given the generator's answer key.

    It receives what no model sees: each exercise's true concept and true difficulty (the
    ``info`` file). Only the guessing floor, the ability scale and the learning gains are fitted
    (on the training students, early-stopped on the validation students), and each test answer
    is predicted from the exact posterior given that student's earlier answers.
    """
    concept_of, difficulty = load_dkt_synthetic_concepts(info)
    torch.manual_seed(seed)
    model = create_model("irt", n_exercises=len(concept_of), concept_of=concept_of.tolist())
    with torch.no_grad():
        model.difficulty.copy_(torch.as_tensor(difficulty, dtype=torch.float32))
    model.difficulty.requires_grad_(False)
    Trainer(seed=seed, grad_clip=1.0, **MODELS["irt"][2]).fit(model, SequenceDataset(train, 50), SequenceDataset(val, 50))
    p, y, _ = predict_steps(model.eval(), SequenceDataset(test, 50))
    with torch.no_grad():
        fitted = {"guess": float(torch.sigmoid(model.guess_logit)), "scale": float(model.log_scale.exp()[0]),
                  "gain_right": float(model.gain_right[0]), "gain_wrong": float(model.gain_wrong[0])}
    return {**question_metrics(y, p), **fitted}


def summarize(results: list[dict]) -> dict:
    def ms(vals):
        return {"mean": float(np.mean(vals)), "std": float(np.std(vals)), "n": len(vals)}

    out: dict = {"models": {}, "baselines": {}}
    for kind in ("models", "baselines", "reference"):
        for name in results[0].get(kind, {}):
            out.setdefault(kind, {})[name] = {m: ms([r[kind][name][m] for r in results]) for m in ("auc", "accuracy")}
    held = [r["heldout"] for r in results if "heldout" in r]
    if held:
        out["heldout"] = {lab: {part: ms([h["models"][lab][part]["auc"] for h in held]) for part in ("heldout", "seen")}
                          for lab in held[0]["models"]}
    return out


def markdown(summary: dict, versions: list[int], concepts: int) -> str:
    lines = [f"DKT synthetic, {concepts} concepts, versions {', '.join(map(str, versions))} ({len(versions)} runs); "
             "test AUC / accuracy, mean ± std over versions", "",
             "| model | AUC | accuracy | paper AUC (Piech et al. 2015, Table 1) |", "|---|---|---|---|"]
    paper = {"dkt": f"{PAPER_AUC['dkt_camera_ready']} / {PAPER_AUC['dkt_preprint']} (two versions of the text)",
             "marginal": str(PAPER_AUC["marginal"])}
    for kind in ("models", "baselines", "reference"):
        for name, m in summary.get(kind, {}).items():
            lines.append(f"| {name} | {m['auc']['mean']:.4f} ± {m['auc']['std']:.4f} | "
                         f"{m['accuracy']['mean']:.4f} ± {m['accuracy']['std']:.4f} | {paper.get(name, '-')} |")
    lines.append(f"| BKT (paper only) | - | - | {PAPER_AUC['bkt']} |")
    if "heldout" in summary:
        lines += ["", "Held-out exercises (removed from all training sequences), test AUC:", "",
                  "| model | held-out AUC | seen AUC |", "|---|---|---|"]
        for lab, m in summary["heldout"].items():
            lines.append(f"| {lab} | {m['heldout']['mean']:.4f} ± {m['heldout']['std']:.4f} (n={m['heldout']['n']}) | "
                         f"{m['seen']['mean']:.4f} ± {m['seen']['std']:.4f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--versions", default="0-19")
    ap.add_argument("--concepts", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ensemble", type=int, default=1, help="also score each model as a mean of this many seeds")
    ap.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, of: {', '.join(MODELS)}")
    ap.add_argument("--oracle", action="store_true",
                    help="also score the oracle (the irt model given the true concepts and difficulties)")
    ap.add_argument("--heldout-versions", default="", help="versions on which to run graph_dkt vs DKT on held-out exercises")
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=Path("runs/bench-learning"))
    ap.add_argument("--merge", type=Path, nargs="*", default=None,
                    help="summarise the partial JSON files of earlier (e.g. parallel) runs instead of running")
    args = ap.parse_args(argv)
    if args.merge:
        return _write(*merge_runs(args.merge), args)
    torch.set_num_threads(1)
    root = args.data or default_data_root()
    versions = _versions(args.versions)
    held = set(_versions(args.heldout_versions)) if args.heldout_versions else set()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        ap.error(f"--models: unknown {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for v in versions:
        r = run_version(root, args.concepts, v, args.seed, v in held, args.ensemble, args.oracle, models=models)
        results.append(r)
        print(f"v{v}: " + ", ".join(f"{k} {m['auc']:.4f}" for k, m in {**r["models"], **r["baselines"],
                                                                     **r.get("reference", {})}.items())
              + (f", heldout graph {r['heldout']['models']['graph']['heldout']['auc']:.4f} vs dkt "
                 f"{r['heldout']['models']['without_graph']['heldout']['auc']:.4f}" if "heldout" in r else ""), flush=True)
        (args.out / f"learning_c{args.concepts}.partial.json").write_text(json.dumps(results, indent=1))
    return _write(results, versions, args)


def merge_runs(files: list[Path]) -> tuple[list[dict], list[int]]:
    """Per-version results of several runs (JSON lists, or written summaries) joined version by version.

    Runs may split the versions (e.g. two halves side by side) or the models (e.g. one model
    added later); a model, baseline or reference measured in two runs keeps the later file's.
    """
    by_version: dict[int, dict] = {}
    for f in files:
        doc = json.loads(f.read_text())
        for r in doc["runs"] if isinstance(doc, dict) else doc:
            into = by_version.setdefault(r["version"], {"version": r["version"]})
            for key, value in r.items():
                if isinstance(value, dict) and key in ("models", "baselines", "reference"):
                    into.setdefault(key, {}).update(value)
                elif key != "version":
                    into[key] = value
    versions = sorted(by_version)
    return [by_version[v] for v in versions], versions


def _write(results: list[dict], versions: list[int], args) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    summary = summarize(results)
    md = markdown(summary, versions, args.concepts)
    (args.out / f"learning_c{args.concepts}.json").write_text(json.dumps({"summary": summary, "runs": results}, indent=1))
    (args.out / f"learning_c{args.concepts}.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
