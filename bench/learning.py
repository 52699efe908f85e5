"""Benchmark: knowledge tracing on the DKT paper's synthetic students, beside the paper's numbers.

For each version ``v`` of ``naive_c{C}_q50_s4000_v{v}.csv.gz`` (rows 0-1999 train, 2000-3999
test; 10% of the training rows for early stopping) this fits the baselines, DKT and SAKT under
the locked protocol (bentu.audit.kt_eval), with ``--ensemble N`` also each model as the mean
logit of N seeds (reported as such, beside its first member alone), and optionally the held-out-exercise comparison of graph_dkt vs DKT. It prints mean ± std over
versions beside Piech et al. (2015) Table 1 and writes JSON and a Markdown table.

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

from bentu.audit.kt_eval import BASELINES, SequenceDataset, predict_steps, question_metrics
from bentu.datasets.interactions import dkt_synthetic_path, load_dkt_synthetic, load_dkt_synthetic_concepts
from bentu.models import create_model
from bentu.models.ensemble import LogitEnsemble, member_seeds
from bentu.pipeline.learning import PAPER_AUC, heldout_comparison
from bentu.recipe import default_data_root, load_recipe
from bentu.train import Trainer

# label: (registry name, model parameters, Trainer settings) -- the learning-dkt-synthetic recipe's
MODELS = {
    "dkt": ("dkt", {"hidden": 100, "embed": 50, "dropout": 0.3},
            {"lr": 5e-4, "weight_decay": 1e-3, "batch_size": 64, "epochs": 80, "patience": 8}),
    "sakt (exercise keys)": ("sakt", {"d_model": 64, "heads": 4, "dropout": 0.3, "max_len": 50, "exercise_keys": True},
             {"lr": 2e-3, "batch_size": 64, "epochs": 40, "patience": 5}),
}


def _versions(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def run_version(root: Path, concepts: int, version: int, seed: int, heldout: bool, ensemble: int = 1,
                oracle: bool = False, models: bool = True) -> dict:
    data = load_dkt_synthetic(dkt_synthetic_path(root, concepts=concepts, version=version))
    rng = np.random.default_rng(seed)
    val_idx = np.sort(rng.choice(2000, 200, replace=False))
    train, val, test = data.subset(np.setdiff1d(np.arange(2000), val_idx)), data.subset(val_idx), data.subset(np.arange(2000, 4000))
    res: dict = {"version": version, "baselines": {}, "models": {}}
    for name, cls in BASELINES.items():
        p, y, _ = cls().fit(train).predict(test)
        res["baselines"][name] = question_metrics(y, p)
    test_ds = SequenceDataset(test, 50)
    if oracle:  # answers are in column order, so the matrix rows are the sequences
        info = root / "dkt_synthetic" / "info" / f"naive_c{concepts}_q50_s4000_v{version}_info.txt"
        mat = np.array([r for r in data.responses])
        p = concept_oracle(mat[:2000], mat[2000:], load_dkt_synthetic_concepts(info)[0])
        res["reference"] = {"concept oracle (true concepts)": question_metrics(mat[2000:].ravel(), p.ravel())}
    for label, (name, params, tcfg) in (MODELS.items() if models else ()):
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
        info = root / "dkt_synthetic" / "info" / f"naive_c{concepts}_q50_s4000_v{version}_info.txt"
        concept_of, _ = load_dkt_synthetic_concepts(info)
        for d in (train, val, test):
            d.concept_of = concept_of
        recipe = load_recipe("learning-dkt-synthetic", [f"train.seed={seed}"])
        ctx = SimpleNamespace(recipe=recipe, progress=False)
        res["heldout"] = heldout_comparison(ctx, "dkt", MODELS["dkt"][1], train, val, test, 50)
    return res


def concept_oracle(train: np.ndarray, test: np.ndarray, concept_of: np.ndarray, guess: float = 0.25,
                   iters: int = 300) -> np.ndarray:
    """A reference ceiling, not a bentu model: exact Bayesian tracing given each exercise's TRUE concept.

    The generator's form (Piech et al. 2015 §5): P(correct) = guess + (1 - guess) * sigmoid(a_j * theta - b_j)
    with one ability theta ~ N(0, 1) per (student, concept). Exercise parameters a_j, b_j are fitted by
    marginal likelihood on the training students (quadrature over theta, concepts independent); each
    test answer is then predicted from the exact posterior given that student's earlier answers on the
    same concept. Learning during the sequence is folded into b_j (every student sees the same order).
    ``train`` and ``test`` are students x exercises 0/1 matrices; returns test probabilities.
    """
    grid = torch.linspace(-5, 5, 81)
    prior = torch.log_softmax(-0.5 * grid ** 2, 0)
    n, k = train.shape[1], int(concept_of.max()) + 1
    b, log_a = torch.zeros(n, requires_grad=True), torch.zeros(n, requires_grad=True)
    opt = torch.optim.Adam([b, log_a], lr=0.05)
    x = torch.tensor(train, dtype=torch.float32)

    def table() -> torch.Tensor:  # (exercise, grid) P(correct)
        return (guess + (1 - guess) * torch.sigmoid(log_a.exp()[:, None] * grid - b[:, None])).clamp(1e-6, 1 - 1e-6)

    masks = [torch.tensor(concept_of == c) for c in range(k)]
    for _ in range(iters):
        opt.zero_grad()
        p = table()
        ll = x[:, :, None] * p.log() + (1 - x[:, :, None]) * (1 - p).log()  # (students, exercises, grid)
        nll = -sum(torch.logsumexp(ll[:, m].sum(1) + prior, -1).sum() for m in masks) / len(x)
        nll.backward()
        opt.step()
    with torch.no_grad():
        p, t = table(), torch.tensor(test, dtype=torch.float32)
        post = prior.repeat(len(t), k, 1)  # (students, concepts, grid) log posterior
        out = torch.zeros_like(t)
        for j in range(n):
            c = int(concept_of[j])
            out[:, j] = torch.softmax(post[:, c], -1) @ p[j]
            post[:, c] += t[:, j:j + 1] * p[j].log() + (1 - t[:, j:j + 1]) * (1 - p[j]).log()
    return out.numpy()


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
    ap.add_argument("--oracle", action="store_true", help="also score the concept oracle (uses the true concepts)")
    ap.add_argument("--only-oracle", action="store_true", help="score only the baselines and the concept oracle")
    ap.add_argument("--heldout-versions", default="", help="versions on which to run graph_dkt vs DKT on held-out exercises")
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=Path("runs/bench-learning"))
    ap.add_argument("--merge", type=Path, nargs="*", default=None,
                    help="summarise the partial JSON files of earlier (e.g. parallel) runs instead of running")
    args = ap.parse_args(argv)
    if args.merge:
        results = sorted((r for f in args.merge for r in json.loads(f.read_text())), key=lambda r: r["version"])
        return _write(results, [r["version"] for r in results], args)
    torch.set_num_threads(1)
    root = args.data or default_data_root()
    versions = _versions(args.versions)
    held = set(_versions(args.heldout_versions)) if args.heldout_versions else set()
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for v in versions:
        r = run_version(root, args.concepts, v, args.seed, v in held, args.ensemble, args.oracle or args.only_oracle,
                        models=not args.only_oracle)
        results.append(r)
        print(f"v{v}: " + ", ".join(f"{k} {m['auc']:.4f}" for k, m in {**r["models"], **r["baselines"],
                                                                     **r.get("reference", {})}.items())
              + (f", heldout graph {r['heldout']['models']['graph']['heldout']['auc']:.4f} vs dkt "
                 f"{r['heldout']['models']['without_graph']['heldout']['auc']:.4f}" if "heldout" in r else ""), flush=True)
        (args.out / f"learning_c{args.concepts}.partial.json").write_text(json.dumps(results, indent=1))
    return _write(results, versions, args)


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
