"""The student simulator: deterministic, groups differ, practice in the right band teaches most."""

from __future__ import annotations

import numpy as np
import pytest

from bentu.datasets.student_sim import StudentSimulator
from bentu.inference.recommend import fixed_curriculum
from bentu.errors import ConfigError


def test_deterministic_per_seed():
    a = StudentSimulator(seed=4).simulate(30, 20, seed=1)
    b = StudentSimulator(seed=4).simulate(30, 20, seed=1)
    c = StudentSimulator(seed=4).simulate(30, 20, seed=2)
    assert all(np.array_equal(x, y) for x, y in zip(a.responses, b.responses))
    assert a.groups == b.groups
    assert not all(np.array_equal(x, y) for x, y in zip(a.responses, c.responses))


def test_groups_have_different_ability():
    data = StudentSimulator(seed=0).simulate(600, 30, seed=0)
    g = np.array(data.groups)
    rate = {name: np.concatenate([data.responses[i] for i in np.flatnonzero(g == name)]).mean() for name in ("urban", "rural")}
    assert 200 < (g == "urban").sum() < 400
    assert rate["urban"] > rate["rural"] + 0.05


def test_practice_raises_true_mastery_and_fixed_order():
    sim = StudentSimulator(n_exercises=10, n_concepts=2, seed=0)
    cohort = sim.cohort(50, seed=0)
    before = sim.overall_mastery(cohort).mean()
    ex, _ = sim.run_policy(cohort, 20, fixed_curriculum(10))
    assert ex[0].tolist() == list(range(10)) * 2
    assert sim.overall_mastery(cohort).mean() > before + 0.02
    assert sim.mastery(cohort).shape == (50, 2)


def test_learning_is_largest_for_matched_difficulty():
    sim = StudentSimulator(n_exercises=3, n_concepts=1, seed=0, concept_of=np.zeros(3, int), difficulty=np.array([-3.0, 0.0, 3.0]))
    gains = []
    for j in range(3):
        c = sim.cohort(1, seed=0)
        c.skill[:] = 0.0
        sim.answer(c, np.array([j]))
        gains.append(float(c.skill[0, 0]))
    assert gains[1] > gains[0] and gains[1] > gains[2]


def test_bad_config():
    with pytest.raises(ConfigError) as err:
        StudentSimulator(n_exercises=3, n_concepts=5)
    assert err.value.en == "StudentSimulator needs 1 <= n_concepts <= n_exercises. Got n_concepts=5, n_exercises=3 instead."
