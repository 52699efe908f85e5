import numpy as np
import pandas as pd

from bentu.audit.fairness import SMALL_GROUPS, mitigate


def test_mitigation_pools_groups_too_small_or_with_one_label():
    # UCI's EDUCATION has undocumented codes held by a handful of rows, some with one label only.
    rng = np.random.default_rng(0)
    n = 2000
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + rng.normal(size=n) > 1).astype(int)
    A = pd.DataFrame({"EDUCATION": rng.choice([1, 2, 3, 0], n, p=[0.45, 0.45, 0.095, 0.005])})
    A.loc[y == 1, "EDUCATION"] = A.loc[y == 1, "EDUCATION"].replace(0, 1)  # code 0: no defaulters at all
    s = 1 / (1 + np.exp(-X[:, 0]))
    r = mitigate(X_train=X[:1500], y_train=y[:1500], A_train=A[:1500], X_test=X[1500:], y_test=y[1500:],
                 A_test=A[1500:].reset_index(drop=True), score_train=s[:1500], score_test=s[1500:],
                 threshold=0.6, attribute="EDUCATION", strengths=(1.0,))
    methods = [row["method"] for row in r["rows"]]
    assert methods == ["model", "logistic_regression", "threshold_optimizer", "exponentiated_gradient"]
    # Code 0 alone has too few rows and no defaulters: pooled, then folded into the largest group.
    assert set(r["rows"][2]["selection_rates"]) <= {"1", "2", "3", SMALL_GROUPS}
    assert "0" not in r["rows"][2]["selection_rates"]
