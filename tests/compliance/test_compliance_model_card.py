"""Model cards (zh, en) come from the run's evidence; missing evidence is said, not invented."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bentu.compliance import compliance_summary, evaluate_compliance, write_model_cards


def _card(run: Path, recipe: dict, lang: str) -> str:
    return (run / f"model_card.{lang}.md").read_text(encoding="utf-8")


def test_cards_are_written_from_the_evidence(credit_run) -> None:
    run, recipe = credit_run
    (run / "compliance.json").write_text(json.dumps(evaluate_compliance(run, recipe)))
    (run / "energy.json").write_text(json.dumps({
        "duration_s": 12.5, "energy_kwh": 0.000123, "co2_kg": 7.16e-05,
        "grid_intensity_g_per_kwh": 582.317, "method": "codecarbon", "power_is_estimate": True,
        "estimate_note": {"en": "CPU power estimated (no RAPL).", "zh": "CPU 功耗为估算（无 RAPL）。"}}))
    paths = write_model_cards(run, recipe)
    assert paths == [run / "model_card.zh.md", run / "model_card.en.md"]
    en, zh = _card(run, recipe, "en"), _card(run, recipe, "zh")
    for heading in ["Model details", "Intended use", "Out-of-scope use", "Data and processing",
                    "Metrics", "Metrics by group", "Fairness", "Explanations", "Limitations",
                    "Compliance summary", "Energy"]:
        assert f"\n## {heading}\n" in en
    for heading in ["模型详情", "预期用途", "不适用的用途", "数据与处理", "指标", "分组指标", "公平性",
                    "可解释性", "局限性", "合规摘要", "能耗"]:
        assert f"\n## {heading}\n" in zh
    assert "| test | 0.78 | 0.42 | 0.81 | 0.5 | 0.13 | 0.02 |" in en
    assert "| F | 0.77 | 0.3 |" in en  # by group, from fairness.json
    assert "consumer credit pre-screening with human review" in en
    assert "- **k-anonymity (k / target)**: 7 / 5" in en
    assert "- **Energy (kWh)**: 0.000123" in en and "CPU 功耗为估算（无 RAPL）。" in zh
    assert "| pipl.art51.deidentification | PIPL Art. 51 [S] | De-identification as a security " \
           "measure | pass | privacy.json#/deidentified = true |" in en
    assert "| 规则 | 出处 | 要求 | 结论 | 证据 |" in zh and "| 通过 |" in zh
    assert "not produced" not in en


def test_missing_evidence_is_stated_not_invented(tmp_path: Path, credit_run) -> None:
    _, recipe = credit_run
    recipe["governance"]["intended_use"] = None
    write_model_cards(tmp_path, recipe)
    en, zh = _card(tmp_path, recipe, "en"), _card(tmp_path, recipe, "zh")
    for file in ["data_profile.json", "privacy.json", "metrics.json", "fairness.json",
                 "explanations/", "compliance.json", "energy.json"]:
        assert f"Not produced in this run ({file} is absent)." in en
        assert f"本次运行未产出（缺少 {file}）。" in zh
    assert "Not declared in the recipe (governance.intended_use)." in en
    assert not re.search(r"\| test \|", en)  # no metric table without metrics.json


def test_compliance_summary_rows(credit_run) -> None:
    run, recipe = credit_run
    recipe["locale"]["rules"] = ["pipl"]
    recipe["governance"]["human_review"] = False
    compliance = evaluate_compliance(run, recipe, lang="en")
    rows = compliance_summary(compliance, "zh")
    assert list(rows[0]) == ["规则", "出处", "要求", "结论", "证据"]
    assert rows[0] == {
        "规则": "pipl.art24.human_review", "出处": "PIPL Art. 24",
        "要求": "可拒绝仅由自动化决策作出的决定（人工复核通道）", "结论": "不通过",
        "证据": "recipe.yaml#/governance/human_review = false"}
    en = compliance_summary(compliance, "en", include_not_applicable=False)
    assert [r["verdict"] for r in en][:1] == ["fail"]
    assert "not applicable" not in {r["verdict"] for r in en}
    assert len(compliance_summary(compliance, "en")) == len(compliance["verdicts"])
