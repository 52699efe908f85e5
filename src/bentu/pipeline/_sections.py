"""Report sections shared by every application: sign-off, privacy, energy and compliance."""

from __future__ import annotations

from bentu.pipeline._context import RunContext
from bentu.i18n import is_zh

__all__ = ["energy_section", "compliance_section", "signoff_section", "privacy_section"]


def energy_section(ctx: RunContext) -> None:
    e = ctx.evidence.get("energy", {})
    s = ctx.report.section("energy", ctx.tr("Energy and CO₂", "能耗与碳排放"))
    s.kv({
        ctx.tr("duration (s)", "时长（秒）"): e.get("duration_s"),
        ctx.tr("energy (kWh)", "能耗（千瓦时）"): e.get("energy_kwh"),
        ctx.tr("CO₂ (kg)", "二氧化碳（千克）"): e.get("co2_kg"),
        ctx.tr("country grid", "电网区域"): e.get("country"),
    })
    if e.get("power_is_estimate"):
        note = e.get("estimate_note") or {}
        s.note(note.get(ctx.lang) if isinstance(note, dict) and note.get(ctx.lang) else ctx.tr(
            "Power is an estimate: this machine exposes no measured CPU power (no RAPL).",
            "功率为估算值：本机没有可测量的 CPU 功率（无 RAPL）。"))


def compliance_section(ctx: RunContext, compliance: dict) -> None:
    """The rule-by-rule checklist: verdict, requirement, what was checked, where it is written."""
    s = ctx.report.section("compliance", ctx.tr("Compliance", "合规"))
    counts = compliance.get("summary", {})
    if counts:
        s.kv({_VERDICT[k][ctx.lang] if k in _VERDICT else ctx.tr("total", "合计"): v for k, v in counts.items()
              if not isinstance(v, (dict, list))})
    order = {k: i for i, k in enumerate(_VERDICT)}
    rows = []
    for v in sorted(compliance.get("verdicts", []), key=lambda v: order.get(v.get("verdict"), 9)):
        i18n = v.get("i18n") or {}
        title = (i18n.get("title") or {}).get(ctx.lang) or v.get("title", "")
        reason = (i18n.get("reason") or {}).get(ctx.lang) or v.get("reason", "")
        cite = v.get("citation") or {}
        basis = ctx.tr(" (secondary source)", "（二手资料）") if v.get("basis") == "S" else \
            ctx.tr(" (unverified)", "（未核实）") if v.get("basis") == "U" else ""
        refs = "; ".join(str(e.get("ref")) for e in v.get("evidence") or [])
        verdict = v.get("verdict", "")
        rows.append({"verdict": verdict, "label": _VERDICT.get(verdict, {}).get(ctx.lang, verdict),
                     "cells": [title, reason, f"{cite.get('law', '')} {cite.get('article', '')}".strip() + basis,
                               f"{v.get('rule')} · {refs}"], "small_last": True})
    if rows:
        s.checklist([ctx.tr("verdict", "结论"), ctx.tr("requirement", "要求"), ctx.tr("what was checked", "检查结果"),
                     ctx.tr("source", "出处"), ctx.tr("rule · evidence", "规则 · 证据")], rows)


def signoff_section(ctx: RunContext, compliance: dict) -> dict:
    """The sign-off block at the top of the report: ready for review or blocked, and who must act."""
    from bentu.compliance.signoff import signoff

    gov = ctx.recipe.governance
    result = signoff(compliance, reviewers=dict(gov.reviewers), warnings=ctx.evidence.get("warnings", []), lang=ctx.lang)
    s = ctx.report.section("signoff", ctx.tr("Sign-off", "签署结论"), first=True)
    n_fail, n_review = result["counts"]["fail"], result["counts"]["needs_human_review"]
    if result["status"] == "blocked":
        s.verdict("blocked", ctx.tr("BLOCKED — not ready for approval", "未通过——暂不可批准"), ctx.tr(
            f"{n_fail} requirement(s) fail; fix them and run again. {n_review} more item(s) need a reviewer's decision.",
            f"有 {n_fail} 项要求未满足，须修正后重新运行；另有 {n_review} 项需审核人作出决定。"))
    else:
        s.verdict("ready_for_review", ctx.tr("READY FOR REVIEW", "可提交审核"), ctx.tr(
            f"No requirement fails. {n_review} item(s) need a reviewer's decision before sign-off.",
            f"没有未满足的要求。签署前仍有 {n_review} 项需审核人作出决定。"))
    if result["items"]:
        unassigned = ctx.tr("unassigned — set governance.reviewers.{role}", "未指定——请设置 governance.reviewers.{role}")
        rows = [{"verdict": i["verdict"], "label": _VERDICT[i["verdict"]][ctx.lang],
                 "cells": [i["requirement"], f"{i['role_name']}: {i['person'] or unassigned.format(role=i['role'])}",
                           i["action"], i["rule"]], "small_last": True} for i in result["items"]]
        s.checklist([ctx.tr("verdict", "结论"), ctx.tr("requirement", "要求"), ctx.tr("who must act", "责任人"),
                     ctx.tr("what to do", "须做什么"), ctx.tr("rule", "规则")], rows)
    signer = ctx.tr("Reviewed and signed by (name, role, date): ______________________",
                    "审核签字（姓名、职务、日期）：______________________")
    s.paragraph(signer)
    return result


_VERDICT = {
    "fail": {"en": "fail", "zh": "不通过"},
    "needs_human_review": {"en": "needs review", "zh": "需人工复核"},
    "pass": {"en": "pass", "zh": "通过"},
    "not_applicable": {"en": "not applicable", "zh": "不适用"},
}


def privacy_section(ctx: RunContext, privacy: dict) -> None:
    """What the privacy step found and did: identifiers treated, k-anonymity, rows suppressed."""
    from bentu.report.glossary import Namer

    name = Namer(ctx.lang, ctx.recipe.data.display_names)
    s = ctx.report.section("privacy", ctx.tr("Privacy", "个人信息保护"))
    if privacy.get("pii") == "off":
        s.note(ctx.tr("The PII scan was switched off (privacy.pii: off): no column was checked for personal information.",
                      "已关闭个人信息扫描（privacy.pii: off）：没有任何列经过个人信息检查。"))
    cls = {"direct_identifier": ("direct identifier", "直接标识符"), "quasi_identifier": ("quasi-identifier", "准标识符"),
           "sensitive": ("sensitive", "敏感信息"), "other": ("other", "其他")}
    ops = {"pseudonymize": ("pseudonymised (keyed)", "假名化（带密钥）"), "suppress": ("removed", "删除"),
           "mask": ("masked", "遮盖"), "none": ("kept", "保留"), "generalize": ("generalised", "泛化"),
           "drop": ("removed", "删除"), "hash": ("hashed", "哈希")}
    rows = []
    for col, c in (privacy.get("columns") or {}).items():
        if c.get("class") in (None, "other"):
            continue
        op = c.get("operator")
        op = op.get("op") if isinstance(op, dict) else op
        types = ", ".join(sorted(c.get("pii_types") or {})) or "—"
        label = cls.get(c["class"], (c["class"], c["class"]))
        rows.append([name(col), ctx.tr(*label), types, ctx.tr(*ops.get(str(op), (str(op), str(op))))])
    if rows:
        s.table([ctx.tr("column", "列"), ctx.tr("class", "类别"), ctx.tr("PII found", "发现的个人信息"),
                 ctx.tr("treatment", "处理方式")], rows)
    k = privacy.get("k_anonymity") or {}
    if k:
        before, after = k.get("before") or {}, k.get("after") or {}
        n_in, supp = privacy.get("rows_in"), k.get("records_suppressed", privacy.get("records_suppressed", 0))
        qi = "、".join(map(name, k.get("quasi_identifiers") or [])) if is_zh(ctx.lang) else \
            ", ".join(map(name, k.get("quasi_identifiers") or []))
        gen = ", ".join(map(name, k.get("generalised_columns") or [])) or "—"
        s.kv({ctx.tr("target k", "目标 k"): k.get("target_k"), ctx.tr("k before → after", "处理前 → 后的 k"):
              f"{before.get('k')} → {after.get('k', k.get('k'))}", ctx.tr("quasi-identifiers", "准标识符"): qi,
              ctx.tr("generalised columns", "泛化的列"): gen, ctx.tr("rows in", "输入行数"): n_in,
              ctx.tr("rows suppressed", "被删除的行"): supp})
        if supp and n_in:
            s.note(ctx.tr(f"{supp:,} of {n_in:,} rows ({supp / n_in:.1%}) were suppressed to reach k = {k.get('target_k')}; "
                          "the model was trained and tested on the rest. Check that the suppressed rows do not "
                          "remove a group the model must serve.",
                          f"为达到 k = {k.get('target_k')}，{n_in:,} 行中有 {supp:,} 行（{supp / n_in:.1%}）被删除；"
                          "模型在其余行上训练和测试。请确认被删除的行不会使模型失去必须服务的人群。"))
    if privacy.get("note"):
        s.note(str(privacy["note"]))
