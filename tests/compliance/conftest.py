"""Evidence directories for compliance tests, built in tmp_path (no pipeline needed)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from bentu.compliance.audit_log import AuditLog

CREDIT_RECIPE = {
    "name": "credit",
    "application": "credit",
    "locale": {"region": "CN", "language": "zh-CN", "rules": ["pipl", "jrt0221", "jrt0171"]},
    "data": {"dataset": "credit-sim", "target": "default", "sensitive": ["sex", "age_band"]},
    "privacy": {"pii": "auto", "k_anonymity": 5},
    "model": {"name": "tabular_mlp", "hidden": [16]},
    "train": {"epochs": 2, "seed": 0},
    "federated": {"enabled": False},
    "compress": {"int8": True},
    "audit": {"fairness": True, "explain": "shap"},
    "governance": {
        "subjects": ["adults"],
        "guardian_consent": False,
        "data_location": "CN",
        "serving_location": "CN",
        "cross_border": {"enabled": False, "people_per_year": 0, "sensitive_people_per_year": 0},
        "human_review": True,
        "operator": "risk-team",
        "intended_use": "consumer credit pre-screening with human review",
    },
}

PROFILE = {
    "rows": 1000,
    "columns": [
        {"name": "id_card", "role": "id", "dtype": "str", "missing": 0},
        {"name": "phone", "role": "id", "dtype": "str", "missing": 0},
        {"name": "age_band", "role": "feature", "dtype": "str", "missing": 0},
        {"name": "province", "role": "feature", "dtype": "str", "missing": 0},
        {"name": "income", "role": "feature", "dtype": "float", "missing": 3},
        {"name": "default", "role": "target", "dtype": "int", "missing": 0},
    ],
    "duplicates": 0,
    "class_balance": {"0": 0.8, "1": 0.2},
    "institutions": {"lender_a": 600, "lender_b": 400},
    "source": {"path": "credit-sim", "sha256": "ab" * 32, "rows": 1000,
               "loaded_at": "2025-01-01T00:00:00+00:00"},
    "split": {"method": "stratified", "train": 0.7, "val": 0.15, "test": 0.15, "seed": 0},
}

PRIVACY = {
    "pii": "auto",
    "deidentified": True,
    "key_source": "env:BENTU_PSEUDONYM_KEY",
    "columns": {
        "id_card": {"class": "direct_identifier", "pii_types": {"CN_ID_CARD": 1000},
                    "operator": "pseudonymize"},
        "phone": {"class": "direct_identifier", "pii_types": {"CN_PHONE": 998}, "operator": "drop"},
        "age_band": {"class": "quasi_identifier", "pii_types": {}, "operator": "generalize"},
        "province": {"class": "quasi_identifier", "pii_types": {}, "operator": "keep"},
        "income": {"class": "sensitive", "pii_types": {}, "operator": "keep"},
        "default": {"class": "other", "pii_types": {}, "operator": "keep"},
    },
    "k_anonymity": {"k": 7, "target": 5, "quasi_identifiers": ["age_band", "province"],
                    "suppressed": 12},
}

METRICS = {
    "test": {"auc": 0.78, "ks": 0.42, "accuracy": 0.81, "f1": 0.5, "brier": 0.13, "ece": 0.02},
    "val": {"auc": 0.77, "ks": 0.41},
    "baselines": {"logistic": {"test": {"auc": 0.74, "ks": 0.37}}},
    "psi_score_train_test": 0.01,
}

FAIRNESS = {
    "attributes": {
        "sex": {"by_group": {"F": {"selection_rate": 0.30, "auc": 0.77},
                             "M": {"selection_rate": 0.31, "auc": 0.78}},
                "demographic_parity_difference": 0.01, "equalized_odds_difference": 0.02,
                "four_fifths_flag": False},
    },
    "mitigation": {"method": None},
}


def _dump(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")


def build_run(run: Path, *, recipe=None, privacy=PRIVACY, metrics=METRICS, fairness=FAIRNESS,
              profile=PROFILE, explanations=True, audit=True) -> tuple[Path, dict]:
    """Write an evidence dir; pass None for a file to leave it out."""
    recipe = copy.deepcopy(recipe or CREDIT_RECIPE)
    run.mkdir(parents=True, exist_ok=True)
    for name, obj in [("data_profile.json", profile), ("privacy.json", privacy),
                      ("metrics.json", metrics), ("fairness.json", fairness)]:
        if obj is not None:
            _dump(run / name, obj)
    if explanations:
        _dump(run / "explanations" / "reason_codes.json", {"rows": [{"codes": ["income"]}]})
    (run / "model").mkdir(exist_ok=True)
    (run / "model" / "model.onnx").write_bytes(b"onnx")
    if audit:
        log = AuditLog(run / "audit.jsonl", root=run, operator="tester@host")
        outs = {"profile": run / "data_profile.json"} if profile is not None else {}
        log.append("load_data", params={"rows": 1000}, outputs=outs)
        log.append("train", params={"epochs": 2}, outputs={"model": run / "model"})
    return run, recipe


@pytest.fixture
def credit_run(tmp_path: Path) -> tuple[Path, dict]:
    return build_run(tmp_path / "run")


@pytest.fixture
def make_run(tmp_path: Path):
    """Factory: ``make_run(name="run", **overrides)`` → (run_dir, recipe)."""

    def make(name: str = "run", **kw):
        return build_run(tmp_path / name, **kw)

    return make


@pytest.fixture
def ev_data():
    """Deep copies of the default evidence documents, to modify in a test."""
    from types import SimpleNamespace

    return SimpleNamespace(**{k: copy.deepcopy(v) for k, v in [
        ("PRIVACY", PRIVACY), ("PROFILE", PROFILE), ("METRICS", METRICS), ("FAIRNESS", FAIRNESS),
        ("RECIPE", CREDIT_RECIPE)]})
