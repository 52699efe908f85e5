"""The evaluation cannot see the answer it predicts: changing the present or the future of a
sequence leaves every earlier prediction — and the metric over them — unchanged."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bentu.audit.kt_eval import SequenceDataset, evaluate_model, predict_steps
from bentu.models.kt_baselines import BASELINES
from bentu.datasets.student_sim import StudentSimulator
from bentu.models import create_model

MODELS = {  # label: (registry name, parameters)
    "dkt": ("dkt", {"hidden": 16, "embed": 8}),
    "sakt": ("sakt", {"d_model": 16, "heads": 2}),
    "sakt_exercise_keys": ("sakt", {"d_model": 16, "heads": 2, "exercise_keys": True}),
    "graph_dkt": ("graph_dkt", {"embed": 8, "hidden": 16}),
    "irt": ("irt", {"grid": 21}),
}
T_CUT = 12  # steps 0..T_CUT-1 are "the past"; the rest is shuffled


def _data():
    sim = StudentSimulator(n_exercises=20, n_concepts=4, seed=3)
    return sim.simulate(40, 30, seed=1)


def _shuffle_future(data, rng, flip_present: bool):
    out = data.subset(range(len(data)))
    out.exercises, out.responses = [], []
    for e, r in zip(data.exercises, data.responses):
        e, r = e.copy(), r.copy()
        perm = T_CUT + rng.permutation(len(e) - T_CUT)
        e[T_CUT:], r[T_CUT:] = e[perm], 1 - r[perm]  # reorder and flip every future answer
        if flip_present:
            r[T_CUT - 1] = 1 - r[T_CUT - 1]  # the answer being predicted at the last past step
        out.exercises.append(e)
        out.responses.append(r)
    return out


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_predictions_ignore_present_and_future(name):
    torch.manual_seed(0)
    data = _data()
    model = create_model(MODELS[name][0], n_exercises=data.n_exercises, **MODELS[name][1]).eval()
    ds = SequenceDataset(data, max_len=30)
    shuffled = SequenceDataset(_shuffle_future(data, np.random.default_rng(0), flip_present=True), max_len=30)
    with torch.no_grad():
        a = torch.sigmoid(model(ds.exercises, ds.responses, ds.exercises))
        b = torch.sigmoid(model(shuffled.exercises, shuffled.responses, shuffled.exercises))
    assert torch.allclose(a[:, :T_CUT], b[:, :T_CUT], atol=1e-6)  # steps < T_CUT unchanged, incl. the flipped one
    assert not torch.allclose(a[:, T_CUT:], b[:, T_CUT:], atol=1e-3)  # sanity: the future did change


@pytest.mark.parametrize("name", sorted(MODELS))
def test_metric_over_the_past_is_unchanged_when_the_future_is_shuffled(name):
    torch.manual_seed(0)
    data = _data()
    model = create_model(MODELS[name][0], n_exercises=data.n_exercises, **MODELS[name][1]).eval()
    shuffled = _shuffle_future(data, np.random.default_rng(1), flip_present=False)

    def past_only(d):
        ds = SequenceDataset(d, max_len=30)
        ds.mask[:, T_CUT:] = False
        return ds

    assert evaluate_model(model, past_only(data)) == evaluate_model(model, past_only(shuffled))


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baselines_ignore_present_and_future(name):
    data = _data()
    base = BASELINES[name]().fit(data)
    shuffled = _shuffle_future(data, np.random.default_rng(2), flip_present=True)
    p, _, _ = base.predict(data)
    q, _, _ = base.predict(shuffled)
    past = np.concatenate([np.arange(len(e)) < T_CUT for e in data.exercises])
    np.testing.assert_allclose(p[past], q[past])


def test_padding_does_not_change_real_steps():
    torch.manual_seed(0)
    data = _data()
    model = create_model("sakt", n_exercises=data.n_exercises, d_model=16, heads=2).eval()
    p30, _, _ = predict_steps(model, SequenceDataset(data, max_len=30))
    p50, _, _ = predict_steps(model, SequenceDataset(data, max_len=50))  # 20 padded steps per row
    np.testing.assert_allclose(p30, p50, atol=1e-6)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_pipeline_pads_to_longest_sequence_without_changing_predictions(name):
    """The pipeline pads only to the longest sequence (not ``max_len``): same windows, same predictions."""
    from bentu.pipeline.learning import _dataset

    torch.manual_seed(0)
    data = _data()  # 30 answers per student
    params = {**MODELS[name][1], "n_exercises": data.n_exercises}
    if name == "graph_dkt":
        params["concept_of"] = data.concept_of.tolist()
    model = create_model(MODELS[name][0], **params).eval()
    short, full = _dataset(data, 200), SequenceDataset(data, 200)
    assert short.exercises.shape == (len(data), 30) and full.exercises.shape == (len(data), 200)
    p_short, y_short, o_short = predict_steps(model, short)
    p_full, y_full, o_full = predict_steps(model, full)
    np.testing.assert_array_equal(y_short, y_full)
    np.testing.assert_array_equal(o_short, o_full)
    np.testing.assert_allclose(p_short, p_full, atol=1e-5)
    # sequences longer than max_len are still cut into max_len windows
    assert _dataset(data, 16).exercises.shape == SequenceDataset(data, 16).exercises.shape
