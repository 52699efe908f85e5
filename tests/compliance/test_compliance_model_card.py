"""Model cards (zh, en) of real tiny runs; missing evidence is said, not invented."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

from bentu.compliance import compliance_summary, evaluate_compliance, write_model_cards

PY_REPR = re.compile(r"\{'|'\}|\bNone\b|\bTrue\b|\bFalse\b|k / None")


def _card(run: Path, lang: str) -> str:
    return (run / f"model_card.{lang}.md").read_text(encoding="utf-8")


def test_cards_of_a_real_run_are_filled_and_have_no_python_reprs(credit_run) -> None:
    run, _ = credit_run
    en, zh = _card(run, "en"), _card(run, "zh")
    for heading in ["Model details", "Intended use", "Out-of-scope use", "Data and processing",
                    "Metrics", "Metrics by group", "Fairness", "Explanations", "Limitations",
                    "Compliance summary", "Energy"]:
        assert f"\n## {heading}\n" in en
    for heading in ["模型详情", "预期用途", "不适用的用途", "数据与处理", "指标", "分组指标", "公平性",
                    "可解释性", "局限性", "合规摘要", "能耗"]:
        assert f"\n## {heading}\n" in zh
    assert not PY_REPR.search(en), PY_REPR.search(en)
    assert not PY_REPR.search(zh), PY_REPR.search(zh)
    fairness = json.loads((run / "fairness.json").read_text(encoding="utf-8"))
    female = next(g for g in fairness["attributes"]["sex"]["groups"] if g["group"] == "female")
    assert f"| female | {female['n']} | {female['selection_rate']:.4g} |" in en  # group table filled
    assert f"| female | {female['n']} | {female['selection_rate']:.4g} |" in zh
    assert "- **k-anonymity (k / target)**: 5 / 5" in en and "- **k-匿名（k / 目标）**: 5 / 5" in zh
    assert "name (pseudonymised)" in en and "name (假名化)" in zh
    assert "not produced" not in en and "未产出" not in zh
    assert "REFERENCE" not in en + zh  # sources: the law texts, no file the package does not ship
    assert "| 测试集 | " in zh and "| 数据集 | AUC | KS | 准确率 |" in zh and "- **数据主体**: 成年人" in zh


def test_chinese_card_is_in_chinese_with_bilingual_recipe_texts(csv_runs) -> None:
    run, _ = csv_runs["good"]
    en, zh = _card(run, "en"), _card(run, "zh")
    zh_prose = "\n".join(line for line in zh.splitlines() if not line.startswith("|"))  # tables quote evidence
    assert "为信贷员提供违约概率排序，辅助授信决定" in zh_prose and "Ranking applicants" not in zh_prose
    assert "Ranking applicants by probability of default for credit officers" in en
    assert "- 仅在本行历史申请人数据上验证" in zh and "- Validated on this bank's past applicants only" in en
    assert "- **决定的人工复核**: 是" in zh and "- **Human review of decisions**: yes" in en
    # prose of the Chinese card: no English sentence outside identifiers, file names and tables
    prose = [line for line in zh.splitlines() if line and not line.startswith(("|", "#"))]
    english = [line for line in prose if re.search(r"\b[a-z]+ [a-z]+ [a-z]+\b", re.sub(r"`[^`]*`|\([^)]*\)", "", line))
               and not line.startswith(("- **模型设置**", "- **训练**", "- **软件环境**", "- **模型文件**", "- **文件**"))]
    assert english == []


def test_learning_card_reads_by_group_fairness(learning_run) -> None:
    run, _ = learning_run
    en = _card(run, "en")
    fairness = json.loads((run / "fairness.json").read_text(encoding="utf-8"))
    rural = fairness["attributes"]["group"]["by_group"]["rural"]
    assert f"| rural | {rural['n']} | {rural['auc']:.4g} | {rural['accuracy']:.4g} |" in en
    assert "- **Human review of decisions**: not declared (governance.human_review)" in en


def test_missing_evidence_is_stated_not_invented(tmp_path: Path, credit_run) -> None:
    recipe = copy.deepcopy(credit_run[1])
    recipe["governance"]["intended_use"] = None
    write_model_cards(tmp_path, recipe)
    en, zh = _card(tmp_path, "en"), _card(tmp_path, "zh")
    for file in ["data_profile.json", "privacy.json", "metrics.json", "fairness.json",
                 "explanations/", "compliance.json", "energy.json"]:
        assert f"Not produced in this run ({file} is absent)." in en
        assert f"本次运行未产出（缺少 {file}）。" in zh
    assert "Not declared in the recipe (governance.intended_use)." in en
    assert not re.search(r"\| test \|", en)  # no metric table without metrics.json


def test_compliance_summary_rows(credit_run) -> None:
    run, recipe = credit_run
    recipe = copy.deepcopy(recipe)
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
