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
from bentu.privacy.gate import run_privacy_gate
from bentu.privacy.kanon import generalize_to_k, k_anonymity
from bentu.privacy.operators import (
    PseudonymKey,
    generalize_address,
    generalize_age,
    generalize_date,
    load_key,
    mask,
    pseudonymize,
    replace,
)
from bentu.privacy.policy import Policy, load_policy
from bentu.privacy.tables import classify_column, classify_table

__all__ = [
    "PII_TYPES", "Detector", "PiiEngine", "Span", "create_detector", "detect", "detect_batch",
    "list_detectors", "register_detector", "run_privacy_gate", "generalize_to_k", "k_anonymity",
    "PseudonymKey", "generalize_address", "generalize_age", "generalize_date", "load_key", "mask",
    "pseudonymize", "replace", "Policy", "load_policy", "classify_column", "classify_table",
]
