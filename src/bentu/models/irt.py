"""Bayesian IRT tracing: item response theory with learning, traced by the exact posterior.

Each student has one latent ability per concept, ``theta ~ N(0, scale_k^2)``. The answer to
exercise ``j`` of concept ``k`` is correct with probability

    P = guess + (1 - guess) * sigmoid(theta - b_j + gain_right_k * n_right + gain_wrong_k * n_wrong)

where ``n_right`` / ``n_wrong`` count the student's earlier right / wrong answers on concept ``k``
(learning by practice, as in Performance Factors Analysis, Pavlik et al. 2009). The scale and the
two gains are shared by all concepts unless ``shared=False`` gives each concept its own. This is the
form of the DKT paper's simulated students (Piech et al. 2015 §5: a 1PL item with guessing, one
skill per concept, skill growing with practice). The ability is traced exactly: its posterior
is kept on a fixed grid of ``grid`` points per concept and updated by each earlier answer, so
the prediction for step ``t`` is ``E[P | answers before t]``. Trained with the Trainer's
per-step cross-entropy, which is the marginal likelihood of the answer sequences.

Which concept an exercise measures is a buffer (``concept_of``). bentu never reads it from
data labels the evaluation forbids: :func:`discover_concepts` finds it from the training
students' answers alone (items of one concept correlate, items of different concepts do not).

Same interface as the other knowledge-tracing models (``bentu.models.sequence``): three int64
``(b, t)`` tensors in, one logit per step out; the response at ``t`` never reaches the logit at
``t`` (every sum over the history is exclusive), and right-padding cannot change real steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from bentu.errors import ConfigError
from bentu.models._registry import register_model
from bentu.models.sequence import SEQUENCE_INPUTS, sequence_example

__all__ = ["IRTConfig", "IRTTracer", "answer_matrix", "discover_concepts"]


@dataclass
class IRTConfig:
    n_exercises: int = 50
    concept_of: list[int] = field(default_factory=list)  # concept index of every exercise
    grid: int = 61  # posterior grid points per concept, over -4..4 prior standard deviations
    guess: float = 0.25  # initial guessing floor (learned)
    shared: bool = True  # one ability scale and one pair of learning gains for all concepts


class IRTTracer(nn.Module):
    """Item response theory with learning; per-concept ability traced by its exact grid posterior."""

    def __init__(self, cfg: IRTConfig):
        super().__init__()
        self.cfg = cfg
        concept_of = list(cfg.concept_of) or [0] * cfg.n_exercises
        if len(concept_of) != cfg.n_exercises or min(concept_of) < 0:
            raise ConfigError(
                f"irt: concept_of must give a concept index >= 0 for each of the {cfg.n_exercises} exercises; "
                f"got {len(concept_of)} entries (min {min(concept_of, default=None)}).",
                f"irt：concept_of 必须为全部 {cfg.n_exercises} 个练习各给出一个 >= 0 的知识点编号；"
                f"实际 {len(concept_of)} 项（最小值 {min(concept_of, default=None)}）。",
            )
        if not 0 < cfg.guess < 1 or cfg.grid < 3:
            raise ConfigError(
                f"irt: guess must be in (0, 1) and grid >= 3; got guess={cfg.guess}, grid={cfg.grid}.",
                f"irt：guess 必须在 (0, 1) 内且 grid >= 3；实际 guess={cfg.guess}，grid={cfg.grid}。",
            )
        k = max(concept_of) + 1
        self.n_concepts = k
        self.register_buffer("concept_of", torch.tensor(concept_of, dtype=torch.long))
        z = torch.linspace(-4.0, 4.0, cfg.grid)
        self.register_buffer("z", z)
        self.register_buffer("log_prior", torch.log_softmax(-0.5 * z**2, 0))
        self.difficulty = nn.Parameter(torch.zeros(cfg.n_exercises))
        per = 1 if cfg.shared else k
        self.log_scale = nn.Parameter(torch.zeros(per))
        self.gain_right = nn.Parameter(torch.zeros(per))
        self.gain_wrong = nn.Parameter(torch.zeros(per))
        self.guess_logit = nn.Parameter(torch.tensor(math.log(cfg.guess / (1 - cfg.guess))))

    def _success(self, exercise: torch.Tensor, right: torch.Tensor, wrong: torch.Tensor) -> torch.Tensor:
        """P(correct) on the grid: ``(b, t, grid)`` for exercise ids and own-concept counts ``(b, t)``."""
        c = self.concept_of[exercise] if not self.cfg.shared else torch.zeros_like(exercise)  # (b, t)
        shift = -self.difficulty[exercise] + self.gain_right[c] * right + self.gain_wrong[c] * wrong  # (b, t)
        theta = self.log_scale[c].exp().unsqueeze(-1) * self.z  # (b, t, grid)
        g = torch.sigmoid(self.guess_logit)
        return (g + (1 - g) * torch.sigmoid(theta + shift.unsqueeze(-1))).clamp(1e-6, 1 - 1e-6)

    def _history(self, exercises: torch.Tensor, responses: torch.Tensor):
        """Per-concept right/wrong counts ``(b, t, k)`` and log-likelihood sums ``(b, t, k, grid)`` of steps < t."""
        onehot = nn.functional.one_hot(self.concept_of[exercises], self.n_concepts).to(self.z.dtype)  # (b, t, k)
        r = responses.to(self.z.dtype)
        right_incl = torch.cumsum(onehot * r.unsqueeze(-1), 1)  # (b, t, k) counts of steps <= t
        wrong_incl = torch.cumsum(onehot * (1 - r).unsqueeze(-1), 1)
        right, wrong = right_incl - onehot * r.unsqueeze(-1), wrong_incl - onehot * (1 - r).unsqueeze(-1)  # steps < t
        p = self._success(exercises, (right * onehot).sum(-1), (wrong * onehot).sum(-1))  # own concept's counts
        ll = r.unsqueeze(-1) * p.log() + (1 - r).unsqueeze(-1) * (1 - p).log()  # (b, t, grid)
        ll_incl = torch.cumsum(onehot.unsqueeze(-1) * ll.unsqueeze(2), 1)  # (b, t, k, grid)
        return right, wrong, ll_incl - onehot.unsqueeze(-1) * ll.unsqueeze(2)

    def forward(self, exercises: torch.Tensor, responses: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        right, wrong, loglik = self._history(exercises, responses)
        cq = self.concept_of[query]  # (b, t)
        pick = nn.functional.one_hot(cq, self.n_concepts).to(self.z.dtype)  # (b, t, k)
        post = torch.softmax(self.log_prior + (loglik * pick.unsqueeze(-1)).sum(2), -1)  # (b, t, grid)
        p = self._success(query, (right * pick).sum(-1), (wrong * pick).sum(-1))
        prob = (post * p).sum(-1).clamp(1e-6, 1 - 1e-6)
        return torch.log(prob) - torch.log1p(-prob)  # (b, t)

    def next_logits(self, exercises: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
        """Logits of every exercise as the step after the ``(b, t)`` history: ``(b, n_exercises)``."""
        pad = exercises.new_zeros((exercises.shape[0], 1))
        right, wrong, loglik = self._history(torch.cat([exercises, pad], 1), torch.cat([responses, pad], 1))
        c = self.concept_of  # (n,)
        post = torch.softmax(self.log_prior + loglik[:, -1][:, c], -1)  # (b, n, grid)
        every = torch.arange(self.cfg.n_exercises, device=exercises.device).expand(exercises.shape[0], -1)
        p = self._success(every, right[:, -1][:, c], wrong[:, -1][:, c])  # (b, n, grid)
        prob = (post * p).sum(-1).clamp(1e-6, 1 - 1e-6)
        return torch.log(prob) - torch.log1p(-prob)


def discover_concepts(answers: np.ndarray, max_concepts: int = 20, seed: int = 0, permutations: int = 20) -> np.ndarray:
    """Group exercises into concepts from a students x exercises answer matrix (1/0, NaN = not answered).

    Items of one concept correlate across students; items of different concepts do not. The
    number of concepts is the number of eigenvalues of the item correlation matrix above the
    95th percentile of those of the same matrix with each column shuffled independently (Horn's
    parallel analysis); the items are then split by spectral clustering of the positive
    correlations, and clusters that correlate with each other almost as much as within
    themselves are joined again (see :func:`_merge_correlated`). Exercises nobody answered, or
    with no variance, form one extra concept.
    Deterministic for a given ``seed``.
    """
    from sklearn.cluster import SpectralClustering

    a = np.asarray(answers, dtype=float)
    n = a.shape[1]
    seen = np.isfinite(a)
    x = np.where(seen, a, 0.0)
    count = seen.sum(0)
    mean = x.sum(0) / np.maximum(count, 1)
    spread = np.where(seen, (x - mean) ** 2, 0.0).sum(0)
    usable = (count >= 2) & (spread > 0)  # answered twice or more, not always the same answer
    out = np.zeros(n, dtype=np.int64)
    idx = np.flatnonzero(usable)
    if len(idx) < 2:  # nothing to correlate: one concept
        return out
    corr = _pairwise_corr(a[:, idx])
    rng = np.random.default_rng(seed)
    null = []
    for _ in range(permutations):
        shuffled = np.column_stack([rng.permutation(col) for col in a[:, idx].T])
        null.append(np.linalg.eigvalsh(_pairwise_corr(shuffled))[::-1])
    limit = np.percentile(np.array(null), 95, axis=0)
    eig = np.linalg.eigvalsh(corr)[::-1]
    k = int(np.clip(np.argmax(eig <= limit) if (eig <= limit).any() else len(eig), 1, min(max_concepts, len(idx))))
    if k == 1:
        labels = np.zeros(len(idx), dtype=np.int64)
    else:
        labels = SpectralClustering(n_clusters=k, affinity="precomputed", random_state=seed,
                                    assign_labels="cluster_qr").fit_predict(np.clip(corr, 0, None) + 1e-6)  # + 1e-6: connected
    labels = _merge_correlated(labels, corr)
    # number the concepts by first exercise, so the map does not depend on the clustering's labels
    order = {lab: i for i, lab in enumerate(dict.fromkeys(labels.tolist()))}
    out[idx] = [order[lab] for lab in labels]
    out[~usable] = len(order)
    return out


def _merge_correlated(labels: np.ndarray, corr: np.ndarray, ratio: float = 0.5) -> np.ndarray:
    """Join clusters whose items correlate across them at least ``ratio`` times as much as within.

    Pearson correlations of 0/1 items carry "difficulty factors": items of similar difficulty
    correlate a little more, so parallel analysis can count one concept twice and the clustering
    split it. Items of two different concepts hardly correlate, items of a split one nearly as
    much as within it; the most correlated such pair is merged until none is left.
    """
    labels = labels.copy()
    while True:
        groups = np.unique(labels)
        if len(groups) < 2:
            return labels

        def mean(a, b):
            block = corr[np.ix_(labels == a, labels == b)]
            if a == b:
                n = len(block)
                return (block.sum() - np.trace(block)) / (n * (n - 1)) if n > 1 else 1.0
            return block.mean()

        within = {g: mean(g, g) for g in groups}
        best, pair = ratio, None
        for i, a in enumerate(groups):
            for b in groups[i + 1:]:
                r = mean(a, b) / max(min(within[a], within[b]), 1e-9)
                if r > best:
                    best, pair = r, (a, b)
        if pair is None:
            return labels
        labels[labels == pair[1]] = pair[0]


def answer_matrix(exercises: list[np.ndarray], responses: list[np.ndarray], n_exercises: int) -> np.ndarray:
    """Students x exercises share of right answers (NaN where a student never answered the exercise)."""
    right = np.zeros((len(exercises), n_exercises))
    seen = np.zeros((len(exercises), n_exercises))
    for s, (e, r) in enumerate(zip(exercises, responses)):
        np.add.at(right[s], e, r)
        np.add.at(seen[s], e, 1)
    with np.errstate(invalid="ignore"):
        return right / np.where(seen > 0, seen, np.nan)


def _pairwise_corr(a: np.ndarray) -> np.ndarray:
    """Pearson correlation of columns over the rows where both are observed (NaN = missing); diag 1."""
    seen = np.isfinite(a).astype(float)
    x = np.where(seen > 0, a, 0.0)
    n = seen.T @ seen
    with np.errstate(invalid="ignore", divide="ignore"):
        sx, sxx = x.T @ seen, (x * x).T @ seen  # sums of column i over rows where j is seen
        sxy = x.T @ x
        cov = sxy / n - (sx / n) * (sx.T / n)
        var_i, var_j = sxx / n - (sx / n) ** 2, sxx.T / n - (sx.T / n) ** 2
        corr = cov / np.sqrt(var_i * var_j)
    corr = np.nan_to_num(corr, nan=0.0)
    np.fill_diagonal(corr, 1.0)
    return corr


@register_model("irt", family="sequence", example=sequence_example, input_names=SEQUENCE_INPUTS)
def irt(*, n_exercises: int = 50, concept_of: list[int] | None = None, grid: int = 61, guess: float = 0.25,
        shared: bool = True) -> nn.Module:
    """Bayesian IRT tracing: 1PL items with guessing and learning, exact per-concept ability posterior."""
    return IRTTracer(IRTConfig(n_exercises, list(concept_of or []), int(grid), float(guess), bool(shared)))
