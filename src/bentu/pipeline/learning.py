"""The learning application: knowledge tracing, mastery and exercise recommendation.

``run(ctx)`` loads an interaction log (the project's student simulator, the DKT paper's
synthetic students, an ASSISTments 2009 skill-builder CSV or a pyKT processed file), splits it
by student, fits baselines and sequence models under the locked protocol
(:mod:`bentu.audit.kt_eval`), exports the main model to ONNX, estimates per-student mastery,
evaluates recommendations on simulated students, and compares a graph model with the main model
on exercises nobody answered in training. See docs/learning.md.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bentu.audit.kt_eval import SequenceDataset, metrics_by_group, predict_steps, question_metrics, student_split
from bentu.datasets.interactions import (
    Interactions, dkt_synthetic_path, load_assistments2009, load_dkt_synthetic, load_dkt_synthetic_concepts, load_pykt,
)
from bentu.datasets.student_sim import StudentSimulator
from bentu.errors import ConfigError, DataError, RecipeError
from bentu.inference.export import export_onnx
from bentu.inference.recommend import concept_mastery, evaluate_recommendation, predict_next
from bentu.models import create_model, get_entry
from bentu.models.ensemble import LogitEnsemble, member_seeds
from bentu.models.irt import answer_matrix, discover_concepts
from bentu.models.kt_baselines import BASELINES
from bentu.pipeline._app import Application
from bentu.report import plots
from bentu.rundir.weights import save_model_weights
from bentu.train import Trainer

__all__ = ["run", "LearningApp", "load_learning_data", "train_sequence_model", "heldout_comparison", "PAPER_AUC"]

log = logging.getLogger(__name__)

#: DKT paper Table 1, Simulated-5 (two versions of the text differ; see REFERENCE_RESULTS.md §2).
PAPER_AUC = {"marginal": 0.64, "bkt": 0.54, "dkt_camera_ready": 0.75, "dkt_preprint": 0.82}


# -- data -------------------------------------------------------------------------------------


def _simulator(cfg, concept_of=None, difficulty=None) -> StudentSimulator:
    groups = {k: tuple(v) for k, v in cfg.groups.items()}
    return StudentSimulator(
        n_exercises=cfg.exercises if concept_of is None else len(concept_of), n_concepts=cfg.concepts,
        learn_rate=cfg.learn_rate, groups=groups, seed=cfg.sim_seed, concept_of=concept_of, difficulty=difficulty,
    )


def load_learning_data(ctx) -> tuple[Interactions, StudentSimulator | None, Path | None]:
    """The recipe's interaction log, its simulator (when one defines the data) and the file read."""
    cfg = ctx.recipe.learning
    if cfg.source == "simulator":
        sim = _simulator(cfg)
        return sim.simulate(cfg.students, cfg.length, order="random", seed=cfg.sim_seed), sim, None
    if cfg.source == "dkt_synthetic":
        if cfg.concepts not in (2, 5):
            raise RecipeError(
                f"learning.concepts must be 2 or 5 for source dkt_synthetic (the paper's files). Got {cfg.concepts}.",
                f"当 source 为 dkt_synthetic 时，learning.concepts 必须是 2 或 5（论文提供的文件），实际为 {cfg.concepts}。",
            )
        path = ctx.data_path
        if path is None:
            if ctx.data_root is None:
                raise DataError(
                    "No data folder: the DKT synthetic files are expected under <data>/dkt_synthetic/. Pass --data PATH "
                    "or set BENTU_DATA (the files come from github.com/chrispiech/DeepKnowledgeTracing, data/synthetic/).",
                    "未找到数据目录：DKT 合成数据应位于 <data>/dkt_synthetic/。请用 --data PATH 或设置 BENTU_DATA"
                    "（文件来自 github.com/chrispiech/DeepKnowledgeTracing 的 data/synthetic/）。",
                )
            path = dkt_synthetic_path(ctx.data_root, concepts=cfg.concepts, version=cfg.version)
        data = load_dkt_synthetic(path)
        info = Path(path).parent / "info" / Path(path).name.replace(".csv.gz", "_info.txt").replace(".csv", "_info.txt")
        sim = None
        if info.exists():
            concept_of, difficulty = load_dkt_synthetic_concepts(info)
            if len(concept_of) == data.n_exercises:
                data.concept_of = concept_of
                sim = StudentSimulator(n_concepts=int(concept_of.max()) + 1, learn_rate=cfg.learn_rate,
                                       groups={"all": (1.0, 0.0, 1.0)}, seed=cfg.sim_seed,
                                       concept_of=concept_of, difficulty=difficulty)
        return data, sim, Path(path)
    if ctx.data_path is None:
        raise DataError(
            f"learning.source={cfg.source} reads a file the user brings: pass it with --data PATH.",
            f"learning.source={cfg.source} 需要用户提供的数据文件：请用 --data PATH 指定。",
        )
    loader = load_assistments2009 if cfg.source == "assistments2009" else load_pykt
    return loader(ctx.data_path), None, Path(ctx.data_path)


def _split(ctx, data: Interactions) -> dict[str, np.ndarray]:
    split = ctx.recipe.data.split
    seed = ctx.recipe.train.seed
    if ctx.recipe.learning.source == "dkt_synthetic":
        # the paper's split: rows 0-1999 train, 2000-3999 test; validation from the training rows only
        half = len(data) // 2
        rng = np.random.default_rng(seed)
        val = np.sort(rng.choice(half, max(1, int(round(split.val * half))), replace=False))
        return {"train": np.setdiff1d(np.arange(half), val), "val": val, "test": np.arange(half, len(data))}
    return student_split(len(data), test=split.test, val=split.val, seed=seed)


def _profile(data: Interactions, idx: dict[str, np.ndarray]) -> dict:
    r = np.concatenate(data.responses) if len(data) else np.zeros(0)
    lengths = np.array([len(e) for e in data.exercises])
    prof = {
        "source": data.source, "students": len(data), "exercises": data.n_exercises, "answers": data.n_answers,
        "correct_rate": float(r.mean()) if len(r) else None,
        "answers_per_student": {"min": int(lengths.min()), "median": float(np.median(lengths)), "max": int(lengths.max())},
        "concepts": None if data.concept_of is None else int(data.concept_of.max()) + 1,
        "split": {k: {"students": int(len(v)), "answers": int(lengths[v].sum())} for k, v in idx.items()},
        "split_rule": "student-level; validation students come from the training students only",
    }
    if data.groups is not None:
        g = np.array(data.groups)
        prof["groups"] = {name: {"students": int((g == name).sum()),
                                 "correct_rate": float(np.concatenate([data.responses[i] for i in np.flatnonzero(g == name)]).mean())}
                          for name in sorted(set(data.groups))}
    else:
        prof["groups"] = {}
    return prof


# -- models -----------------------------------------------------------------------------------


def _trainer(ctx, description: str, seed: int | None = None, overrides: dict | None = None) -> Trainer:
    t = ctx.recipe.train.model_copy(update=overrides or {})
    return Trainer(optimizer=t.optimizer, lr=t.lr, weight_decay=t.weight_decay, epochs=t.epochs,
                   batch_size=t.batch_size, patience=t.patience, seed=t.seed if seed is None else seed, grad_clip=1.0,
                   ema_decay=t.ema_decay, mixup=t.mixup, channels_last=t.channels_last, device=t.device,
                   progress=bool(getattr(ctx, "progress", False)), description=description)


@dataclass
class Fitted:
    """What training one (possibly ensembled) sequence model gives back."""

    model: nn.Module  # a single model, or a LogitEnsemble of ``len(seeds)`` members
    params: dict  # registry parameters of each member
    seeds: list[int]
    best_epochs: list[int]
    train_seconds: float
    train_overrides: dict  # learning.challenger_train settings used instead of the train section's


def train_sequence_model(ctx, name: str, params: dict, train: Interactions, val: Interactions, max_len: int,
                         ensemble: int = 1) -> Fitted:
    """Create registry model ``name`` for this data and fit it with the recipe's Trainer settings.

    With ``ensemble`` > 1, that many members are trained from seeds ``train.seed``,
    ``train.seed + 1000``, ... (each early-stopped on ``val`` on its own) and their logits averaged.
    """
    params = {**params, "n_exercises": train.n_exercises}
    if get_entry(name).family == "graph":
        params.setdefault("concept_of", _concepts_or_identity(train).tolist())
    if name == "sakt":
        params.setdefault("max_len", max_len)
    if name == "irt" and not params.get("concept_of"):  # found in the training answers, never read from labels
        params["concept_of"] = discover_concepts(answer_matrix(train.exercises, train.responses, train.n_exercises),
                                                 seed=ctx.recipe.train.seed).tolist()
    members, best, seconds = [], [], 0.0
    seeds = member_seeds(ctx.recipe.train.seed, ensemble)
    cfg = ctx.recipe.learning
    own = cfg.challenger_train.get(name) if cfg is not None and name != ctx.recipe.model.name else None
    overrides = own.model_dump(exclude_none=True) if own is not None else {}
    for seed in seeds:
        torch.manual_seed(seed)
        model = create_model(name, **params)
        label = name if ensemble == 1 else f"{name} {len(members) + 1}/{ensemble}"
        trainer = _trainer(ctx, label, seed, overrides).fit(model, _dataset(train, max_len), _dataset(val, max_len))
        members.append(model.eval())
        best.append(trainer.best_epoch_)
        seconds += trainer.train_seconds_
    model = members[0] if ensemble == 1 else LogitEnsemble(members).eval()
    return Fitted(model, params, seeds, best, seconds, overrides)


def _dataset(data: Interactions, max_len: int, **kw) -> SequenceDataset:
    """``SequenceDataset`` windowed at ``max_len`` but padded only to the longest sequence.

    When every sequence fits in one window (e.g. 50 answers with ``max_len`` 200), padding to
    ``max_len`` would only add masked steps: the windows, and every real step's prediction, are
    the same, but the LSTM and attention would run over 4x (16x) as many steps.
    """
    longest = max((len(e) for e in data.exercises), default=1)
    return SequenceDataset(data, max(1, min(int(max_len), longest)), **kw)


def _concepts_or_identity(data: Interactions) -> np.ndarray:
    return data.concept_of if data.concept_of is not None else np.arange(data.n_exercises)


def _drop_exercises(data: Interactions, drop: np.ndarray) -> Interactions:
    keep = [~np.isin(e, drop) for e in data.exercises]
    out = data.subset(range(len(data)))
    out.exercises = [e[k] for e, k in zip(data.exercises, keep)]
    out.responses = [r[k] for r, k in zip(data.responses, keep)]
    nonempty = [i for i, e in enumerate(out.exercises) if len(e)]
    return out.subset(nonempty)


def heldout_comparison(ctx, main_name: str, main_params: dict, train, val, test, max_len: int) -> dict:
    """Graph model vs the main model on exercises that no training student answered.

    ``heldout_exercises`` exercises (never a concept's last one) are removed from every training
    and validation sequence; both models are trained on the rest and scored on the held-out
    exercises' answers of the test students (their full sequences are the input).
    """
    cfg = ctx.recipe.learning
    concept_of = _concepts_or_identity(train)
    rng = np.random.default_rng(ctx.recipe.train.seed)
    held: list[int] = []
    for e in rng.permutation(train.n_exercises):
        same = np.flatnonzero(concept_of == concept_of[e])
        if len(held) < cfg.heldout_exercises and len(np.setdiff1d(same, held + [e])) >= 1:
            held.append(int(e))
    held_arr = np.array(sorted(held))
    tr, va = _drop_exercises(train, held_arr), _drop_exercises(val, held_arr)
    mask = np.isin(np.arange(train.n_exercises), held_arr)
    test_held = _dataset(test, max_len, loss_mask=mask)
    test_seen = _dataset(test, max_len, loss_mask=~mask)
    out = {"heldout_exercises": held_arr.tolist(), "train_answers": tr.n_answers, "models": {}}
    for label, name, params in (("without_graph", main_name, main_params),
                                ("graph", "graph_dkt", dict(cfg.graph_params))):
        fit = train_sequence_model(ctx, name, params, tr, va, max_len)  # single models: a like-for-like pair
        p, y, _ = predict_steps(fit.model, test_held)
        ps, ys, _ = predict_steps(fit.model, test_seen)
        out["models"][label] = {"model": name, "heldout": question_metrics(y, p), "seen": question_metrics(ys, ps),
                                "best_epoch": fit.best_epochs[0]}
    return out


# -- run ----------------------------------------------------------------------------------------


class LearningApp(Application):
    """The learning application's stages (see :mod:`bentu.pipeline._app` for the order)."""

    families = ("sequence", "graph")
    names = ("learning", "学习分析")
    family_names = ("knowledge-tracing", "知识追踪")
    example_model = "dkt"

    def __init__(self, ctx):
        torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
        super().__init__(ctx)
        recipe = ctx.recipe
        if recipe.learning is None:
            from bentu.recipe import LearningCfg

            recipe.learning = LearningCfg()
        self.cfg = recipe.learning
        if recipe.train.mixup:
            raise ConfigError(
                "train.mixup does not apply to knowledge-tracing models (their batches are masked answer "
                "sequences). Set train.mixup to 0.",
                "train.mixup 不适用于知识追踪模型（其批次是带掩码的作答序列）。请将 train.mixup 设为 0。",
            )
        self.t0 = time.perf_counter()

    def load(self) -> None:
        cfg = self.cfg
        self.data, self.sim, path = load_learning_data(self.ctx)
        self.record("load_data", params={"source": cfg.source, "concepts": cfg.concepts, "version": cfg.version},
                    inputs={"data": path} if path is not None else {})

    def privacy(self) -> None:
        self.privacy_report = _privacy(self.ctx, self.data)  # before any subset is taken: every copy carries pseudonyms

    def split(self) -> None:
        self.idx = _split(self.ctx, self.data)
        self.train_set, self.val_set, self.test_set = (self.data.subset(self.idx[k]) for k in ("train", "val", "test"))
        self.test_ds = _dataset(self.test_set, self.cfg.max_len)

    def profile(self) -> None:
        ctx = self.ctx
        self.profile_doc = _profile(self.data, self.idx)
        ctx.write_json("data_profile.json", self.profile_doc)
        self.record("prepare_data", params={"split": {k: len(v) for k, v in self.idx.items()}},
                    outputs={"data_profile": ctx.dir / "data_profile.json"})

    def train(self) -> None:
        ctx, recipe, cfg = self.ctx, self.recipe, self.cfg
        train, val, test, test_ds, max_len = self.train_set, self.val_set, self.test_set, self.test_ds, cfg.max_len
        self.baselines = {}  # fit on training students only
        for name in cfg.baselines:
            p, y, _ = BASELINES[name]().fit(train).predict(test)
            self.baselines[name] = {"test": question_metrics(y, p)}
        self.record("baselines", params={"baselines": list(cfg.baselines)})

        models: dict[str, dict] = {}  # main model and challengers
        trained = {}
        names = [recipe.model.name] + [c for c in cfg.challengers if c != recipe.model.name]
        for name in names:
            params = recipe.model.params() if name == recipe.model.name else dict(cfg.challenger_params.get(name, {}))
            fit = train_sequence_model(ctx, name, params, train, val, max_len, ensemble=cfg.ensemble)
            p, y, owner = predict_steps(fit.model, test_ds)
            pv, yv, _ = predict_steps(fit.model, _dataset(val, max_len))
            models[name] = {"params": {k: v for k, v in fit.params.items() if k != "concept_of"},
                            "test": question_metrics(y, p), "val": question_metrics(yv, pv),
                            "ensemble": cfg.ensemble, "seeds": fit.seeds, "train_overrides": fit.train_overrides,
                            "best_epoch": fit.best_epochs[0] if cfg.ensemble == 1 else fit.best_epochs,
                            "train_seconds": fit.train_seconds, "by_group": metrics_by_group(y, p, owner, test.groups)}
            if name == "irt":  # how many concepts its exercise-concept map has, and where the map came from
                models[name]["concepts"] = {"n": int(max(fit.params["concept_of"])) + 1,
                                            "source": "given" if params.get("concept_of") else "training answers"}
            if cfg.ensemble > 1:  # the first member alone, so the gain of the ensemble is visible
                p1, y1, _ = predict_steps(fit.model.members[0], test_ds)
                models[name]["single_test"] = question_metrics(y1, p1)
            trained[name] = (fit.model, fit.params, p)
            self.record("train", params={"model": name, **models[name]["params"], "epochs": recipe.train.epochs,
                                         "lr": fit.train_overrides.get("lr", recipe.train.lr), "ensemble": cfg.ensemble,
                                         "seeds": fit.seeds, "train_overrides": fit.train_overrides,
                                         "best_epoch": fit.best_epochs})
        self.models = models
        self.model, self.main_params, _ = trained[recipe.model.name]

    def evaluate(self) -> None:
        ctx, recipe, cfg, models, data = self.ctx, self.recipe, self.cfg, self.models, self.data
        main = recipe.model.name
        # "best" is chosen on the validation students; the test split only reports it
        best = max(models, key=lambda n: models[n]["val"]["auc"] if models[n]["val"]["auc"] == models[n]["val"]["auc"] else -1)

        rec: dict = {"evaluated": False}  # recommendation on simulated students
        if cfg.recommend and self.sim is not None and self.sim.n_exercises == data.n_exercises:
            rec = {"evaluated": True, **evaluate_recommendation(self.sim, self.model, n_students=cfg.rec_students,
                                                                steps=cfg.rec_steps, seeds=cfg.rec_seeds, band=tuple(cfg.band))}
            self.record("recommendation", params={k: rec[k] for k in ("steps", "students_per_seed", "seeds", "band")})
        elif cfg.recommend:
            rec["reason"] = "no simulator defines this data's exercise bank (concepts and difficulties unknown)"

        graph: dict = {"evaluated": False}  # graph model on held-out exercises
        if cfg.graph and data.concept_of is not None:
            graph = {"evaluated": True, **heldout_comparison(ctx, main, recipe.model.params(), self.train_set,
                                                             self.val_set, self.test_set, cfg.max_len)}
            self.record("graph_heldout", params={"heldout": graph["heldout_exercises"]})
        elif cfg.graph:
            graph["reason"] = "the exercise-concept map is unknown for this data"

        self.metrics = metrics = {
            "test": {k: models[main]["test"][k] for k in ("auc", "accuracy", "n")},
            "val": {k: models[main]["val"][k] for k in ("auc", "accuracy", "n")},
            "model": main, "best_model": best, "models": models, "baselines": self.baselines,
            "by_group": models[main]["by_group"], "recommendation": rec, "graph": graph,
            "protocol": "student-level split; r_t predicted from (e_<t, r_<t, e_t); question-level pooled AUC",
            "paper": PAPER_AUC if cfg.source == "dkt_synthetic" and cfg.concepts == 5 else {},
        }
        ctx.evidence["metrics"] = {"test_auc": metrics["test"]["auc"], "test_accuracy": metrics["test"]["accuracy"],
                                   "best_model": best, "best_test_auc": models[best]["test"]["auc"],
                                   "by_group": {g: v["auc"] for g, v in metrics["by_group"].items()}}
        ctx.evidence["profile"] = self.profile_doc
        ctx.evidence["privacy"] = self.privacy_report
        ctx.evidence["learning"] = metrics

    def export(self) -> None:
        ctx, cfg, data, test_ds, max_len = self.ctx, self.cfg, self.data, self.test_ds, self.cfg.max_len
        main = self.recipe.model.name
        mdir = ctx.dir / "model"
        mdir.mkdir(parents=True, exist_ok=True)
        p_weights, p_spec = save_model_weights(ctx.dir, self.model.state_dict(), name=main, params=self.main_params,
                                               ensemble=cfg.ensemble)
        entry = get_entry(main)
        example = (test_ds.exercises[:4, :max_len], test_ds.responses[:4, :max_len], test_ds.exercises[:4, :max_len])
        parity = export_onnx(self.model, example, mdir / "model.onnx", input_names=entry.input_names,
                             dynamic_dims={n: {1: "time"} for n in entry.input_names})
        self.concept_of = concept_of = _concepts_or_identity(data)
        self.concept_names = [f"C{k}" for k in range(int(concept_of.max()) + 1)]
        preprocess = {"kind": "sequence", "model": main, "n_exercises": data.n_exercises, "max_len": max_len,
                      "input_names": list(entry.input_names), "output": "logit: P(correct at t | steps < t, exercise at t)",
                      "exercise_names": data.exercise_names, "concept_of": concept_of.tolist(), "concepts": self.concept_names,
                      "unknown_exercise": "error (recommend(..., unknown='skip') drops it from the history)",
                      "band": list(cfg.band), "dtype": "int64"}
        ctx.write_json("model/preprocess.json", preprocess)
        self.record("export", params={"model": main, "parity": parity},
                    outputs={"model_weights": p_weights, "model_spec": p_spec, "model_onnx": mdir / "model.onnx",
                             "preprocess": mdir / "preprocess.json"})
        self.metrics["onnx_parity"] = parity
        self.metrics["seconds"] = time.perf_counter() - self.t0

    def explain(self) -> None:
        # mastery of test students (final state), with truth when the simulator defines the data
        ctx = self.ctx
        n_show = min(self.cfg.mastery_students, len(self.test_set))
        self.mastery_doc = _mastery(self.model, self.test_set, self.concept_of, self.concept_names, n_show)
        ctx.write_json("explanations/mastery.json", self.mastery_doc)
        self.record("mastery", params={"students": n_show}, outputs={"mastery": ctx.dir / "explanations" / "mastery.json"})

    def fairness(self) -> None:
        if self.recipe.audit.fairness and self.metrics["by_group"]:
            _fairness(self.ctx, self.metrics["by_group"])

    def report(self) -> None:
        _report(self.ctx, self.profile_doc, self.metrics, self.mastery_doc)


def run(ctx) -> None:
    """Run a recipe with ``application: learning`` into ``ctx.dir`` (see the module docstring)."""
    LearningApp(ctx).run()


def _privacy(ctx, data: Interactions) -> dict:
    """De-identify student ids like any other run (keyed pseudonyms); write privacy.json."""
    import pandas as pd

    from bentu.privacy.gate import run_privacy_gate

    pc = ctx.recipe.privacy
    table = {"student_id": data.students, "answers": [len(e) for e in data.exercises]}
    if data.groups is not None:
        table["group"] = data.groups
    out, report = run_privacy_gate(
        pd.DataFrame(table), pii=pc.pii, policy=pc.policy, key_env=pc.key_env, key_file=pc.key_file,
        k_anonymity=pc.k_anonymity, quasi_identifiers=pc.quasi_identifiers, features=[], target="answers",
        protected=["group"] if data.groups is not None else [], lang=ctx.lang,
    )
    if pc.pii == "auto":
        data.students = [str(v) for v in out["student_id"]]
    report["scope"] = "one row per student: id, number of answers, group; answers themselves are 0/1 and exercise ids"
    ctx.write_json("privacy.json", report)
    ctx.audit.append("privacy_gate", params={"pii": pc.pii}, outputs={"privacy": ctx.dir / "privacy.json"})
    return report


def _fairness(ctx, by_group: dict) -> None:
    """AUC parity across student groups (flag when min/max AUC < 0.8); write fairness.json."""
    aucs = {g: v["auc"] for g, v in by_group.items() if v["auc"] == v["auc"]}
    ratio = min(aucs.values()) / max(aucs.values()) if len(aucs) > 1 else 1.0
    doc = {"metric": "question-level AUC and accuracy per student group (test students)",
           "attributes": {"group": {"by_group": by_group, "auc_ratio": ratio, "four_fifths_flag": bool(ratio < 0.8),
                                    "accuracy_gap": max(v["accuracy"] for v in by_group.values())
                                    - min(v["accuracy"] for v in by_group.values())}},
           "mitigation": None}
    ctx.write_json("fairness.json", doc)
    ctx.evidence["fairness"] = doc
    ctx.audit.append("fairness", params={"auc_ratio": ratio}, outputs={"fairness": ctx.dir / "fairness.json"})


def _mastery(model, test: Interactions, concept_of: np.ndarray, concept_names: list[str], n_show: int) -> dict:
    n_c = len(concept_names)
    students = []
    for i in range(n_show):
        ex, r = test.exercises[i], test.responses[i]
        p = predict_next(model, ex[None, :], r[None, :], np.arange(test.n_exercises))
        p0 = predict_next(model, ex[None, :0], r[None, :0], np.arange(test.n_exercises))
        row = {"student": i, "answers": int(len(ex)), "correct_rate": float(r.mean()),
               "mastery_start": concept_mastery(p0, concept_of, n_c)[0].round(4).tolist(),
               "mastery": concept_mastery(p, concept_of, n_c)[0].round(4).tolist()}
        if test.groups is not None:
            row["group"] = test.groups[i]
        students.append(row)
    return {"definition": "mean predicted success over the concept's exercises after the student's history",
            "concepts": concept_names, "students": students,
            "note": "students are numbered by their position among the test students; no identifier is stored"}


def _report(ctx, profile: dict, metrics: dict, mastery_doc: dict) -> None:
    tr = ctx.tr
    sec = ctx.report.section("learning_data", tr("Interaction data", "作答数据"))
    sec.kv({tr("source", "来源"): profile["source"], tr("students", "学生数"): profile["students"],
            tr("exercises", "练习数"): profile["exercises"], tr("answers", "作答数"): profile["answers"],
            tr("correct rate", "正确率"): round(profile["correct_rate"] or 0, 4)})
    sec.table([tr("split", "划分"), tr("students", "学生数"), tr("answers", "作答数")],
              [[k, v["students"], v["answers"]] for k, v in profile["split"].items()])

    sec = ctx.report.section("learning_models", tr("Models vs baselines vs the paper", "模型、基线与论文结果"))
    sec.paragraph(tr("Locked protocol: student-level split; each answer is predicted from the answers before it and the "
                     "exercise asked; AUC and accuracy pooled over all test answers.",
                     "锁定的评估协议：按学生划分；每个作答只用其之前的作答和当前题目来预测；AUC 与准确率在全部测试作答上汇总计算。"))
    n_ens = max((m.get("ensemble", 1) for m in metrics["models"].values()), default=1)
    if n_ens > 1:
        sec.paragraph(tr(f"Each model is the mean logit of {n_ens} copies trained from different seeds; "
                         "'first member' is one of them alone. The best model is chosen on validation AUC.",
                         f"每个模型是 {n_ens} 个不同随机种子训练副本的平均 logit；“首个成员”为其中单个模型。"
                         "最佳模型按验证集 AUC 选出。"))
    found = metrics["models"].get("irt", {}).get("concepts", {})
    if found.get("source") == "training answers":
        sec.paragraph(tr(f"irt (Bayesian IRT tracing) found {found['n']} concepts in the training students' answers "
                         "(items of one concept correlate); no concept label from the data was shown to it.",
                         f"irt（贝叶斯 IRT 追踪）从训练学生的作答中找出 {found['n']} 个知识点（同一知识点的题目彼此相关）；"
                         "未向其提供数据中的任何知识点标签。"))
    single = tr("first member AUC", "首个成员 AUC")
    rows = [[n + (" *" if n == metrics["best_model"] else ""), round(m["test"]["auc"], 4), round(m["test"]["accuracy"], 4),
             round(m["val"]["auc"], 4)] + ([round(m["single_test"]["auc"], 4) if "single_test" in m else "-"] if n_ens > 1 else [])
            for n, m in metrics["models"].items()]
    pad = ["-"] if n_ens > 1 else []
    rows += [[f"{tr('baseline', '基线')}: {n}", round(b["test"]["auc"], 4), round(b["test"]["accuracy"], 4), "-"] + pad
             for n, b in metrics["baselines"].items()]
    if metrics["paper"]:
        rows += [[f"{tr('paper', '论文')}: {k}", v, "-", "-"] + pad for k, v in metrics["paper"].items()]
    sec.table([tr("model (* best on val)", "模型（* 验证集最佳）"), tr("test AUC", "测试 AUC"), tr("test accuracy", "测试准确率"),
               tr("val AUC", "验证 AUC")] + ([single] if n_ens > 1 else []), rows,
              tr("Paper: Piech et al. 2015, Table 1, Simulated-5 (two versions of the text: DKT 0.75 / 0.82).",
                 "论文：Piech 等 2015 年表 1 Simulated-5（正文两个版本的 DKT 分别为 0.75 / 0.82）。") if metrics["paper"] else None)

    sec = ctx.report.section("learning_groups", tr("AUC by student group", "按学生群体的 AUC"))
    if metrics["by_group"]:
        sec.table([tr("group", "群体"), tr("students", "学生数"), "AUC", tr("accuracy", "准确率")],
                  [[g, v["students"], round(v["auc"], 4), round(v["accuracy"], 4)] for g, v in metrics["by_group"].items()])
    else:
        sec.note(tr("This data has no student groups.", "该数据没有学生群体信息。"))

    sec = ctx.report.section("learning_mastery", tr("Mastery heat map", "掌握度热力图"))
    fig = plots.mastery_heatmap(np.array([s["mastery"] for s in mastery_doc["students"]]), mastery_doc["concepts"],
                                lang=ctx.lang)
    sec.figure(fig, tr("Estimated mastery per concept after each student's history.", "每名学生在其作答记录后的各知识点估计掌握度。"))

    rec = metrics["recommendation"]
    sec = ctx.report.section("learning_recommend", tr("Recommendation outcomes", "推荐效果"))
    if rec.get("evaluated"):
        pol = rec["policies"]
        sec.table([tr("policy", "策略"), tr("true mastery (mean)", "真实掌握度（均值）"), tr("std over seeds", "种子间标准差")],
                  [[k, round(v["mean"], 4), round(v["std"], 4)] for k, v in pol.items()],
                  tr(f"Simulated students after {rec['steps']} exercises; start mastery {rec['start_mastery']:.4f}.",
                     f"模拟学生练习 {rec['steps']} 题后；起始掌握度 {rec['start_mastery']:.4f}。"))
        fig = plots.policy_plot(pol, lang=ctx.lang)
        sec.figure(fig)
    else:
        sec.note(tr(f"Not evaluated: {rec.get('reason', 'disabled in the recipe')}.", f"未评估：{rec.get('reason', '配方中已关闭')}。"))

    g = metrics["graph"]
    sec = ctx.report.section("learning_graph", tr("Graph model on unseen exercises", "图模型对未见练习的预测"))
    if g.get("evaluated"):
        sec.table(["model", tr("held-out AUC", "留出练习 AUC"), tr("seen AUC", "已见练习 AUC")],
                  [[f"{k} ({v['model']})", round(v["heldout"]["auc"], 4), round(v["seen"]["auc"], 4)] for k, v in g["models"].items()],
                  tr(f"Exercises {g['heldout_exercises']} were removed from all training sequences.",
                     f"练习 {g['heldout_exercises']} 已从全部训练序列中移除。"))
    else:
        sec.note(tr(f"Not evaluated: {g.get('reason', 'disabled in the recipe')}.", f"未评估：{g.get('reason', '配方中已关闭')}。"))
