"""Rule packs: verdicts follow the evidence of real tiny runs (conftest.py); one pass and one
fail per pack."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from bentu.compliance.checks import CHECKS
from bentu.compliance.engine import _validate_rule, evaluate_compliance, list_packs, load_pack
from bentu.errors import ConfigError, RecipeError

ALL_PACKS = ["pipl", "cross_border", "gbt35273", "gbt37964", "jrt0171", "jrt0221", "nmpa",
             "eu_ai_act", "gdpr"]
ALL_PACKS += ["gbt45654", "gb45438"]  # LLM packs (checked in tests/llm)


def _verdicts(run: Path, recipe: dict, packs: list[str], lang: str = "en") -> dict[str, dict]:
    recipe = copy.deepcopy(recipe)
    recipe["locale"]["rules"] = packs
    out = evaluate_compliance(run, recipe, lang=lang)
    return {v["rule"]: v for v in out["verdicts"]}


def _with(recipe: dict, **governance) -> dict:
    recipe = copy.deepcopy(recipe)
    recipe["governance"].update(governance)
    return recipe


@pytest.fixture
def credit_copy(credit_run, tmp_path) -> tuple[Path, dict]:
    """A private copy of the real credit run that a test may change, and a copy of its recipe."""
    run, recipe = credit_run
    dst = tmp_path / "run"
    shutil.copytree(run, dst)
    return dst, copy.deepcopy(recipe)


@pytest.fixture
def make_run(credit_run):
    """The real credit run (read-only) and a private copy of its recipe."""
    return lambda: (credit_run[0], copy.deepcopy(credit_run[1]))


# ------------------------------------------------------------------------ the packs


def test_all_nine_packs_are_bundled_and_well_formed() -> None:
    assert sorted(list_packs()) == sorted(ALL_PACKS)
    ids = set()
    for name in ALL_PACKS:
        pack = load_pack(name)
        assert set(pack["law"]) == {"zh", "en"}
        for rule in pack["rules"]:
            assert rule["id"].startswith(name + ".") and rule["id"] not in ids
            ids.add(rule["id"])
            assert {"law", "article"} <= set(rule["citation"])
            assert set(rule["title"]) == set(rule["text"]) == {"zh", "en"}
            assert rule["check"]["name"] in CHECKS
            assert rule["basis"] in ("V", "S", "U")
    assert len(ids) >= 40


def test_unknown_pack_name_is_a_recipe_error_with_suggestions(make_run) -> None:
    run, recipe = make_run()
    recipe["locale"]["rules"] = ["pipl", "jrt0172"]
    with pytest.raises(RecipeError) as err:
        evaluate_compliance(run, recipe)
    assert str(err.value) == (
        "recipe key 'locale.rules' names an unknown rule pack 'jrt0172'. Did you mean: jrt0171, "
        "jrt0221? Available: cross_border, eu_ai_act, gb45438, gbt35273, gbt37964, gbt45654, gdpr, jrt0171, jrt0221, "
        "nmpa, pipl."
    )
    assert "规则包 'jrt0172' 不存在" in err.value.zh


def test_malformed_rule_names_file_rule_and_problem() -> None:
    rule = {"id": "x.r1", "citation": {}, "basis": "V", "title": {}, "text": {},
            "check": {"name": "field_equal", "args": {}}}
    with pytest.raises(ConfigError) as err:
        _validate_rule("x", rule, {})
    assert str(err.value) == "rule pack x.yaml, rule 'x.r1' names unknown check 'field_equal'."
    assert err.value.zh == "规则包 x.yaml 的规则 'x.r1' 引用了未知检查 'field_equal'。"
    rule["check"] = {"name": "field_equals", "args": {"ref": "a#/b"}}
    with pytest.raises(ConfigError, match=r"passes arguments \['ref'\] that check 'field_equals'"):
        _validate_rule("x", rule, {})
    for basis in ("", "VS", "v"):  # a substring of "VSU" is not a basis
        with pytest.raises(ConfigError) as err:
            _validate_rule("x", {**rule, "basis": basis}, {})
        assert str(err.value) == f"rule pack x.yaml, rule 'x.r1' basis must be V, S or U, got {basis!r}."


def test_compliance_json_shape_and_evidence_pointers(make_run) -> None:
    run, recipe = make_run()
    recipe["locale"]["rules"] = ["pipl", "jrt0221", "jrt0171"]
    out = evaluate_compliance(run, recipe, lang="en")
    json.dumps(out)  # serialisable as compliance.json
    s = out["summary"]
    assert s["total"] == len(out["verdicts"]) == sum(
        s[k] for k in ("pass", "fail", "needs_human_review", "not_applicable"))
    assert [p["name"] for p in out["packs"]] == ["pipl", "jrt0221", "jrt0171"]
    v = {x["rule"]: x for x in out["verdicts"]}["pipl.art51.deidentification"]
    assert v["verdict"] == "pass" and v["citation"] == {"law": "PIPL", "article": "Art. 51"}
    assert v["evidence"] == [{"ref": "privacy.json#/deidentified", "file": "privacy.json",
                              "pointer": "/deidentified", "present": True, "observed": True}]
    assert v["title"] == "De-identification as a security measure"
    assert v["i18n"]["title"]["zh"] == "采取去标识化等安全技术措施"
    zh = evaluate_compliance(run, recipe, lang="zh")
    assert {x["rule"]: x for x in zh["verdicts"]}["pipl.art51.deidentification"]["title"] == (
        "采取去标识化等安全技术措施")


def test_good_credit_run_has_no_failures(make_run) -> None:
    run, recipe = make_run()
    v = _verdicts(run, recipe, ["pipl", "jrt0221", "jrt0171", "gbt37964", "gbt35273",
                                "cross_border", "eu_ai_act", "gdpr"])
    failed = {k: x["reason"] for k, x in v.items() if x["verdict"] == "fail"}
    assert failed == {}


# ------------------------------------------------------------- what the issue asks for


def test_deidentification_off_fails_pipl(credit_run, imaging_run) -> None:
    flipped = ["pipl.art28.sensitive_pi_identified", "pipl.art51.deidentification"]
    on = _verdicts(*credit_run, ["pipl"])
    off = _verdicts(*imaging_run, ["pipl"])  # images: pixels only, privacy.pii is off
    assert [on[r]["verdict"] for r in flipped] == ["pass"] * 2
    assert [off[r]["verdict"] for r in flipped] == ["fail"] * 2
    assert off["pipl.art51.deidentification"]["reason"] == (
        "expected privacy.json#/deidentified = true; privacy.json#/deidentified = false")


def test_minors_without_guardian_consent_fail_pipl_art31(make_run) -> None:
    run, recipe = make_run()
    learning = dict(recipe, application="learning")
    rule = "pipl.art31.minors_guardian_consent"
    assert _verdicts(run, learning, ["pipl"])[rule]["verdict"] == "not_applicable"  # adults
    minors = _with(learning, subjects=["minors"], guardian_consent=False)
    v = _verdicts(run, minors, ["pipl"])[rule]
    assert v["verdict"] == "fail" and v["citation"]["article"] == "Art. 31"
    assert v["evidence"][0]["ref"] == "recipe.yaml#/governance/guardian_consent"
    assert v["evidence"][0]["observed"] is False
    consent = _with(learning, subjects=["minors"], guardian_consent=True)
    assert _verdicts(run, consent, ["pipl"])[rule]["verdict"] == "pass"


# -------------------------------------------------------- one pass and one fail per pack


def test_pipl_pass_and_fail(make_run) -> None:
    run, recipe = make_run()
    rule = "pipl.art24.human_review"
    assert _verdicts(run, recipe, ["pipl"])[rule]["verdict"] == "pass"
    assert _verdicts(run, _with(recipe, human_review=False), ["pipl"])[rule]["verdict"] == "fail"
    assert _verdicts(run, _with(recipe, human_review=None), ["pipl"])[rule]["verdict"] == "needs_human_review"


def test_pipl_does_not_apply_outside_china(make_run) -> None:
    run, recipe = make_run()
    recipe = copy.deepcopy(recipe)
    recipe["locale"]["region"] = "EU"
    assert {x["verdict"] for x in _verdicts(run, recipe, ["pipl"]).values()} == {"not_applicable"}


def test_cross_border_pass_fail_and_tiers(make_run) -> None:
    run, recipe = make_run()
    v = _verdicts(run, recipe, ["cross_border"])
    assert v["cross_border.locations_declared"]["verdict"] == "pass"
    assert v["cross_border.security_assessment"]["verdict"] == "not_applicable"
    served_abroad = _with(recipe, serving_location="SG")
    v = _verdicts(run, served_abroad, ["cross_border"])["cross_border.locations_declared"]
    assert v["verdict"] == "fail"
    assert v["reason"] == ("outside CN or undeclared, but no cross-border transfer declared: "
                           'recipe.yaml#/governance/serving_location = "SG"')

    def tiers(people: int, sensitive: int) -> tuple[str, str]:
        r = _with(recipe, serving_location="SG", cross_border={
            "enabled": True, "people_per_year": people, "sensitive_people_per_year": sensitive})
        v = _verdicts(run, r, ["cross_border"])
        assert v["cross_border.locations_declared"]["verdict"] == "pass"
        return (v["cross_border.security_assessment"]["verdict"],
                v["cross_border.standard_contract"]["verdict"])

    assert tiers(50_000, 0) == ("pass", "pass")  # exempt below 100,000 non-sensitive
    assert tiers(200_000, 0) == ("pass", "needs_human_review")
    assert tiers(50_000, 500) == ("pass", "needs_human_review")
    assert tiers(1_000_000, 0) == ("needs_human_review", "not_applicable")
    assert tiers(10_000, 10_000) == ("needs_human_review", "not_applicable")


def test_gbt35273_pass_and_fail(credit_copy) -> None:
    run, recipe = credit_copy
    rule = "gbt35273.11.3.processing_records"
    v = _verdicts(run, recipe, ["gbt35273"])
    assert v[rule]["verdict"] == "pass" and v[rule]["basis"] == "S"
    lines = (run / "audit.jsonl").read_text().splitlines(keepends=True)
    (run / "audit.jsonl").write_text(lines[1])  # first line deleted
    v = _verdicts(run, recipe, ["gbt35273"])[rule]
    assert v["verdict"] == "fail"
    assert v["reason"].startswith("line 1: prev_hash of the first line is not 64 zeros")
    # §6.3 content is unverified: never a hard verdict
    assert _verdicts(run, recipe, ["gbt35273"])["gbt35273.6.3.sensitive_storage"]["verdict"] == (
        "needs_human_review")


def test_gbt37964_pass_and_unverified_rule(make_run) -> None:
    run, recipe = make_run()
    v = _verdicts(run, recipe, ["gbt37964"])
    assert v["gbt37964.classify_identifiers"]["verdict"] == "pass"
    assert v["gbt37964.reidentification_risk"]["verdict"] == "pass"
    techniques = v["gbt37964.techniques"]
    assert (techniques["verdict"], techniques["check_outcome"]) == ("needs_human_review", "pass")


def test_jrt0171_does_not_apply_outside_credit(make_run) -> None:
    run, recipe = make_run()
    assert _verdicts(run, recipe, ["jrt0171"])["jrt0171.c3_not_plaintext"]["verdict"] == "pass"
    imaging = dict(recipe, application="imaging")
    assert {x["verdict"] for x in _verdicts(run, imaging, ["jrt0171"]).values()} == {"not_applicable"}


def test_jrt0221_pass_fail_and_review(credit_copy) -> None:
    run, recipe = credit_copy
    v = _verdicts(run, recipe, ["jrt0221"])
    assert {k: x["verdict"] for k, x in v.items()} == {
        "jrt0221.6.1.non_discrimination": "pass", "jrt0221.explainability": "pass",
        "jrt0221.accuracy": "pass", "jrt0221.6.3.dependencies": "needs_human_review",
        "jrt0221.6.4.training_data": "pass", "jrt0221.6.4.modelling": "pass",
        "jrt0221.6.4.hash_chain": "pass", "jrt0221.6.5.monitoring": "pass"}
    assert v["jrt0221.6.4.modelling"]["reason"] == "step 'train' recorded on line 5"
    for name in ("fairness.json", "audit.jsonl"):
        (run / name).unlink()
    shutil.rmtree(run / "explanations")
    v = _verdicts(run, recipe, ["jrt0221"])
    assert v["jrt0221.6.1.non_discrimination"]["verdict"] == "fail"
    assert v["jrt0221.6.1.non_discrimination"]["evidence"][0] == {
        "ref": "fairness.json#/attributes", "file": "fairness.json", "pointer": "/attributes",
        "present": False, "observed": None}
    assert v["jrt0221.explainability"]["verdict"] == "fail"
    assert v["jrt0221.6.4.hash_chain"]["reason"] == "audit.jsonl is absent"


def test_nmpa_pass_and_fail(imaging_run, credit_run) -> None:
    v = _verdicts(*imaging_run, ["nmpa"])
    assert v["nmpa.held_out_performance"]["verdict"] == "pass"
    assert v["nmpa.fn_fp_stated"]["verdict"] == "pass"
    assert v["nmpa.data_volume_curve"]["verdict"] == "pass"
    assert v["nmpa.version_naming"]["verdict"] == "needs_human_review"
    run, recipe = credit_run  # credit metrics judged as an imaging run: no data-volume curve
    v = _verdicts(run, dict(recipe, application="imaging"), ["nmpa"])
    assert v["nmpa.data_volume_curve"]["verdict"] == "fail"
    assert v["nmpa.data_volume_curve"]["reason"] == "not recorded: metrics.json#/data_volume"


def test_eu_ai_act_pass_and_fail(make_run) -> None:
    run, recipe = make_run()
    rule = "eu_ai_act.art14.human_oversight"
    v = _verdicts(run, recipe, ["eu_ai_act"])
    assert v[rule]["verdict"] == "pass"
    assert v["eu_ai_act.art12.logging"]["verdict"] == "pass"
    assert v["eu_ai_act.art12.retention"]["verdict"] == "needs_human_review"
    assert _verdicts(run, _with(recipe, human_review=False), ["eu_ai_act"])[rule]["verdict"] == (
        "fail")


def test_gdpr_pass_and_fail(credit_copy) -> None:
    run, recipe = credit_copy
    assert _verdicts(run, recipe, ["gdpr"])["gdpr.art22.contest"]["verdict"] == "pass"
    shutil.rmtree(run / "explanations")
    v = _verdicts(run, recipe, ["gdpr"])["gdpr.art22.contest"]
    assert v["verdict"] == "fail"
    assert v["reason"] == 'no explanations (recipe.yaml#/audit/explain = "shap"; explanations/ absent)'


def test_empty_run_dir_is_evidence_of_absence_not_an_error(tmp_path: Path, make_run) -> None:
    _, recipe = make_run()
    recipe["locale"]["rules"] = ALL_PACKS
    out = evaluate_compliance(tmp_path, recipe)
    assert out["summary"]["pass"] > 0  # recipe-only rules (human review, locations) still pass
    assert out["summary"]["fail"] >= 15


def test_every_pack_in_the_rules_folder_loads_with_typed_evidence() -> None:
    """Iterates the folder, so packs added later are checked too."""
    from importlib import resources

    folder = resources.files("bentu.compliance") / "rules"
    names = sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))
    assert names == sorted(list_packs()) and set(ALL_PACKS) <= set(names)
    for name in names:
        assert load_pack(name)["rules"], name


def test_rule_citing_evidence_outside_the_schema_fails_to_load() -> None:
    rule = {"id": "x.r1", "citation": {}, "basis": "V", "title": {}, "text": {},
            "check": {"name": "field_equals", "args": {"ref": "privacy.json#/k_anonymity/target", "value": 5}}}
    with pytest.raises(ConfigError) as err:
        _validate_rule("x", rule, {})
    assert str(err.value) == (
        "rule pack x.yaml, rule 'x.r1' cites evidence privacy.json#/k_anonymity/target that is not a field "
        "of the run directory's schema (see docs/run-directory.md).")
    rule["check"] = {"name": "fields_present", "args": {"refs": ["metrics.json#/dp/epsilon", "metrics.json#/test/auc"]}}
    _validate_rule("x", rule, {})  # the DP section is part of the schema
