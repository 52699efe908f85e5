"""Recommendation: the band, the reasons, the fallbacks and the errors; the simulator evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bentu.audit.kt_eval import SequenceDataset
from bentu.datasets.student_sim import StudentSimulator
from bentu.errors import DataError
from bentu.inference.recommend import evaluate_recommendation, recommend
from bentu.models import create_model
from bentu.train import Trainer


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    sim = StudentSimulator(n_exercises=12, n_concepts=3, seed=0)
    data = sim.simulate(200, 24, seed=0)
    model = create_model("dkt", n_exercises=12, hidden=16, embed=8)
    Trainer(epochs=3, batch_size=32, lr=5e-3).fit(model, SequenceDataset(data, 24))
    catalogue = {j: f"concept-{sim.concept_of[j]}" for j in range(12)}
    return sim, model.eval(), catalogue


def test_recommend_returns_k_exercises_with_reasons(trained):
    sim, model, catalogue = trained
    recs = recommend(model, [(0, 1), (3, 0), (5, 1)], catalogue, band=(0.3, 0.95), k=3)
    assert len(recs) == 3
    assert set(recs[0]) == {"exercise", "predicted_success", "concept", "concept_mastery", "in_band", "reason_zh", "reason_en"}
    for r in recs:
        assert r["concept"] == catalogue[r["exercise"]]
        assert r["in_band"] == (0.3 <= r["predicted_success"] <= 0.95)
        assert "target band 0.30–0.95" in r["reason_en"] and "目标区间 0.30–0.95" in r["reason_zh"]
    in_band = [r for r in recs if r["in_band"]]
    assert in_band == recs[: len(in_band)]  # in-band exercises come first


def test_empty_band_falls_back_to_the_nearest(trained):
    _, model, catalogue = trained
    recs = recommend(model, [(1, 1)], catalogue, band=(0.98, 1.0), k=2)
    assert len(recs) == 2 and not any(r["in_band"] for r in recs)
    assert recs[0]["reason_en"].startswith("No other exercise is closer to the target band 0.98–1.00")


def test_new_student_gets_the_population_prior(trained):
    _, model, catalogue = trained
    recs = recommend(model, [], catalogue, k=1)
    assert recs[0]["reason_en"].endswith("(no answers yet: population prior)")


def test_unknown_exercise_error_or_skip(trained):
    _, model, catalogue = trained
    with pytest.raises(DataError) as err:
        recommend(model, [(0, 1), (99, 0)], catalogue)
    assert err.value.en == ("history[1]: exercise 99 is unknown to the model (it knows exercises 0..11). "
                            "Retrain with this exercise, or pass unknown='skip' to leave it out of the history.")
    a = recommend(model, [(0, 1), (99, 0)], catalogue, unknown="skip")
    b = recommend(model, [(0, 1)], catalogue)
    assert a == b


def test_bad_correctness(trained):
    _, model, catalogue = trained
    with pytest.raises(DataError) as err:
        recommend(model, [(0, 2)], catalogue)
    assert err.value.en == "history[0]: correctness must be 0 or 1. Got 2 instead."


def test_evaluate_recommendation_structure(trained):
    sim, model, _ = trained
    res = evaluate_recommendation(sim, model, n_students=10, steps=4, seeds=(0, 1))
    assert set(res["policies"]) == {"bentu", "fixed", "random"}
    assert all(len(v["per_seed"]) == 2 for v in res["policies"].values())
    assert res["policies"]["bentu"]["mean"] > res["start_mastery"]  # practice teaches
    assert "larger_than_spread" in res["margin_vs_fixed"]
