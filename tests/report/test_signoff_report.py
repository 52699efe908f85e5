"""The report a risk officer signs, on real tiny credit runs: the sign-off block, the credit views,
the privacy section, the checklist, display names, and Chinese that renders without CJK fonts."""

from __future__ import annotations

import base64
import html as htmllib
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from fontTools.ttLib import TTFont

from bentu.audit.scorecard import cutoff_table, gains_table, information_value
from bentu.pipeline import run_recipe
from bentu.recipe import load_recipe

TINY = ["data.options.n_rows=3000", "train.epochs=2"]


def _run(tmp_path_factory, name, *overrides, lang="zh"):
    out = tmp_path_factory.mktemp(name) / "run"
    recipe = load_recipe("credit", [*TINY, *overrides])
    return run_recipe(recipe, out=out, lang=lang, progress=False)


@pytest.fixture(scope="module")
def zh_run(tmp_path_factory):
    return _run(tmp_path_factory, "zh", "governance.reviewers={model_risk: 王经理（模型风险部）}")


@pytest.fixture(scope="module")
def blocked_run(tmp_path_factory):
    return _run(tmp_path_factory, "blocked", "audit.explain=null", lang="en")


def _html(run):
    return (run / "report.html").read_text(encoding="utf-8")


def _visible_text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"data:[^\"')]+", "", page)))


def test_signoff_block_is_first_and_names_who_must_act(zh_run):
    page = _html(zh_run)
    sections = re.findall(r'<section id="([^"]+)"', page)
    assert sections[0] == "signoff"
    signoff = json.loads((zh_run / "compliance.json").read_text())["signoff"]
    assert signoff["status"] == "ready_for_review" and signoff["counts"]["fail"] == 0
    assert signoff["counts"]["needs_human_review"] == len(signoff["items"]) > 0
    first = page[page.index('<section id="signoff"'):page.index("</section>")]
    assert "可提交审核" in first and "审核签字" in first
    named = [i for i in signoff["items"] if i["role"] == "model_risk"]
    assert named and all(i["person"] == "王经理（模型风险部）" for i in named)
    assert "王经理（模型风险部）" in first
    # roles nobody is named for say so, with the key to set
    assert "privacy" in signoff["unassigned_roles"]
    assert "governance.reviewers.privacy" in first


def test_a_failing_rule_blocks_the_run(blocked_run):
    signoff = json.loads((blocked_run / "compliance.json").read_text())["signoff"]
    assert signoff["status"] == "blocked"
    fails = [i for i in signoff["items"] if i["verdict"] == "fail"]
    assert "pipl.art24.explanation" in {i["rule"] for i in fails}
    assert signoff["items"][0]["verdict"] == "fail"  # failures first
    page = _html(blocked_run)
    assert "BLOCKED — not ready for approval" in page


def test_credit_views_are_in_metrics_and_report(zh_run):
    m = json.loads((zh_run / "metrics.json").read_text())
    sc = m["scorecard"]
    assert [g["band"] for g in sc["gains"]] == list(range(1, 11))
    assert sum(g["n"] for g in sc["gains"]) == m["test"]["n"]
    assert sc["gains"][-1]["cum_bad_capture"] == pytest.approx(1.0)
    c = sc["confusion"]
    assert (c["tp"], c["fp"], c["fn"], c["tn"]) == (m["test"]["tp"], m["test"]["fp"], m["test"]["fn"], m["test"]["tn"])
    chosen = [r for r in sc["cutoffs"] if r["chosen"]]
    assert len(chosen) == 1 and chosen[0]["cutoff"] == pytest.approx(m["threshold"]["value"])
    assert {f["feature"] for f in sc["iv"]} >= {"monthly_income", "n_late_payments_6m"}
    page = _html(zh_run)
    for text in ("收益表", "截断策略", "混淆矩阵", "信息值", "交叉分组"):
        assert text in page, text


def test_privacy_section_says_how_many_rows_were_suppressed(zh_run):
    privacy = json.loads((zh_run / "privacy.json").read_text())
    supp = privacy["k_anonymity"]["records_suppressed"]
    assert supp > 0
    page = _html(zh_run)
    sec = page[page.index('<section id="privacy"'):]
    sec = sec[:sec.index("</section>")]
    assert f"{supp:,}" in sec and "身份证号" in sec and "假名化" in sec


def test_zh_report_speaks_chinese(zh_run):
    page = _html(zh_run)
    text = _visible_text(page)
    # feature, model and group names from the glossary; no English table headers
    for zh in ("月收入", "多层感知机", "逻辑回归", "性别", "模型"):
        assert zh in text, zh
    assert "Simulated multi-lender" not in text  # the recipe's zh description
    assert ">model<" not in page and "train s" not in text


def test_baseline_that_beats_the_model_is_a_review_item(zh_run):
    m = json.loads((zh_run / "metrics.json").read_text())
    better = [n for n, b in m["baselines"].items() if b["val"]["auc"] > m["val"]["auc"]]
    items = json.loads((zh_run / "compliance.json").read_text())["signoff"]["items"]
    assert sorted(i["rule"] for i in items if i["rule"].startswith("baseline_beats_model.")) == \
        sorted(f"baseline_beats_model.{n}" for n in better)


def test_embedded_font_draws_every_chinese_character_of_the_page(zh_run):
    page = _html(zh_run)
    assert "http://" not in page and "https://" not in page
    fonts = re.findall(r"src:url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)", page)
    assert len(fonts) == 1
    cmap = TTFont(io.BytesIO(base64.b64decode(fonts[0]))).getBestCmap()
    han = {c for c in _visible_text(page) if "\u4e00" <= c <= "\u9fff"}
    assert len(han) > 200
    assert sorted(c for c in han if ord(c) not in cmap) == []


def test_gains_and_cutoffs_against_a_hand_count():
    y = np.array([1, 1, 0, 1, 0, 0, 0, 0, 1, 0])
    s = np.array([.9, .8, .7, .6, .5, .4, .3, .2, .1, .05])
    g = gains_table(y, s, n_bands=5)
    assert [r["bads"] for r in g] == [2, 1, 0, 0, 1]
    assert [r["cum_bad_capture"] for r in g] == [0.5, 0.75, 0.75, 0.75, 1.0]
    assert g[0]["lift"] == pytest.approx(1.0 / 0.4)
    (row,) = cutoff_table(y, s, cutoffs=[0.55])
    assert row["approval_rate"] == 0.6 and row["bad_rate_approved"] == pytest.approx(1 / 6)
    assert row["bads_caught"] == 0.75


def test_information_value_matches_the_formula():
    df = pd.DataFrame({"c": ["a"] * 6 + ["b"] * 4})
    y = np.array([1, 1, 1, 0, 0, 0, 1, 0, 0, 0])
    (iv,) = information_value(df, y, ["c"], ["c"])
    pb, pg = np.array([3 / 4, 1 / 4]), np.array([3 / 6, 3 / 6])
    assert iv["iv"] == pytest.approx(float(np.sum((pg - pb) * np.log(pg / pb))))
    assert {b["bin"]: b["n"] for b in iv["bins"]} == {"a": 6, "b": 4}
