"""Knowledge-tracing baselines: the reference models of the DKT paper's table and two stronger
count models, each ``fit(train) -> self`` and ``predict(data) -> (p, y, owner)`` over
:class:`bentu.datasets.interactions.Interactions`. They follow the protocol of
:mod:`bentu.audit.kt_eval`: a step's prediction uses only the steps before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # a type name only: models do not depend on the datasets layer
    from bentu.datasets.interactions import Interactions

__all__ = ["MarginalBaseline", "PerSkillBaseline", "RunningAccuracyBaseline", "BASELINES"]


def _steps(data: Interactions):
    for s, (ex, r) in enumerate(zip(data.exercises, data.responses)):
        yield s, ex, r


@dataclass
class MarginalBaseline:
    """The training correct rate of each exercise (the DKT paper's "Marginal"); no history.

    An exercise never seen in training gets the overall training correct rate.
    """

    prior: float = 1.0

    def fit(self, data: Interactions) -> "MarginalBaseline":
        right = np.zeros(data.n_exercises)
        seen = np.zeros(data.n_exercises)
        for _, ex, r in _steps(data):
            np.add.at(right, ex, r)
            np.add.at(seen, ex, 1)
        self.overall_ = float(right.sum() / max(seen.sum(), 1))
        self.rate_ = (right + self.prior * self.overall_) / (seen + self.prior)
        return self

    def predict(self, data: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = [self.rate_[ex] for _, ex, _ in _steps(data)]
        return _stack(data, p)


@dataclass
class PerSkillBaseline:
    """The student's own correct rate on the same exercise tag so far, shrunk to its marginal.

    ``p = (right_k + a * m_k) / (seen_k + a)`` with counts of the student's earlier answers on
    tag ``k`` only (updated after each prediction), ``m_k`` the training marginal and ``a`` the
    prior strength. Where every tag is answered once (DKT synthetic), it equals the marginal.
    """

    prior: float = 2.0

    def fit(self, data: Interactions) -> "PerSkillBaseline":
        self.marginal_ = MarginalBaseline().fit(data).rate_
        return self

    def predict(self, data: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out = []
        for _, ex, r in _steps(data):
            right, seen = {}, {}
            p = np.empty(len(ex))
            for t, (e, y) in enumerate(zip(ex, r)):
                m = self.marginal_[e]
                p[t] = (right.get(e, 0) + self.prior * m) / (seen.get(e, 0) + self.prior)
                right[e] = right.get(e, 0) + y  # updated AFTER predicting step t
                seen[e] = seen.get(e, 0) + 1
            out.append(p)
        return _stack(data, out)


@dataclass
class RunningAccuracyBaseline:
    """Logistic regression on the exercise's marginal log-odds and the student's running accuracy.

    Features at step ``t``: ``logit(m_e)``, ``logit`` of the student's smoothed correct rate over
    steps ``< t`` (all tags), and ``log(1 + t)``. A one-ability IRT/PFA-style baseline.
    """

    prior: float = 2.0

    def _features(self, data: Interactions) -> np.ndarray:
        rows = []
        for _, ex, r in _steps(data):
            m = np.clip(self.marginal_[ex], 1e-3, 1 - 1e-3)
            past = np.concatenate([[0.0], np.cumsum(r)[:-1]])  # correct answers before t
            n = np.arange(len(ex))
            run = np.clip((past + self.prior * self.overall_) / (n + self.prior), 1e-3, 1 - 1e-3)
            rows.append(np.stack([np.log(m / (1 - m)), np.log(run / (1 - run)), np.log1p(n)], axis=1))
        return np.concatenate(rows) if rows else np.zeros((0, 3))

    def fit(self, data: Interactions) -> "RunningAccuracyBaseline":
        from sklearn.linear_model import LogisticRegression

        marg = MarginalBaseline().fit(data)
        self.marginal_, self.overall_ = marg.rate_, marg.overall_
        y = np.concatenate(data.responses)
        self.lr_ = LogisticRegression(max_iter=500).fit(self._features(data), y)
        return self

    def predict(self, data: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = self.lr_.predict_proba(self._features(data))[:, 1]
        owner = np.concatenate([np.full(len(ex), s) for s, ex, _ in _steps(data)]) if len(data) else np.zeros(0, int)
        return p, np.concatenate(data.responses).astype(float), owner


def _stack(data: Interactions, p: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not len(data):
        return np.zeros(0), np.zeros(0), np.zeros(0, int)
    owner = np.concatenate([np.full(len(ex), s) for s, ex, _ in _steps(data)])
    return np.concatenate(p), np.concatenate(data.responses).astype(float), owner


#: Baselines by name, each ``fit(train) -> self`` and ``predict(data) -> (p, y, owner)``.
BASELINES = {"marginal": MarginalBaseline, "per_skill": PerSkillBaseline, "running_accuracy": RunningAccuracyBaseline}
