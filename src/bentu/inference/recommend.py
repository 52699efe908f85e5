"""Mastery estimates and next-exercise recommendations from a knowledge-tracing model.

- **Mastery** of a concept, for one student, is the mean predicted success (probability of a
  correct next answer, guessing included) over that concept's exercises, given the student's
  history.
- **Recommendation**: the exercises whose predicted success lies in a target band (default
  0.6–0.8: hard enough to teach, easy enough to succeed), closest to the middle of the band
  first (the weaker concept on ties). When fewer than ``k`` exercises fall in the band, the nearest ones
  outside it fill the list and the reason says so.

Documented fallbacks: an empty history (a new student) is scored from the model's start state,
i.e. the population prior; an exercise the model never saw is an error by default
(``unknown="error"``) or is left out of the history with ``unknown="skip"``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from bentu.errors import DataError
from bentu.rundir.weights import load_model_weights

__all__ = ["load_run_model", "catalogue_from_run", "predict_next", "concept_mastery", "select_in_band", "recommend", "band_policy", "evaluate_recommendation",
           "fixed_curriculum", "random_curriculum"]


def load_run_model(run_dir) -> nn.Module:
    """The knowledge-tracing model of a learning run directory (``model/model.safetensors``), in eval mode."""
    from pathlib import Path

    from bentu.models import create_model

    path = Path(run_dir) / "model" / "model.json"
    if not path.exists():
        raise DataError(
            f"{path} does not exist: {run_dir} is not the directory of a finished learning run.",
            f"{path} 不存在：{run_dir} 不是已完成的 learning 运行目录。",
        )
    spec, state = load_model_weights(run_dir)
    if spec.ensemble > 1:
        from bentu.models.ensemble import LogitEnsemble

        model: nn.Module = LogitEnsemble([create_model(spec.name, **spec.params) for _ in range(spec.ensemble)])
    else:
        model = create_model(spec.name, **spec.params)
    model.load_state_dict(state)
    return model.eval()


def catalogue_from_run(run_dir) -> dict[int, str]:
    """``{exercise index: concept name}`` from a run's ``model/preprocess.json``."""
    import json
    from pathlib import Path

    pre = json.loads((Path(run_dir) / "model" / "preprocess.json").read_text(encoding="utf-8"))
    return {j: pre["concepts"][c] for j, c in enumerate(pre["concept_of"])}


def _n_exercises(model: nn.Module) -> int:
    return int(model.cfg.n_exercises)


@torch.no_grad()
def predict_next(model: nn.Module, ex_hist: np.ndarray, resp_hist: np.ndarray, candidates: np.ndarray,
                 chunk: int = 8192) -> np.ndarray:
    """Predicted success of each candidate as the next exercise, ``(n_students, n_candidates)``.

    ``ex_hist`` and ``resp_hist`` are ``(n_students, t)`` int arrays (``t`` may be 0).
    """
    model.eval()
    ex_hist = np.asarray(ex_hist, dtype=np.int64).reshape(len(ex_hist), -1)
    resp_hist = np.asarray(resp_hist, dtype=np.int64).reshape(ex_hist.shape)
    cand = np.asarray(candidates, dtype=np.int64)
    n, t, m = ex_hist.shape[0], ex_hist.shape[1], len(cand)
    fast = getattr(model, "next_logits", None)
    if fast is not None:  # the model scores every exercise from one pass over the history
        out = [torch.sigmoid(fast(torch.from_numpy(ex_hist[i : i + chunk]), torch.from_numpy(resp_hist[i : i + chunk]))).numpy()
               for i in range(0, n, chunk)]
        return np.concatenate(out)[:, cand] if out else np.zeros((0, m))
    ex = np.concatenate([np.repeat(ex_hist, m, axis=0), np.tile(cand, n)[:, None]], axis=1)  # (n*m, t+1)
    r = np.concatenate([np.repeat(resp_hist, m, axis=0), np.zeros((n * m, 1), np.int64)], axis=1)
    out = np.empty(n * m)
    for i in range(0, n * m, chunk):
        e_b, r_b = torch.from_numpy(ex[i : i + chunk]), torch.from_numpy(r[i : i + chunk])
        out[i : i + chunk] = torch.sigmoid(model(e_b, r_b, e_b)[:, t]).numpy()  # the step after the history
    return out.reshape(n, m)


def concept_mastery(p: np.ndarray, concept_of: np.ndarray, n_concepts: int) -> np.ndarray:
    """Mean predicted success per concept, ``(n_students, n_concepts)`` (NaN for an empty concept)."""
    p = np.atleast_2d(p)
    out = np.full((len(p), n_concepts), np.nan)
    for k in range(n_concepts):
        cols = concept_of == k
        if cols.any():
            out[:, k] = p[:, cols].mean(axis=1)
    return out


def select_in_band(p: np.ndarray, concept_rank: np.ndarray, band: tuple[float, float], k: int) -> list[int]:
    """Positions of ``k`` candidates: in-band first, nearest the band's middle first (weaker concept on ties)."""
    lo, hi = band
    mid = (lo + hi) / 2
    inside = (p >= lo) & (p <= hi)
    outside_gap = np.where(p < lo, lo - p, p - hi)
    order = np.lexsort((concept_rank, np.abs(p - mid), ~inside))  # last key sorts first
    in_part = [int(i) for i in order if inside[i]][:k]
    rest = [int(i) for i in np.argsort(outside_gap, kind="stable") if not inside[i]]
    return in_part + rest[: k - len(in_part)]


def _check_history(history: Sequence[tuple[int, int]], n_ex: int, unknown: str) -> tuple[np.ndarray, np.ndarray, list[int]]:
    ex, r, skipped = [], [], []
    for i, item in enumerate(history):
        try:
            e, c = int(item[0]), item[1]
        except (TypeError, ValueError, IndexError) as err:
            raise DataError(
                f"history[{i}] must be an (exercise, correct) pair of integers. Got {item!r} instead.",
                f"history[{i}] 必须是 (练习, 正误) 整数对，实际为 {item!r}。",
            ) from err
        if c not in (0, 1, True, False):
            raise DataError(
                f"history[{i}]: correctness must be 0 or 1. Got {c!r} instead.",
                f"history[{i}]：作答正误必须是 0 或 1，实际为 {c!r}。",
            )
        if not 0 <= e < n_ex:
            if unknown == "skip":
                skipped.append(e)
                continue
            raise DataError(
                f"history[{i}]: exercise {e} is unknown to the model (it knows exercises 0..{n_ex - 1}). "
                "Retrain with this exercise, or pass unknown='skip' to leave it out of the history.",
                f"history[{i}]：模型不认识练习 {e}（只认识 0..{n_ex - 1}）。请用含该练习的数据重新训练，"
                "或传入 unknown='skip' 将其从作答记录中略去。",
            )
        ex.append(e)
        r.append(int(c))
    return np.array(ex, dtype=np.int64), np.array(r, dtype=np.int64), skipped


def recommend(
    model: nn.Module,
    history: Sequence[tuple[int, int]],
    exercises: Mapping[int, str],
    band: tuple[float, float] = (0.6, 0.8),
    k: int = 3,
    *,
    unknown: str = "error",
) -> list[dict]:
    """Recommend the next ``k`` exercises for one student, with reasons in Chinese and English.

    Parameters
    ----------
    model : nn.Module
        A trained knowledge-tracing model of the registry (``dkt``, ``sakt``, ``graph_dkt``).
    history : sequence of (int, int)
        The student's answers so far, oldest first: ``(exercise index, correct 0/1)``. May be
        empty (a new student: predictions are the population prior).
    exercises : mapping of int to str
        The candidate exercises (index the model knows) and the concept each practises. A
        concept's mastery is the mean predicted success over its exercises in this mapping.
    band : (float, float)
        Target range of predicted success.
    k : int
    unknown : {"error", "skip"}
        What to do with a history exercise the model never saw.

    Returns
    -------
    list of dict
        ``{"exercise", "predicted_success", "concept", "concept_mastery", "in_band", "reason_zh", "reason_en"}``.

    Raises
    ------
    DataError
        A malformed history entry, a correctness other than 0/1, an unknown exercise (with
        ``unknown="error"``), or a candidate the model does not know.
    """
    n_ex = _n_exercises(model)
    lo, hi = band
    if not (0 <= lo < hi <= 1) or k < 1:
        raise DataError(
            f"recommend needs 0 <= band[0] < band[1] <= 1 and k >= 1. Got band={band!r}, k={k!r} instead.",
            f"recommend 要求 0 <= band[0] < band[1] <= 1 且 k >= 1，实际 band={band!r}，k={k!r}。",
        )
    ex, r, _ = _check_history(history, n_ex, unknown)
    cand = np.array(sorted(int(e) for e in exercises), dtype=np.int64)
    bad = [int(e) for e in cand if not 0 <= e < n_ex]
    if bad or not len(cand):
        raise DataError(
            f"exercises: candidate(s) {bad[:5]} are unknown to the model (it knows 0..{n_ex - 1}); give at least one known exercise.",
            f"exercises：候选练习 {bad[:5]} 模型不认识（只认识 0..{n_ex - 1}）；请至少给出一道已知练习。",
        )
    p = predict_next(model, ex[None, :], r[None, :], cand)[0]
    names = sorted(set(exercises.values()))
    cidx = np.array([names.index(exercises[int(e)]) for e in cand])
    mastery = concept_mastery(p[None, :], cidx, len(names))[0]
    rank = np.argsort(np.argsort(mastery))[cidx]  # 0 = weakest concept
    picks = select_in_band(p, rank, band, k)
    out = []
    for i in picks:
        concept, m, pi = exercises[int(cand[i])], float(mastery[cidx[i]]), float(p[i])
        inside = lo <= pi <= hi
        new = " (no answers yet: population prior)" if not len(ex) else ""
        new_zh = "（尚无作答记录：按总体先验估计）" if not len(ex) else ""
        if inside:
            en = (f"Predicted success {pi:.2f} is inside the target band {lo:.2f}–{hi:.2f}: challenging but within "
                  f"reach. It practises '{concept}', estimated mastery {m:.2f}{' (your weakest concept)' if rank[i] == 0 else ''}.{new}")
            zh = (f"预测答对概率 {pi:.2f}，在目标区间 {lo:.2f}–{hi:.2f} 内：有挑战但力所能及。该题练习“{concept}”，"
                  f"估计掌握度 {m:.2f}{'（你最薄弱的知识点）' if rank[i] == 0 else ''}。{new_zh}")
        else:
            side_en, side_zh = ("easier", "更容易") if pi > hi else ("harder", "更难")
            en = (f"No other exercise is closer to the target band {lo:.2f}–{hi:.2f}; predicted success {pi:.2f} "
                  f"makes it {side_en} than ideal. It practises '{concept}', estimated mastery {m:.2f}.{new}")
            zh = (f"没有更接近目标区间 {lo:.2f}–{hi:.2f} 的练习；预测答对概率 {pi:.2f}，比理想难度{side_zh}。"
                  f"该题练习“{concept}”，估计掌握度 {m:.2f}。{new_zh}")
        out.append({"exercise": int(cand[i]), "predicted_success": round(pi, 4), "concept": concept,
                    "concept_mastery": round(m, 4), "in_band": bool(inside), "reason_zh": zh, "reason_en": en})
    return out


def band_policy(model: nn.Module, concept_of: np.ndarray, band: tuple[float, float] = (0.6, 0.8)):
    """A simulator policy ``choose(ex_hist, resp_hist, t)``: each student's top in-band exercise."""
    n_ex = _n_exercises(model)
    cand = np.arange(n_ex)
    n_concepts = int(concept_of.max()) + 1

    def choose(ex_hist: np.ndarray, resp_hist: np.ndarray, t: int) -> np.ndarray:
        p = predict_next(model, ex_hist, resp_hist, cand)  # (n, m)
        mastery = concept_mastery(p, concept_of, n_concepts)
        out = np.empty(len(p), dtype=np.int64)
        for s in range(len(p)):
            rank = np.argsort(np.argsort(np.nan_to_num(mastery[s], nan=np.inf)))[concept_of]
            out[s] = cand[select_in_band(p[s], rank, band, 1)[0]]
        return out

    return choose


def evaluate_recommendation(
    sim, model: nn.Module, *, n_students: int = 200, steps: int = 30, seeds: Sequence[int] = (0, 1, 2, 3, 4),
    band: tuple[float, float] = (0.6, 0.8),
) -> dict:
    """True mastery after ``steps`` exercises under bentu's policy, a fixed curriculum and random order.

    For each seed a fresh cohort is drawn (the same cohort, copied, for the three policies).
    Returns per policy the mean true overall mastery per seed, their mean and std, and the
    margins of bentu over the other two with ``min`` over seeds.
    """
    import copy


    per_policy: dict[str, list[float]] = {"bentu": [], "fixed": [], "random": []}
    start: list[float] = []
    for seed in seeds:
        base = sim.cohort(n_students, 10_000 + int(seed))
        start.append(float(sim.overall_mastery(base).mean()))
        for name in per_policy:
            cohort = copy.deepcopy(base)
            if name == "bentu":
                choose = band_policy(model, sim.concept_of, band)
            elif name == "fixed":
                choose = fixed_curriculum(sim.n_exercises)
            else:
                choose = random_curriculum(sim.n_exercises, np.random.default_rng([int(seed), 7]))
            sim.run_policy(cohort, steps, choose)
            per_policy[name].append(float(sim.overall_mastery(cohort).mean()))
    res: dict = {"steps": steps, "students_per_seed": n_students, "seeds": list(map(int, seeds)), "band": list(band),
                 "start_mastery": float(np.mean(start)), "policies": {}}
    for name, vals in per_policy.items():
        res["policies"][name] = {"per_seed": vals, "mean": float(np.mean(vals)), "std": float(np.std(vals))}
    b = np.array(per_policy["bentu"])
    for other in ("fixed", "random"):
        diff = b - np.array(per_policy[other])
        spread = max(res["policies"]["bentu"]["std"], res["policies"][other]["std"])
        res[f"margin_vs_{other}"] = {"mean": float(diff.mean()), "min": float(diff.min()), "std": float(diff.std()),
                                     "spread_across_seeds": spread, "larger_than_spread": bool(diff.mean() > spread and diff.min() > 0)}
    return res


def fixed_curriculum(n_exercises: int) -> Callable[[np.ndarray, np.ndarray, int], np.ndarray]:
    """The fixed curriculum: exercise ``t mod n`` at step ``t`` for everyone."""
    return lambda eh, rh, t: np.full(len(eh), t % n_exercises, dtype=np.int64)


def random_curriculum(n_exercises: int, rng: np.random.Generator) -> Callable[[np.ndarray, np.ndarray, int], np.ndarray]:
    """Uniformly random exercises (with replacement)."""
    return lambda eh, rh, t: rng.integers(0, n_exercises, len(eh))
