"""Compliance layer: rule packs as data, checks over a run's evidence, model cards, audit log."""

from bentu.compliance.audit_log import AuditLog, VerifyReport, verify_run
from bentu.compliance.checks import CHECKS, register_check
from bentu.compliance.engine import evaluate_compliance, list_packs, load_pack
from bentu.compliance import llm_checks  # noqa: F401  (registers the LLM assessment checks)
from bentu.compliance.model_card import render_model_card, write_model_cards
from bentu.compliance.report_section import compliance_summary

__all__ = [
    "AuditLog",
    "VerifyReport",
    "verify_run",
    "evaluate_compliance",
    "list_packs",
    "load_pack",
    "CHECKS",
    "register_check",
    "write_model_cards",
    "render_model_card",
    "compliance_summary",
]
