"""Privacy layer: find Chinese personal information and de-identify it before anything trains.

- :func:`detect` / :class:`PiiEngine`: PII spans in text (registry of one detector per type).
- :func:`classify_table`: label columns direct / quasi-identifier / sensitive / other.
- operators: masking, keyed pseudonymisation, generalisation, suppression, replacement.
- :func:`k_anonymity`, :func:`generalize_to_k`: re-identification risk.
- :func:`run_privacy_gate`: the gate every recipe passes through.
"""

from bentu.privacy.detectors import (
    PII_TYPES,
    Detector,
    PiiEngine,
    Span,
    create_detector,
    detect,
    detect_batch,
    list_detectors,
    register_detector,
)
# Table-level pieces import pandas: load them on first use, so `bentu pii detect` starts fast.
_LAZY = {
    "run_privacy_gate": "bentu.privacy.gate", "generalize_to_k": "bentu.privacy.kanon",
    "k_anonymity": "bentu.privacy.kanon", "PseudonymKey": "bentu.privacy.operators",
    "generalize_address": "bentu.privacy.operators", "generalize_age": "bentu.privacy.operators",
    "generalize_date": "bentu.privacy.operators", "load_key": "bentu.privacy.operators",
    "mask": "bentu.privacy.operators", "pseudonymize": "bentu.privacy.operators",
    "replace": "bentu.privacy.operators", "Policy": "bentu.privacy.policy", "load_policy": "bentu.privacy.policy",
    "classify_column": "bentu.privacy.tables", "classify_table": "bentu.privacy.tables",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bentu.privacy' has no attribute {name!r}")


__all__ = [
    "PII_TYPES", "Detector", "PiiEngine", "Span", "create_detector", "detect", "detect_batch",
    "list_detectors", "register_detector", "run_privacy_gate", "generalize_to_k", "k_anonymity",
    "PseudonymKey", "generalize_address", "generalize_age", "generalize_date", "load_key", "mask",
    "pseudonymize", "replace", "Policy", "load_policy", "classify_column", "classify_table",
]
