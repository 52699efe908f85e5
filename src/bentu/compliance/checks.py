"""Named checks over a run's evidence; rule packs refer to them by name.

A check is ``fn(ev: Evidence, **args) -> Outcome``. It reads fields with ``ev.get("file#/ptr")``
and returns a verdict with the fields it looked at, so every verdict names its evidence. A
missing file or field counts as the evidence being absent. Register a new check with
``@register_check("name", reads=[...])``, listing the typed evidence (``file#/pointer``, see
:mod:`bentu.rundir`) it reads; a rule pack that uses the check fails to load when one of those
pointers, or one passed in its ``ref``/``refs`` arguments, is not a field of the artifact's
schema. Rule YAML uses ``check: {name: ..., args: {...}}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from bentu.compliance.audit_log import verify_run
from bentu.compliance.evidence import Evidence, Observed
from bentu.rundir import read_audit_records, step_matches

__all__ = ["Outcome", "CHECKS", "CHECK_READS", "register_check", "PASS", "FAIL", "REVIEW", "NA", "VERDICTS"]

PASS, FAIL, REVIEW, NA = "pass", "fail", "needs_human_review", "not_applicable"
VERDICTS = (PASS, FAIL, REVIEW, NA)


@dataclass
class Outcome:
    """A check's result: verdict, reason in en and zh, and the evidence fields it read."""

    verdict: str
    en: str
    zh: str
    evidence: list[Observed] = field(default_factory=list)


CheckFn = Callable[..., Outcome]
CHECKS: dict[str, CheckFn] = {}
#: The typed evidence (``file#/pointer``) each check reads, besides its ``ref``/``refs`` args.
CHECK_READS: dict[str, tuple[str, ...]] = {}


def register_check(name: str, *, reads: tuple[str, ...] | list[str] = ()) -> Callable[[CheckFn], CheckFn]:
    """Decorator: add a check to :data:`CHECKS` under ``name``; ``reads`` lists its evidence."""

    def deco(fn: CheckFn) -> CheckFn:
        if name in CHECKS:
            raise KeyError(f"check {name!r} is already registered")
        CHECKS[name] = fn
        CHECK_READS[name] = tuple(reads)
        return fn

    return deco


def _show(obs: Observed) -> str:
    return f"{obs.ref} = {_value(obs.value)}" if obs.present else f"{obs.ref} is absent"


def _value(v: Any) -> str:
    """A value as JSON shows it (``true``, ``null``, ``"auto"``), never a Python repr."""
    return json.dumps(v, ensure_ascii=False, default=str)


def _op(column: Any) -> str | None:
    """The operator name of a ``privacy.json`` column entry (``{"operator": {"op": ...}}``)."""
    operator = column.get("operator") if isinstance(column, dict) else None
    return operator.get("op") if isinstance(operator, dict) else operator


# ----------------------------------------------------------------------------- generic


@register_check("field_equals")
def field_equals(ev: Evidence, *, ref: str, value: Any) -> Outcome:
    """Pass when the field holds ``value``; fail when it differs or is absent."""
    obs = ev.get(ref)
    if obs.present and obs.value == value:
        return Outcome(PASS, f"{obs.ref} = {_value(value)}", f"{obs.ref} = {_value(value)}", [obs])
    return Outcome(FAIL, f"expected {obs.ref} = {_value(value)}; {_show(obs)}",
                   f"应为 {obs.ref} = {_value(value)}；实际 {_show(obs)}", [obs])


@register_check("declared_true")
def declared_true(ev: Evidence, *, ref: str) -> Outcome:
    """A governance fact of the recipe: pass when declared true, fail when declared false,
    needs human review when the recipe does not declare it (null or absent) — never pass."""
    obs = ev.get(ref)
    if obs.present and obs.value is True:
        return Outcome(PASS, f"{obs.ref} = true", f"{obs.ref} = true", [obs])
    if obs.present and obs.value is False:
        return Outcome(FAIL, f"{obs.ref} = false", f"{obs.ref} = false", [obs])
    return Outcome(REVIEW, f"not declared in the recipe ({_show(obs)}); a person must confirm it",
                   f"配方未声明（{_show(obs)}）；需人工确认", [obs])


@register_check("fields_present")
def fields_present(ev: Evidence, *, refs: list[str]) -> Outcome:
    """Pass when every field exists and is not null/empty."""
    seen = [ev.get(r) for r in refs]
    absent = [o.ref for o in seen if not o.present or o.value in (None, "", [], {})]
    if not absent:
        return Outcome(PASS, "all recorded: " + ", ".join(refs), "均有记录：" + ", ".join(refs), seen)
    return Outcome(FAIL, "not recorded: " + ", ".join(absent), "缺少记录：" + ", ".join(absent), seen)


@register_check("manual_review")
def manual_review(ev: Evidence, *, refs: list[str] | None = None, why: dict | None = None) -> Outcome:
    """Always needs a person: the run can show related fields, not the fact itself."""
    why = why or {"en": "a person must confirm this; the run cannot evidence it",
                  "zh": "需人工确认；运行本身无法提供证据"}
    return Outcome(REVIEW, why["en"], why["zh"], [ev.get(r) for r in refs or []])


# ------------------------------------------------------------------------------ privacy


def _corpus_scanned(ev: Evidence) -> tuple[Outcome | None, list[Observed]]:
    """For a text corpus (llm_tuning): PASS when the gate scanned every record, else None."""
    scanned, records = ev.get("privacy.json#/corpus/automated_check/scanned"), ev.get("privacy.json#/corpus/records")
    if not (scanned.present and records.present):
        return None, [scanned, records]
    if isinstance(scanned.value, int) and scanned.value >= records.value > 0:
        return Outcome(PASS, f"the corpus gate scanned all {records.value} records for PII",
                       f"语料关卡已对全部 {records.value} 条记录做个人信息扫描", [scanned, records]), [scanned, records]
    return Outcome(FAIL, f"the corpus gate scanned {scanned.value} of {records.value} records",
                   f"语料关卡只扫描了 {records.value} 条中的 {scanned.value} 条", [scanned, records]), [scanned, records]


@register_check("pii_scan_done", reads=["privacy.json#/pii", "privacy.json#/columns",
                                       "privacy.json#/corpus/automated_check/scanned", "privacy.json#/corpus/records"])
def pii_scan_done(ev: Evidence) -> Outcome:
    """Pass when the PII scan ran (``privacy.json#/pii`` is auto) and classified columns, or, for a
    text corpus, when the corpus gate scanned every record."""
    mode, cols = ev.get("privacy.json#/pii"), ev.get("privacy.json#/columns")
    corpus, _ = _corpus_scanned(ev)
    if mode.value == "auto" and corpus is not None:
        return corpus
    if mode.value == "auto" and cols.present and cols.value:
        return Outcome(PASS, f"PII scan ran over {len(cols.value)} columns",
                       f"已对 {len(cols.value)} 列做个人信息扫描", [mode, cols])
    return Outcome(FAIL, f"no PII scan: {_show(mode)}", f"未做个人信息扫描：{_show(mode)}", [mode, cols])


@register_check("columns_classified", reads=["data_profile.json#/columns", "privacy.json#/columns",
                                            "privacy.json#/corpus/automated_check/scanned", "privacy.json#/corpus/records",
                                            "privacy.json#/corpus/pii_found"])
def columns_classified(ev: Evidence, *, classes: list[str]) -> Outcome:
    """Pass when every data column has a class in ``privacy.json#/columns``; for a text corpus,
    when the gate scanned every record and named the PII types it found."""
    corpus, obs = _corpus_scanned(ev)
    if corpus is not None:
        found = ev.get("privacy.json#/corpus/pii_found")
        if corpus.verdict != PASS or not found.present:
            return corpus
        shown = ", ".join(f"{k} {v}" for k, v in (found.value or {}).items()) or "none"
        return Outcome(PASS, f"{corpus.en}; PII by type: {shown}", f"{corpus.zh}；按类型：{shown}",
                       [*obs, found])
    profile, cols = ev.get("data_profile.json#/columns"), ev.get("privacy.json#/columns")
    names = [c.get("name") for c in profile.value] if isinstance(profile.value, list) else []
    got = cols.value if isinstance(cols.value, dict) else {}
    bad = sorted(n for n in names if (got.get(n) or {}).get("class") not in classes)
    if names and not bad:
        return Outcome(PASS, f"{len(names)} columns classified", f"{len(names)} 列均已分类", [profile, cols])
    what = ", ".join(bad[:5]) if bad else "no column list in data_profile.json"
    return Outcome(FAIL, f"columns without a class: {what}", f"未分类的列：{what}", [profile, cols])


@register_check("k_anonymity_met", reads=["privacy.json#/k_anonymity/k", "privacy.json#/k_anonymity/target_k",
                                         "privacy.json#/k_anonymity/reached",
                                         "privacy.json#/k_anonymity/quasi_identifiers",
                                         "recipe.yaml#/privacy/k_anonymity"])
def k_anonymity_met(ev: Evidence) -> Outcome:
    """Pass when k over the quasi-identifiers reached the target k — the one the privacy step
    enforced (``target_k``) or, if higher, the one the recipe being judged asks for; fail below
    it or without an assessment; needs review without a target or without any quasi-identifier
    to measure."""
    kobs, asked = ev.get("privacy.json#/k_anonymity"), ev.get("recipe.yaml#/privacy/k_anonymity")
    ka = kobs.value if isinstance(kobs.value, dict) else None
    if ka is None:
        return Outcome(FAIL, f"no re-identification risk assessment: {_show(kobs)}",
                       f"未评估重识别风险：{_show(kobs)}", [kobs])
    k, target, qis = ka.get("k"), ka.get("target_k"), ka.get("quasi_identifiers") or []
    if isinstance(asked.value, int) and (target is None or asked.value > target):
        target = asked.value
    if not qis or k is None:
        return Outcome(REVIEW, "no quasi-identifier was found to measure k over; a person must confirm "
                       "that none exists", "未发现可计算 k 的准标识符；需人工确认确无准标识符", [kobs])
    if target is None:
        return Outcome(REVIEW, f"k = {k} measured but no target k set (privacy.k_anonymity); a person must "
                       "judge the risk", f"已测得 k = {k}，但未设定目标 k（privacy.k_anonymity）；需人工判断风险", [kobs])
    if k >= target and ka.get("reached") is not False:
        return Outcome(PASS, f"k = {k} ≥ target {target}", f"k = {k} ≥ 目标 {target}", [kobs])
    return Outcome(FAIL, f"k = {k} below target {target}", f"k = {k} 低于目标 {target}", [kobs])


@register_check("direct_identifiers_treated", reads=["privacy.json#/columns", "recipe.yaml#/data/identifiers"])
def direct_identifiers_treated(ev: Evidence, *, forbidden: list[Any]) -> Outcome:
    """Fail when a direct identifier (classified so by the scan, or named in
    ``data.identifiers``) is kept as is (its operator in ``forbidden``) or no scan ran."""
    cols, declared = ev.get("privacy.json#/columns"), ev.get("recipe.yaml#/data/identifiers")
    if not isinstance(cols.value, dict) or not cols.value:
        return Outcome(FAIL, f"no column classification: {_show(cols)}", f"无列分类：{_show(cols)}", [cols])
    named = set(declared.value or []) if isinstance(declared.value, list) else set()
    direct = {n: _op(c) for n, c in cols.value.items()
              if (isinstance(c, dict) and c.get("class") == "direct_identifier") or n in named}
    bad = sorted(n for n, op in direct.items() if op in forbidden)
    if bad:
        shown = ", ".join(f"{n} ({direct[n] or 'no operator'})" for n in bad[:5])
        return Outcome(FAIL, f"direct identifiers not de-identified: {shown}",
                       f"直接标识符未去标识化：{shown}", [cols, declared])
    return Outcome(PASS, f"{len(direct)} direct identifier(s) de-identified",
                   f"{len(direct)} 个直接标识符已去标识化", [cols, declared])


@register_check("no_plaintext_columns", reads=["data_profile.json#/columns", "privacy.json#/columns"])
def no_plaintext_columns(ev: Evidence, *, pattern: str, allowed_operators: list[str]) -> Outcome:
    """Fail when a column whose name matches ``pattern`` is kept without an allowed operator."""
    profile, cols = ev.get("data_profile.json#/columns"), ev.get("privacy.json#/columns")
    if not isinstance(profile.value, list):
        return Outcome(FAIL, f"no column list: {_show(profile)}", f"无列清单：{_show(profile)}", [profile])
    rx = re.compile(pattern, re.IGNORECASE)
    ops = cols.value if isinstance(cols.value, dict) else {}
    hits = [c.get("name", "") for c in profile.value if rx.search(str(c.get("name", "")))]
    bad = sorted(h for h in hits if _op(ops.get(h)) not in allowed_operators)
    if bad:
        shown = ", ".join(f"{h} ({_op(ops.get(h)) or 'no operator'})" for h in bad[:5])
        return Outcome(FAIL, f"kept in plaintext: {shown}", f"明文保留：{shown}", [profile, cols])
    return Outcome(PASS, f"{len(hits)} matching column(s), none in plaintext",
                   f"{len(hits)} 个匹配列，均未明文保留", [profile, cols])


# ------------------------------------------------------------------------ model evidence


@register_check("explanations_present", reads=["recipe.yaml#/audit/explain", "explanations"])
def explanations_present(ev: Evidence) -> Outcome:
    """Pass when an explanation method was configured and ``explanations/`` holds files."""
    method, folder = ev.get("recipe.yaml#/audit/explain"), ev.path("explanations")
    if method.value and folder.present and folder.value:
        return Outcome(PASS, f"{method.value} explanations: {len(folder.value)} file(s)",
                       f"{method.value} 解释：{len(folder.value)} 个文件", [method, folder])
    return Outcome(FAIL, f"no explanations ({_show(method)}; explanations/ "
                   f"{'empty' if folder.present else 'absent'})",
                   f"无解释输出（{_show(method)}；explanations/ {'为空' if folder.present else '不存在'}）",
                   [method, folder])


@register_check("fairness_examined", reads=["fairness.json#/attributes", "fairness.json#/mitigation"])
def fairness_examined(ev: Evidence) -> Outcome:
    """Fail without a per-group fairness audit; needs review when a group is flagged."""
    attrs = ev.get("fairness.json#/attributes")
    if not isinstance(attrs.value, dict) or not attrs.value:
        return Outcome(FAIL, f"bias not examined per group: {_show(attrs)}", f"未按群体检查偏差：{_show(attrs)}",
                       [attrs])
    flagged = sorted(a for a, v in attrs.value.items() if isinstance(v, dict) and v.get("four_fifths_flag"))
    if flagged:
        return Outcome(REVIEW, f"disparity flagged for {', '.join(flagged)} (four-fifths rule); a person "
                       "must judge it", f"{'、'.join(flagged)} 存在差异（五分之四规则），需人工判断",
                       [attrs, ev.get("fairness.json#/mitigation")])
    return Outcome(PASS, f"examined {len(attrs.value)} attribute(s), none flagged",
                   f"已检查 {len(attrs.value)} 个属性，均未标记", [attrs])


@register_check("audit_log_intact", reads=["audit.jsonl"])
def audit_log_intact(ev: Evidence) -> Outcome:
    """Pass when ``audit.jsonl`` exists and its hash chain and artifacts verify."""
    obs = ev.path("audit.jsonl")
    if not obs.present:
        return Outcome(FAIL, "audit.jsonl is absent", "audit.jsonl 不存在", [obs])
    report = verify_run(ev.run_dir)
    shown = Observed("audit.jsonl", "", {"ok": report.ok, "entries": report.entries})
    if report.ok:
        return Outcome(PASS, f"{report.entries} entries, chain intact", f"{report.entries} 条记录，哈希链完整", [shown])
    first = report.problems[0]
    return Outcome(FAIL, f"line {first['line']}: {first['reason']}", f"第 {first['line']} 行：{first['reason_zh']}",
                   [shown])


@register_check("audit_step_recorded", reads=["audit.jsonl#/0/step", "audit.jsonl#/0/time"])
def audit_step_recorded(ev: Evidence, *, step: str, fields: list[str]) -> Outcome:
    """Pass when ``audit.jsonl`` has an entry of ``step`` (or a kind of it: ``train_federated`` for
    ``train``, see :func:`bentu.rundir.step_matches`) with ``fields``."""
    for i, record in enumerate(read_audit_records(ev.run_dir), start=1):
        entry = record.model_dump(mode="json")
        if step_matches(record.step, step) and all(entry.get(f) is not None for f in fields):
            obs = Observed("audit.jsonl", f"/{i - 1}", {f: entry[f] for f in ["step", *fields]})
            return Outcome(PASS, f"step '{record.step}' recorded on line {i}", f"第 {i} 行记录了步骤 '{record.step}'",
                           [obs])
    return Outcome(FAIL, f"no '{step}' step with {', '.join(fields)} in audit.jsonl",
                   f"audit.jsonl 中没有含 {', '.join(fields)} 的 '{step}' 步骤", [ev.path("audit.jsonl")])


@register_check("training_data_traceable", reads=[
    "audit.jsonl#/0/time", "data_profile.json#/source", "data_profile.json#/rows",
    "data_profile.json#/source/sha256", "data_profile.json#/split"])
def training_data_traceable(ev: Evidence, *, step: str) -> Outcome:
    """Time (audit step), source, volume, checksum and sampling of the training data recorded."""
    timed = audit_step_recorded(ev, step=step, fields=["time"])
    refs = ["data_profile.json#/source", "data_profile.json#/rows", "data_profile.json#/source/sha256",
            "data_profile.json#/split"]
    fields = fields_present(ev, refs=refs)
    missing = ([] if timed.verdict == PASS else [f"audit.jsonl '{step}' time"]) + (
        [] if fields.verdict == PASS else [fields.en.removeprefix("not recorded: ")])
    if not missing:
        return Outcome(PASS, "time, source, volume, checksum and sampling recorded",
                       "已记录时间、来源、数量、校验值与抽样方式", timed.evidence + fields.evidence)
    return Outcome(FAIL, "not recorded: " + ", ".join(missing), "缺少记录：" + ", ".join(missing),
                   timed.evidence + fields.evidence)


# -------------------------------------------------------------------------- cross-border


def _locations(ev: Evidence) -> tuple[Observed, Observed, Observed]:
    return (ev.get("recipe.yaml#/governance/data_location"), ev.get("recipe.yaml#/governance/serving_location"),
            ev.get("recipe.yaml#/governance/cross_border/enabled"))


_LOCATION_READS = ["recipe.yaml#/governance/data_location", "recipe.yaml#/governance/serving_location",
                   "recipe.yaml#/governance/cross_border/enabled"]


@register_check("cross_border_declared", reads=_LOCATION_READS)
def cross_border_declared(ev: Evidence, *, home: str) -> Outcome:
    """Fail when data or serving is outside ``home`` (or undeclared) without a declared transfer."""
    data, serve, enabled = _locations(ev)
    outside = [o for o in (data, serve) if not o.present or o.value != home]
    if outside and enabled.value is not True:
        shown = "; ".join(_show(o) for o in outside)
        return Outcome(FAIL, f"outside {home} or undeclared, but no cross-border transfer declared: {shown}",
                       f"数据或服务位于 {home} 之外或未声明，但未声明跨境传输：{shown}", [data, serve, enabled])
    verdict_en = "transfer declared" if outside else f"data and serving stay in {home}"
    return Outcome(PASS, verdict_en, "已声明跨境传输" if outside else f"数据与服务均在 {home} 境内", [data, serve, enabled])


@register_check("cross_border_tier", reads=[
    "recipe.yaml#/governance/cross_border/enabled", "recipe.yaml#/governance/cross_border/people_per_year",
    "recipe.yaml#/governance/cross_border/sensitive_people_per_year"])
def cross_border_tier(ev: Evidence, *, tier: str, thresholds: dict) -> Outcome:
    """Place a declared transfer in a tier by people per year; a filing needs a person."""
    enabled = ev.get("recipe.yaml#/governance/cross_border/enabled")
    people = ev.get("recipe.yaml#/governance/cross_border/people_per_year")
    sens = ev.get("recipe.yaml#/governance/cross_border/sensitive_people_per_year")
    seen = [enabled, people, sens]
    if enabled.value is not True:
        return Outcome(NA, "no cross-border transfer declared", "未声明跨境传输", seen)
    if not isinstance(people.value, int) or not isinstance(sens.value, int):
        return Outcome(FAIL, "transfer declared without yearly counts of people", "声明了跨境传输但未给出每年人数", seen)
    found = ("security_assessment" if people.value >= thresholds["assessment_people"]
             or sens.value >= thresholds["assessment_sensitive"] else
             "standard_contract" if people.value >= thresholds["exempt_below_people"] or sens.value > 0
             else "exempt")
    counts = f"{people.value} people, {sens.value} with sensitive PI per year"
    counts_zh = f"每年 {people.value} 人，其中敏感个人信息 {sens.value} 人"
    if found == tier:
        zh_need = "须申报数据出境安全评估" if tier == "security_assessment" else "须订立标准合同备案或通过认证"
        return Outcome(REVIEW, f"{counts}: {tier.replace('_', ' ')} required — attach the filing",
                       f"{counts_zh}：{zh_need}，请附材料", seen)
    if found == "security_assessment":  # the stricter tier's rule covers this transfer
        return Outcome(NA, f"{counts}: security assessment tier applies instead",
                       f"{counts_zh}：适用安全评估档", seen)
    return Outcome(PASS, f"{counts}: below the {tier.replace('_', ' ')} thresholds",
                   f"{counts_zh}：低于该档门槛", seen)
