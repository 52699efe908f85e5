"""Simulated students whose true mastery is known: item response theory with hidden concepts.

The process follows the DKT paper's synthetic students (Piech et al. 2015, §5) and adds
learning that depends on how well an exercise fits the student:

- exercise ``j`` has one hidden concept ``c_j`` and a difficulty ``β_j``;
- student ``s`` has a skill ``α_{s,k}`` per concept, drawn from ``N(μ_g, σ_g)`` of the student's
  group ``g`` (e.g. urban / rural schools with different means);
- the student answers correctly with probability ``p = guess + (1 − guess) · σ(α_{s,c_j} − β_j)``
  (``guess`` = 0.25, as in the paper);
- after each answer the skill of that concept grows by ``learn_rate · 4 q (1 − q)`` with
  ``q = σ(α − β)``: practice teaches most when the exercise is neither too easy nor too hard
  (``q`` near 0.5, i.e. ``p`` near 0.63);
- **true mastery** of concept ``k`` is the mean of ``σ(α_k − β_j)`` over that concept's exercises
  (the probability of solving them without guessing); overall mastery is the mean over exercises.

Everything is deterministic per seed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from bentu.datasets.interactions import Interactions
from bentu.errors import ConfigError

__all__ = ["StudentSimulator", "SimulatedStudents", "DEFAULT_GROUPS"]

#: Group name -> (share of students, mean skill, skill standard deviation).
DEFAULT_GROUPS: dict[str, tuple[float, float, float]] = {"urban": (0.5, 0.4, 1.0), "rural": (0.5, -0.4, 1.0)}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class SimulatedStudents:
    """A cohort's current skills (``(n, concepts)``), group labels and random stream."""

    skill: np.ndarray
    groups: list[str]
    rng: np.random.Generator


@dataclass
class StudentSimulator:
    """Exercise bank and learning rule of the simulation (see the module docstring).

    Parameters
    ----------
    n_exercises, n_concepts : int
    guess : float
        Probability of a lucky guess, ``0.25`` as in the DKT paper.
    learn_rate : float
        Largest skill gain from one answer (reached when ``q = 0.5``).
    groups : mapping
        ``{name: (share, mean, std)}`` of the skill distribution per student group.
    seed : int
        Seeds the exercise bank (concepts and difficulties).
    concept_of, difficulty : array, optional
        Use this exercise bank instead of a random one (e.g. a DKT synthetic ``info`` file).
    """

    n_exercises: int = 50
    n_concepts: int = 5
    guess: float = 0.25
    learn_rate: float = 0.15
    groups: Mapping[str, tuple[float, float, float]] = field(default_factory=lambda: dict(DEFAULT_GROUPS))
    seed: int = 0
    concept_of: np.ndarray | None = None
    difficulty: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.n_exercises < 1 or self.n_concepts < 1 or self.n_concepts > self.n_exercises:
            raise ConfigError(
                f"StudentSimulator needs 1 <= n_concepts <= n_exercises. Got n_concepts={self.n_concepts}, "
                f"n_exercises={self.n_exercises} instead.",
                f"StudentSimulator 要求 1 <= n_concepts <= n_exercises，实际 n_concepts={self.n_concepts}，"
                f"n_exercises={self.n_exercises}。",
            )
        shares = np.array([g[0] for g in self.groups.values()], dtype=float)
        if not len(shares) or (shares <= 0).any():
            raise ConfigError(
                f"The 'groups' of StudentSimulator must map names to (share > 0, mean, std). Got {dict(self.groups)!r}.",
                f"StudentSimulator 的 'groups' 必须是 名称 -> (占比 > 0, 均值, 标准差)，实际为 {dict(self.groups)!r}。",
            )
        rng = np.random.default_rng(self.seed)
        if self.concept_of is None:
            # every concept gets at least one exercise; the rest at random, in a shuffled order
            base = np.concatenate([np.arange(self.n_concepts), rng.integers(0, self.n_concepts, self.n_exercises - self.n_concepts)])
            self.concept_of = rng.permutation(base).astype(np.int64)
        if self.difficulty is None:
            self.difficulty = rng.normal(0.0, 1.0, self.n_exercises)
        self.concept_of = np.asarray(self.concept_of, dtype=np.int64)
        self.difficulty = np.asarray(self.difficulty, dtype=float)
        self.n_exercises = len(self.concept_of)

    # -- students -----------------------------------------------------------------------
    def cohort(self, n_students: int, seed: int) -> SimulatedStudents:
        """Draw ``n_students`` new students (skills and groups), deterministic per ``seed``."""
        rng = np.random.default_rng([self.seed, seed])
        names = list(self.groups)
        shares = np.array([self.groups[g][0] for g in names], dtype=float)
        gi = rng.choice(len(names), size=n_students, p=shares / shares.sum())
        mean = np.array([self.groups[names[g]][1] for g in gi])[:, None]
        std = np.array([self.groups[names[g]][2] for g in gi])[:, None]
        skill = mean + std * rng.normal(size=(n_students, self.n_concepts))
        return SimulatedStudents(skill, [names[g] for g in gi], rng)

    def solve_probability(self, skill: np.ndarray, exercises: np.ndarray) -> np.ndarray:
        """``σ(α − β)`` per student for ``exercises`` (``(n,)`` one each, or ``(m,)`` for all)."""
        exercises = np.asarray(exercises)
        if exercises.ndim == 1 and len(exercises) == len(skill):
            a = skill[np.arange(len(skill)), self.concept_of[exercises]]
            return _sigmoid(a - self.difficulty[exercises])
        return _sigmoid(skill[:, self.concept_of[exercises]] - self.difficulty[exercises])  # (n, m)

    def answer(self, students: SimulatedStudents, exercises: np.ndarray) -> np.ndarray:
        """Each student answers one exercise (``(n,)``), learns from it, and the 0/1 answers are returned."""
        exercises = np.asarray(exercises, dtype=np.int64)
        q = self.solve_probability(students.skill, exercises)
        p = self.guess + (1 - self.guess) * q
        correct = (students.rng.random(len(exercises)) < p).astype(np.int64)
        rows = np.arange(len(exercises))
        students.skill[rows, self.concept_of[exercises]] += self.learn_rate * 4 * q * (1 - q)
        return correct

    def mastery(self, students: SimulatedStudents) -> np.ndarray:
        """True mastery per student and concept, ``(n, n_concepts)`` (mean ``σ(α − β)`` of its exercises)."""
        q = self.solve_probability(students.skill, np.arange(self.n_exercises))  # (n, m)
        out = np.zeros((len(q), self.n_concepts))
        for k in range(self.n_concepts):
            cols = self.concept_of == k
            out[:, k] = q[:, cols].mean(axis=1) if cols.any() else np.nan
        return out

    def overall_mastery(self, students: SimulatedStudents) -> np.ndarray:
        """True overall mastery per student: mean ``σ(α − β)`` over all exercises."""
        return self.solve_probability(students.skill, np.arange(self.n_exercises)).mean(axis=1)

    # -- logs -----------------------------------------------------------------------------
    def run_policy(
        self, students: SimulatedStudents, steps: int,
        choose: Callable[[np.ndarray, np.ndarray, int], np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Let every student answer ``steps`` exercises chosen by ``choose(ex_hist, resp_hist, t)``.

        ``choose`` gets the ``(n, t)`` history so far and returns the next exercise per student.
        Returns the ``(n, steps)`` exercises and responses.
        """
        n = len(students.skill)
        ex = np.zeros((n, steps), dtype=np.int64)
        r = np.zeros((n, steps), dtype=np.int64)
        for t in range(steps):
            ex[:, t] = choose(ex[:, :t], r[:, :t], t)
            r[:, t] = self.answer(students, ex[:, t])
        return ex, r

    def simulate(self, n_students: int, length: int = 50, *, order: str = "random", seed: int = 0) -> Interactions:
        """A log of ``n_students`` answering ``length`` exercises each.

        ``order="random"``: exercises drawn uniformly with replacement (varied histories, used to
        train models that must score any next exercise); ``order="fixed"``: ``0, 1, 2, …`` cycling
        (the DKT paper's setting).
        """
        if order not in ("random", "fixed"):
            raise ConfigError(
                f"The 'order' parameter of simulate must be 'random' or 'fixed'. Got {order!r} instead.",
                f"simulate 的参数 'order' 必须是 'random' 或 'fixed'，实际为 {order!r}。",
            )
        students = self.cohort(n_students, seed)
        if order == "fixed":
            choose = lambda eh, rh, t: np.full(n_students, t % self.n_exercises)  # noqa: E731
        else:
            choose = lambda eh, rh, t: students.rng.integers(0, self.n_exercises, n_students)  # noqa: E731
        ex, r = self.run_policy(students, length, choose)
        return Interactions(
            students=[f"sim{seed}-{i}" for i in range(n_students)],
            exercises=list(ex), responses=list(r), n_exercises=self.n_exercises,
            exercise_names=[str(j) for j in range(self.n_exercises)],
            concept_of=self.concept_of.copy(), groups=students.groups, source=f"student_sim:seed={self.seed}/{seed}",
            extra={"final_mastery": self.mastery(students)},
        )
