"""Audit step names, named once (bentu.rundir.AUDIT_STEPS): what runs write and what rules ask for."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bentu.compliance.engine import _validate_rule, list_packs, load_pack
from bentu.errors import ConfigError
from bentu.rundir import AUDIT_STEPS, step_matches

SRC = Path(__file__).resolve().parents[2] / "src" / "bentu"


def _written_steps() -> dict[str, str]:
    """Every step literal passed to an ``….append(step, …)`` of an audit log, or to an
    application's ``self.record(step, …)``, in the package
    (an f-string counts by its literal prefix, e.g. ``train_{arm}`` → ``train_``)."""
    found = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("append", "record")
                    and node.args):
                continue
            owner = ast.unparse(node.func.value)
            if not (owner.endswith("audit") or "AuditLog(" in owner or owner == "self"):
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found[arg.value] = f"{path.relative_to(SRC)}:{node.lineno}"
            elif isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant):
                found[arg.values[0].value] = f"{path.relative_to(SRC)}:{node.lineno}"
    return found


def test_every_step_a_run_writes_is_a_known_step():
    written = _written_steps()
    assert {"load_data", "privacy_gate", "train", "evaluate", "train_federated", "train_"} <= set(written)
    unknown = {s: where for s, where in written.items()
               if s not in AUDIT_STEPS and not any(step_matches(s.rstrip("_") + "_x" if s.endswith("_") else s, k)
                                                   for k in AUDIT_STEPS)}
    assert unknown == {}


def test_kinds_of_a_step_match_it_and_distinct_steps_do_not():
    assert step_matches("train", "train") and step_matches("train_federated", "train")
    assert step_matches("train_transfer", "train")
    assert not step_matches("explain_gradcam", "explain")  # a step of its own
    assert not step_matches("trainer", "train") and not step_matches("evaluate", "train")


def test_every_shipped_rule_asks_for_a_known_step():
    asked = [r["check"]["args"]["step"] for p in list_packs() for r in load_pack(p)["rules"]
             if "step" in (r["check"].get("args") or {})]
    assert asked and set(asked) <= set(AUDIT_STEPS)


def test_a_rule_asking_for_an_unknown_step_does_not_load():
    rule = {"id": "x.r1", "citation": {}, "basis": "V", "title": {}, "text": {},
            "check": {"name": "audit_step_recorded", "args": {"step": "metrics", "fields": ["time"]}}}
    with pytest.raises(ConfigError) as err:
        _validate_rule("x", rule, {})
    assert str(err.value).startswith("rule pack x.yaml, rule 'x.r1' asks for audit step 'metrics', which no bentu run "
                                     "records (steps: start, load_data, privacy_gate,")
    assert "要求的审计步骤 'metrics' 不会出现在任何 bentu 运行中" in err.value.zh
