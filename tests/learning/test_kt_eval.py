"""The locked protocol's pieces: student-level splits, windows, question-level metrics, baselines."""

from __future__ import annotations

import numpy as np

from bentu.audit.kt_eval import SequenceDataset, question_metrics, student_split
from bentu.models.kt_baselines import BASELINES
from bentu.datasets.interactions import Interactions


def _toy():
    ex = [np.array([0, 1, 0, 2]), np.array([1, 1]), np.array([2, 0, 1, 2, 0])]
    r = [np.array([1, 0, 1, 1]), np.array([0, 1]), np.array([1, 1, 0, 0, 1])]
    return Interactions(["a", "b", "c"], ex, r, 3, ["x", "y", "z"])


def test_student_split_is_disjoint_and_complete():
    s = student_split(100, test=0.2, val=0.1, seed=0)
    allidx = np.concatenate(list(s.values()))
    assert len(allidx) == len(set(allidx)) == 100
    assert len(s["test"]) == 20 and len(s["val"]) == 8


def test_windows_mask_and_owner():
    ds = SequenceDataset(_toy(), max_len=3)
    assert len(ds) == 5  # 4 -> 3+1, 2 -> 2, 5 -> 3+2
    assert ds.owner.tolist() == [0, 0, 1, 2, 2]
    assert ds.mask.sum().item() == 11
    (ex, r, q), y, m = ds[1]
    assert ex.tolist() == [2, 0, 0] and m.tolist() == [True, False, False] and q.tolist() == ex.tolist()


def test_question_metrics_pool_answers():
    m = question_metrics(np.array([0, 1, 1, 0]), np.array([0.2, 0.8, 0.4, 0.6]))
    assert m == {"auc": 0.75, "accuracy": 0.5, "n": 4}


def test_per_skill_baseline_uses_only_earlier_answers():
    data = _toy()
    base = BASELINES["per_skill"](prior=2.0).fit(data)
    p, y, owner = base.predict(data)
    m0 = base.marginal_[0]
    # student a: exercise 0 at step 0 (no history) then again at step 2 after one correct answer
    assert np.isclose(p[0], m0) and np.isclose(p[2], (1 + 2 * m0) / 3)
    assert owner.tolist() == [0] * 4 + [1] * 2 + [2] * 5 and y.tolist() == np.concatenate(data.responses).tolist()
