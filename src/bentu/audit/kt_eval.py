"""The locked evaluation protocol of knowledge tracing (the baselines it compares against are
models: :mod:`bentu.models.kt_baselines`).

Protocol (documented in docs/learning.md; do not loosen it):

1. **Student-level splits.** A student's whole sequence is in exactly one of train, validation
   or test. Validation students (early stopping) come from the training students only.
2. **Each response is predicted from the history before it.** The prediction for step ``t``
   uses exercises and responses of steps ``< t`` and the exercise asked at ``t`` — never the
   response at ``t`` or anything after it. Models shift their inputs themselves
   (:func:`bentu.models.sequence.shift_interactions`); baselines use running counts that are
   updated after the prediction.
3. **Question-level metrics.** AUC and accuracy (threshold 0.5) over every answered step of
   every test student, pooled (not averaged per student).
4. Long sequences are cut into consecutive windows of ``max_len`` steps; each window starts
   with an empty history (pyKT does the same). Padding is masked out.
"""

from __future__ import annotations


import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from bentu.datasets.interactions import Interactions
from bentu.metrics import roc_auc

__all__ = [
    "SequenceDataset", "student_split", "question_metrics", "predict_steps", "evaluate_model",
    "metrics_by_group",
]


class SequenceDataset(Dataset):
    """Windows of at most ``max_len`` steps, as Trainer items ``((ex, resp, query), y, mask)``.

    All tensors are right-padded to ``max_len``; ``mask`` is True on real steps. Each item also
    remembers its student (``self.owner[i]``) so predictions can be grouped by student.
    """

    def __init__(self, data: Interactions, max_len: int = 200, *, loss_mask: np.ndarray | None = None):
        self.max_len = int(max_len)
        ex_rows, r_rows, m_rows, owners = [], [], [], []
        for s, (ex, r) in enumerate(zip(data.exercises, data.responses)):
            for start in range(0, len(ex), self.max_len):
                e_w, r_w = ex[start : start + self.max_len], r[start : start + self.max_len]
                pad = self.max_len - len(e_w)
                ex_rows.append(np.pad(e_w, (0, pad)))
                r_rows.append(np.pad(r_w, (0, pad)))
                m = np.pad(np.ones(len(e_w), bool), (0, pad))
                if loss_mask is not None:
                    m &= np.pad(loss_mask[e_w], (0, pad)).astype(bool)
                m_rows.append(m)
                owners.append(s)
        shape = (0, self.max_len)
        self.exercises = torch.as_tensor(np.array(ex_rows).reshape(shape if not ex_rows else (len(ex_rows), -1)), dtype=torch.long)
        self.responses = torch.as_tensor(np.array(r_rows).reshape(self.exercises.shape), dtype=torch.long)
        self.mask = torch.as_tensor(np.array(m_rows).reshape(self.exercises.shape), dtype=torch.bool)
        self.owner = np.array(owners, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.exercises)

    def __getitem__(self, i: int):
        ex, r = self.exercises[i], self.responses[i]
        return (ex, r, ex), r.float(), self.mask[i]


def student_split(n_students: int, *, test: float, val: float, seed: int) -> dict[str, np.ndarray]:
    """Random split of student indices into train / val / test (val taken from the non-test part)."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n_students)
    n_test = int(round(test * n_students))
    rest, test_idx = perm[n_test:], perm[:n_test]
    n_val = max(1, int(round(val * len(rest))))
    return {"train": np.sort(rest[n_val:]), "val": np.sort(rest[:n_val]), "test": np.sort(test_idx)}


def question_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC and accuracy (threshold 0.5) over all answered steps, plus their count."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    auc = roc_auc(y, p)
    return {"auc": auc, "accuracy": float(np.mean((p >= 0.5) == (y == 1))) if len(y) else float("nan"), "n": int(len(y))}


@torch.no_grad()
def predict_steps(model: nn.Module, ds: SequenceDataset, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predicted success, true response and owner (student index) of every masked step."""
    model.eval()
    ps, ys, owners = [], [], []
    for i in range(0, len(ds), batch_size):
        ex, r, m = ds.exercises[i : i + batch_size], ds.responses[i : i + batch_size], ds.mask[i : i + batch_size]
        p = torch.sigmoid(model(ex, r, ex))
        ps.append(p[m].numpy())
        ys.append(r[m].numpy())
        owners.append(np.repeat(ds.owner[i : i + batch_size], m.sum(1).numpy()))
    cat = lambda xs: np.concatenate(xs) if xs else np.zeros(0)  # noqa: E731
    return cat(ps), cat(ys), cat(owners)


def evaluate_model(model: nn.Module, ds: SequenceDataset) -> dict[str, float]:
    """Question-level AUC and accuracy of ``model`` on ``ds`` (the protocol's metric)."""
    p, y, _ = predict_steps(model, ds)
    return question_metrics(y, p)


def metrics_by_group(y: np.ndarray, p: np.ndarray, owner: np.ndarray, groups: list[str] | None) -> dict[str, dict]:
    """Question-level metrics per student group (``owner`` indexes ``groups``)."""
    if groups is None:
        return {}
    labels = np.array(groups)[owner]
    return {g: {**question_metrics(y[labels == g], p[labels == g]), "students": int(len(set(owner[labels == g])))}
            for g in sorted(set(groups))}


# -- baselines ----------------------------------------------------------------------------


