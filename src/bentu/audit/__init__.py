"""AUDIT: metrics, fairness, explanations and drift of a run's model."""

from bentu.audit.metrics import binary_metrics, calibration_curve, expected_calibration_error, ks_statistic, psi, roc_points

__all__ = ["binary_metrics", "calibration_curve", "expected_calibration_error", "ks_statistic", "psi", "roc_points"]
