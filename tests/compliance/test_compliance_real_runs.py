"""Compliance verdicts on real tiny runs (see conftest.py): a real recipe change flips them."""

from __future__ import annotations

import json

import pytest
import yaml
from _compliance_helpers import verdicts

from bentu.compliance.engine import evaluate_compliance

IDS = "jrt0171.not_encryption_only"
REVIEW_RULES = ["pipl.art24.human_review", "gdpr.art22.human_intervention", "eu_ai_act.art14.human_oversight"]


def _k_rule(run, recipe) -> dict:
    return verdicts(run, recipe, ["gbt37964"])["gbt37964.reidentification_risk"]


def test_identifier_kept_by_the_operator_policy_fails(csv_runs) -> None:
    good, changed = verdicts(*csv_runs["good"]), verdicts(*csv_runs["changed"])
    assert good[IDS]["verdict"] == "pass" and good[IDS]["reason"] == "3 direct identifier(s) de-identified"
    assert changed[IDS]["verdict"] == "fail"
    assert changed[IDS]["reason"] == "direct identifiers not de-identified: mobile (none)"
    # the unverified GB/T 37964 rule keeps the check's own outcome under a review verdict
    assert changed["gbt37964.techniques"]["check_outcome"] == "fail"
    assert good["gbt37964.techniques"]["check_outcome"] == "pass"


def test_builtin_credit_recipe_meets_its_target_k(credit_run) -> None:
    run, recipe = credit_run
    v = _k_rule(run, recipe)
    assert (v["verdict"], v["reason"]) == ("pass", "k = 5 ≥ target 5")
    assert v["evidence"][0]["ref"] == "privacy.json#/k_anonymity"
    assert v["evidence"][0]["observed"]["target_k"] == 5


def test_no_target_k_needs_review(csv_runs) -> None:
    v = _k_rule(*csv_runs["changed"])
    assert v["verdict"] == "needs_human_review"
    assert v["reason"].endswith("measured but no target k set (privacy.k_anonymity); a person must judge the risk")


def test_k_below_the_recipes_target_fails(credit_run) -> None:
    """The run reached k = 5; judged against a recipe asking for k = 10 it is below target.

    (The privacy step suppresses records until its target is met, so a run cannot end below
    the target it was given; the recipe a run is judged by can ask for more.)"""
    run, recipe = credit_run
    stricter = yaml.safe_load(yaml.safe_dump(recipe))
    stricter["privacy"]["k_anonymity"] = 10
    v = _k_rule(run, stricter)
    assert (v["verdict"], v["reason"]) == ("fail", "k = 5 below target 10")


def test_explanations_off_fails(csv_runs) -> None:
    rules = ["pipl.art24.explanation", "jrt0221.explainability", "gdpr.art22.contest"]
    good, changed = verdicts(*csv_runs["good"]), verdicts(*csv_runs["changed"])
    assert [good[r]["verdict"] for r in rules] == ["pass"] * 3
    assert [changed[r]["verdict"] for r in rules] == ["fail"] * 3
    assert changed["jrt0221.explainability"]["reason"] == (
        "no explanations (recipe.yaml#/audit/explain = null; explanations/ absent)")


def test_review_not_declared_needs_human_review(csv_runs, learning_run, credit_run) -> None:
    for run, recipe in (csv_runs["changed"], learning_run):
        v = verdicts(run, recipe)
        got = {r: v[r]["verdict"] for r in REVIEW_RULES if r in v}
        assert set(got.values()) == {"needs_human_review"}, got
        assert v["pipl.art24.human_review"]["reason"] == (
            "not declared in the recipe (recipe.yaml#/governance/human_review = null); a person must confirm it")
    declared = verdicts(*credit_run)
    assert [declared[r]["verdict"] for r in REVIEW_RULES] == ["pass"] * 3
    run, recipe = credit_run
    refused = yaml.safe_load(yaml.safe_dump(recipe))
    refused["governance"]["human_review"] = False
    assert [verdicts(run, refused)[r]["verdict"] for r in REVIEW_RULES] == ["fail"] * 3


def test_suppressed_password_is_not_plaintext(csv_runs) -> None:
    good, changed = verdicts(*csv_runs["good"]), verdicts(*csv_runs["changed"])
    rule = "jrt0171.c3_not_plaintext"
    assert (good[rule]["verdict"], good[rule]["reason"]) == ("pass", "1 matching column(s), none in plaintext")
    assert (changed[rule]["verdict"], changed[rule]["reason"]) == ("fail", "kept in plaintext: login_password (none)")


def test_image_pixels_without_a_pii_scan_fail_pipl(imaging_run) -> None:
    v = verdicts(*imaging_run)
    assert v["pipl.art28.sensitive_pi_identified"]["reason"] == 'no PII scan: privacy.json#/pii = "off"'
    assert v["pipl.art51.deidentification"]["verdict"] == "fail"
    assert v["pipl.art24.explanation"]["reason"] == "gradcam explanations: 5 file(s)"
    assert v["nmpa.fn_fp_stated"]["verdict"] == "pass"


def test_builtin_credit_run_has_no_failures_and_cites_no_unshipped_file(credit_run) -> None:
    run, _ = credit_run
    out = json.loads((run / "compliance.json").read_text(encoding="utf-8"))
    assert out["summary"]["fail"] == 0, [v["rule"] for v in out["verdicts"] if v["verdict"] == "fail"]
    assert "REFERENCE" not in json.dumps(out, ensure_ascii=False)
    pipl = {p["name"]: p for p in out["packs"]}["pipl"]
    assert pipl["source"].startswith("Personal Information Protection Law of the PRC")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_compliance_json_of_the_run_equals_a_fresh_evaluation(credit_run, lang) -> None:
    run, recipe = credit_run
    written = json.loads((run / "compliance.json").read_text(encoding="utf-8"))
    fresh = evaluate_compliance(run, recipe, lang=written["language"])
    assert fresh["summary"] == written["summary"]
    assert evaluate_compliance(run, recipe, lang=lang)["language"] == lang
