"""Report sections shared by every application: energy and compliance."""

from __future__ import annotations

from bentu.pipeline._context import RunContext

__all__ = ["energy_section", "compliance_section"]


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
    from bentu.compliance.report_section import compliance_summary

    s = ctx.report.section("compliance", ctx.tr("Compliance", "合规"))
    rows = compliance_summary(compliance, ctx.lang)
    counts = compliance.get("summary", {})
    if counts:
        zh = {"pass": "通过", "fail": "不通过", "needs_human_review": "需人工复核", "not_applicable": "不适用", "total": "合计"}
        s.kv({ctx.tr(k, zh.get(k, k)): v for k, v in counts.items() if not isinstance(v, (dict, list))})
    if rows:
        header = list(rows[0].keys())
        s.table(header, [[row[h] for h in header] for row in rows])
