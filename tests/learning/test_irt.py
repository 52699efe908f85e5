"""Bayesian IRT tracing (registry name ``irt``) and the concept discovery it relies on."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score, roc_auc_score

from bentu.audit.kt_eval import SequenceDataset, predict_steps
from bentu.datasets.interactions import Interactions, load_dkt_synthetic_concepts
from bentu.errors import ConfigError
from bentu.models import create_model
from bentu.models.irt import answer_matrix, discover_concepts
from bentu.train import Trainer

from _learning_helpers import DATA_ROOT

CONCEPT_OF = np.repeat(np.arange(4), 6)  # 24 exercises, 4 concepts of 6
DIFFICULTY = np.linspace(-1.5, 1.5, 24)[np.random.default_rng(100).permutation(24)]
TRUTH = {"guess": 0.2, "scale": 1.5, "gain_right": 0.3, "gain_wrong": 0.1}


def _simulate(n_students: int, seed: int, guess=0.2, scale=1.5, gain_right=0.3, gain_wrong=0.1) -> Interactions:
    """Students answering all 24 exercises in a random order under the model's own form (``TRUTH``)."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, scale, (n_students, 4))
    exercises, responses = [], []
    for s in range(n_students):
        order = rng.permutation(len(CONCEPT_OF))
        right, wrong, r = np.zeros(4), np.zeros(4), []
        for j in order:
            k = CONCEPT_OF[j]
            z = theta[s, k] - DIFFICULTY[j] + gain_right * right[k] + gain_wrong * wrong[k]
            ok = rng.random() < guess + (1 - guess) / (1 + np.exp(-z))
            right[k] += ok
            wrong[k] += 1 - ok
            r.append(int(ok))
        exercises.append(order.astype(np.int64))
        responses.append(np.array(r, dtype=np.int64))
    return Interactions(students=[f"s{i}" for i in range(n_students)], exercises=exercises, responses=responses,
                        n_exercises=len(CONCEPT_OF), exercise_names=[f"e{j}" for j in range(len(CONCEPT_OF))])


def test_discover_concepts_finds_the_planted_concepts_and_their_number():
    data = _simulate(600, seed=0)
    found = discover_concepts(answer_matrix(data.exercises, data.responses, data.n_exercises))
    assert found.max() + 1 == 4  # the number of concepts is found too (parallel analysis)
    assert adjusted_rand_score(CONCEPT_OF, found) == 1.0
    assert found[0] == 0  # concepts are numbered by their first exercise, not by the clustering's labels


def test_unanswered_and_constant_exercises_form_one_extra_concept():
    data = _simulate(400, seed=1)
    mat = answer_matrix(data.exercises, data.responses, data.n_exercises)
    mat = np.column_stack([mat, np.full(len(mat), np.nan), np.ones(len(mat))])  # 24: never answered, 25: always right
    found = discover_concepts(mat)
    assert adjusted_rand_score(CONCEPT_OF, found[:24]) == 1.0
    assert found[24] == found[25] == 4


def test_answer_matrix_averages_repeats_and_leaves_unanswered_missing():
    mat = answer_matrix([np.array([0, 0, 2])], [np.array([1, 0, 1])], 3)
    np.testing.assert_array_equal(mat[0, [0, 2]], [0.5, 1.0])
    assert np.isnan(mat[0, 1])


def test_irt_recovers_the_generator_and_predicts_as_well_as_the_truth():
    torch.manual_seed(0)
    train, val, test = _simulate(900, seed=2), _simulate(150, seed=3), _simulate(400, seed=4)
    model = create_model("irt", n_exercises=24, concept_of=CONCEPT_OF.tolist())
    Trainer(lr=0.05, batch_size=64, epochs=60, patience=8, seed=0).fit(model, SequenceDataset(train, 24), SequenceDataset(val, 24))
    truth = create_model("irt", n_exercises=24, concept_of=CONCEPT_OF.tolist()).eval()
    with torch.no_grad():
        truth.difficulty.copy_(torch.tensor(DIFFICULTY))
        truth.guess_logit.fill_(float(np.log(TRUTH["guess"] / (1 - TRUTH["guess"]))))
        truth.log_scale.fill_(float(np.log(TRUTH["scale"])))
        truth.gain_right.fill_(TRUTH["gain_right"])
        truth.gain_wrong.fill_(TRUTH["gain_wrong"])
        # 6 exercises per concept pin the guessing floor and the ability scale only loosely (0.14, 1.22 here)
        assert 0.1 < float(torch.sigmoid(model.guess_logit)) < 0.3
        assert 1.1 < float(model.log_scale.exp()[0]) < 2.0  # moved from its start (1.0) towards 1.5
        assert float(model.gain_right[0]) > float(model.gain_wrong[0])  # right answers teach more, as generated
        assert np.corrcoef(model.difficulty.numpy(), DIFFICULTY)[0, 1] > 0.97
    p, y, _ = predict_steps(model.eval(), SequenceDataset(test, 24))
    p_true, y_true, _ = predict_steps(truth, SequenceDataset(test, 24))
    assert roc_auc_score(y, p) > roc_auc_score(y_true, p_true) - 0.005  # within 0.005 of the generator itself


def test_next_logits_equal_the_logit_of_each_exercise_asked_next():
    torch.manual_seed(0)
    model = create_model("irt", n_exercises=24, concept_of=CONCEPT_OF.tolist()).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
        ex = torch.randint(0, 24, (3, 9))
        r = torch.randint(0, 2, (3, 9))
        nxt = model.next_logits(ex, r)
        for j in (0, 7, 23):
            q = torch.full((3, 1), j)
            step = model(torch.cat([ex, q], 1), torch.cat([r, torch.zeros_like(q)], 1), torch.cat([ex, q], 1))[:, -1]
            torch.testing.assert_close(nxt[:, j], step, atol=1e-5, rtol=0)


def test_a_concept_map_of_the_wrong_length_is_refused():
    with pytest.raises(ConfigError) as err:
        create_model("irt", n_exercises=5, concept_of=[0, 1, 1])
    assert err.value.en == ("irt: concept_of must give a concept index >= 0 for each of the 5 exercises; "
                            "got 3 entries (min 0).")
    assert "concept_of" in err.value.zh


def test_a_guess_outside_zero_one_is_refused():
    with pytest.raises(ConfigError, match=r"^irt: guess must be in \(0, 1\) and grid >= 3; got guess=1.0, grid=61\.$"):
        create_model("irt", n_exercises=5, guess=1.0)


def test_a_concept_split_into_difficulty_factors_is_joined_again():
    """DKT synthetic, 2 concepts, v1: parallel analysis counts 4 factors (two per concept, from item
    difficulty); the clusters that correlate with each other are joined back into the 2 true concepts."""
    folder = DATA_ROOT / "dkt_synthetic"
    answers = np.loadtxt(folder / "naive_c2_q50_s4000_v1.csv.gz", delimiter=",")[:1800]
    truth, _ = load_dkt_synthetic_concepts(folder / "info" / "naive_c2_q50_s4000_v1_info.txt")
    found = discover_concepts(answers)
    assert found.max() + 1 == 2 and adjusted_rand_score(truth, found) == 1.0


def test_awkward_answers_give_a_valid_map_without_warnings():
    """A never-answered exercise and one that correlates with no other: every exercise still gets a
    concept, and no warning (numpy's empty-slice, sklearn's "graph is not fully connected") reaches the user."""
    import warnings

    rng = np.random.default_rng(0)
    u, v = rng.integers(0, 2, 40), rng.integers(0, 2, 40)
    flip = lambda x: np.where(rng.random(40) < 0.1, 1 - x, x)  # noqa: E731
    answers = np.column_stack([flip(u), flip(u), flip(u), flip(v), flip(v), flip(v), 1 - u, np.full(40, np.nan)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = discover_concepts(answers.astype(float))
    assert found[:3].tolist() == [0, 0, 0] and found[3:6].tolist() == [1, 1, 1]
    assert found[7] == found.max() and set(found) == set(range(found.max() + 1))
