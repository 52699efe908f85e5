"""The one ROC AUC that every part of bentu scores with.

The Trainer (early stopping on validation AUC), the federated server (the global model's AUC
each round), compression (the AUC change of a quantized model), the audit metrics, fairness by
group and the report all call :func:`roc_auc`, which is scikit-learn's ``roc_auc_score`` with
one rule added: with a single class present the AUC is undefined and is NaN (a group with no
defaults, a tiny validation split), never an exception. The module sits below the layers (it
imports nothing of bentu), so each layer can use it; ``bentu.audit.metrics`` builds the full
set of report metrics on it. The one other AUC computation, the binned AUC of the fairness
bootstrap (thousands of replicates at once), is checked against this one in the tests.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

__all__ = ["roc_auc"]


def roc_auc(y, score, sample_weight=None) -> float:
    """ROC AUC of ``score`` for the event ``y == 1``; NaN when ``y`` holds fewer than two classes.

    Parameters
    ----------
    y : array-like of 0/1 (or bool)
    score : array-like of float, same length
    sample_weight : array-like, optional

    Examples
    --------
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> roc_auc([1, 1], [0.2, 0.9])
    nan
    """
    y = np.asarray(y).reshape(-1)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, np.asarray(score, dtype=float).reshape(-1), sample_weight=sample_weight))
