"""AUDIT: metrics, fairness, explanations and drift of a run's model."""

from bentu.audit.drift import drift_report, reference_profile
from bentu.audit.explain import Explanation, explain_tabular
from bentu.audit.fairness import fairness_audit, mitigate
from bentu.audit.metrics import binary_metrics, calibration_curve, expected_calibration_error, ks_statistic, psi, roc_points

__all__ = ["Explanation", "binary_metrics", "calibration_curve", "drift_report", "expected_calibration_error",
           "explain_tabular", "fairness_audit", "ks_statistic", "mitigate", "psi", "reference_profile",
           "roc_points"]
