"""Evaluate a run against the rule packs its recipe lists (``locale.rules``).

Rule packs are YAML files in ``bentu/compliance/rules/`` (one per law or standard). Each rule
names a check from :mod:`bentu.compliance.checks`; the engine decides whether the rule applies
(region, application, subjects), runs the check over the run's evidence and applies the
rule's *basis* — how well the legal fact behind it is sourced:

- ``V`` (read in the official text of the law or standard) and ``S`` (secondary source): the
  check's verdict stands; ``S`` verdicts carry ``basis: "S"`` so a reader knows to confirm the
  wording.
- ``U`` (unverified): never a hard verdict — always ``needs_human_review``, with the check's
  own outcome kept in ``check_outcome``.

Every rule's evidence is typed: the pointers a check reads (``CHECK_READS``) and the ``ref`` /
``refs`` it is given must be fields of the run directory's schema (:func:`bentu.rundir.has_pointer`),
or the pack fails to load.
"""

from __future__ import annotations

import difflib
import inspect
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from bentu.compliance.checks import CHECK_READS, CHECKS, NA, REVIEW, VERDICTS, Outcome
from bentu.compliance.evidence import Evidence
from bentu.errors import ConfigError, RecipeError
from bentu.i18n import normalize_lang
from bentu.rundir import AUDIT_STEPS, has_pointer

__all__ = ["evaluate_compliance", "list_packs", "load_pack", "COMPLIANCE_VERSION"]

COMPLIANCE_VERSION = 1
_RULE_KEYS = {"id", "citation", "basis", "title", "text", "applies_when", "check"}
_WHEN_KEYS = {"region", "application", "subjects_any"}


@cache
def list_packs() -> tuple[str, ...]:
    """Names of the bundled rule packs (file stems under ``compliance/rules``), sorted."""
    folder = resources.files("bentu.compliance") / "rules"
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")))


@cache
def load_pack(name: str) -> dict[str, Any]:
    """Load and validate one rule pack.

    Raises
    ------
    RecipeError
        ``name`` is not a bundled pack (the message suggests close matches).
    ConfigError
        The pack's YAML is malformed (a rule lacks a key, names an unknown check, or passes
        arguments the check does not take).
    """
    if name not in list_packs():
        close = difflib.get_close_matches(name, list_packs(), n=3, cutoff=0.5)
        hint_en = f" Did you mean: {', '.join(close)}?" if close else ""
        hint_zh = f"你是否想用：{'、'.join(close)}？" if close else ""
        raise RecipeError(
            en=f"recipe key 'locale.rules' names an unknown rule pack '{name}'.{hint_en} "
            f"Available: {', '.join(list_packs())}.",
            zh=f"配方键 'locale.rules' 中的规则包 '{name}' 不存在。{hint_zh}"
            f"可用：{'、'.join(list_packs())}。",
        )
    text = (resources.files("bentu.compliance") / "rules" / f"{name}.yaml").read_text("utf-8")
    pack = yaml.safe_load(text)
    for rule in pack.get("rules", []):
        _validate_rule(name, rule, pack.get("applies_when") or {})
    return pack


def _validate_rule(pack: str, rule: dict, default_when: dict) -> None:
    where = f"rule pack {pack}.yaml, rule {rule.get('id', '?')!r}"
    where_zh = f"规则包 {pack}.yaml 的规则 {rule.get('id', '?')!r}"
    missing = sorted(_RULE_KEYS - {"applies_when"} - set(rule))
    extra = sorted(set(rule) - _RULE_KEYS)
    when = {**default_when, **(rule.get("applies_when") or {})}
    bad_when = sorted(set(when) - _WHEN_KEYS)
    problem: tuple[str, str] | None = (
        (f"lacks keys {missing}", f"缺少键 {missing}") if missing else
        (f"has unknown keys {extra}", f"含未知键 {extra}") if extra else
        (f"applies_when has unknown keys {bad_when}", f"applies_when 含未知键 {bad_when}") if bad_when else
        (f"basis must be V, S or U, got {rule['basis']!r}", f"basis 必须是 V、S 或 U，实际为 {rule['basis']!r}")
        if rule["basis"] not in ("V", "S", "U") else None)
    if problem is None:
        name, args = rule["check"].get("name"), rule["check"].get("args") or {}
        if name not in CHECKS:
            problem = (f"names unknown check {name!r}", f"引用了未知检查 {name!r}")
        else:
            try:
                inspect.signature(CHECKS[name]).bind(None, **args)
            except TypeError as err:
                problem = (f"passes arguments {sorted(args)} that check {name!r} rejects ({err})",
                           f"传给检查 {name!r} 的参数 {sorted(args)} 不被接受（{err}）")
            else:
                refs = [*CHECK_READS[name], *([args["ref"]] if "ref" in args else []), *(args.get("refs") or [])]
                unknown = [r for r in refs if not has_pointer(r)]
                if unknown:
                    problem = (f"cites evidence {', '.join(unknown)} that is not a field of the run "
                               "directory's schema (see docs/run-directory.md)",
                               f"引用的证据 {'、'.join(unknown)} 不是运行目录模式中的字段（见 docs/run-directory.md）")
                elif "step" in args and args["step"] not in AUDIT_STEPS:
                    problem = (f"asks for audit step {args['step']!r}, which no bentu run records (steps: "
                               f"{', '.join(AUDIT_STEPS)})",
                               f"要求的审计步骤 {args['step']!r} 不会出现在任何 bentu 运行中（步骤：{'、'.join(AUDIT_STEPS)}）")
    if problem:
        raise ConfigError(en=f"{where} {problem[0]}.", zh=f"{where_zh} {problem[1]}。")
    rule["applies_when"] = when


def _requested_packs(recipe: dict) -> list[str]:
    rules = (recipe.get("locale") or {}).get("rules") or []
    if isinstance(rules, str):
        rules = [rules]
    for name in rules:
        load_pack(name)  # raises RecipeError with suggestions on an unknown name
    return list(dict.fromkeys(rules))


def _not_applicable(rule: dict, recipe: dict) -> Outcome | None:
    """An Outcome saying why the rule does not apply, or None when it applies."""
    when = rule["applies_when"]
    region = (recipe.get("locale") or {}).get("region")
    app = recipe.get("application")
    subjects = list((recipe.get("governance") or {}).get("subjects") or [])
    if "region" in when and region not in when["region"]:
        return Outcome(NA, f"applies in region {when['region']}; locale.region is {region!r}",
                       f"适用地区 {when['region']}；locale.region 为 {region!r}")
    if "application" in when and app not in when["application"]:
        return Outcome(NA, f"applies to {when['application']}; application is {app!r}",
                       f"适用于 {when['application']}；本次应用为 {app!r}")
    if "subjects_any" in when and not set(subjects) & set(when["subjects_any"]):
        return Outcome(NA, f"applies when subjects include {when['subjects_any']}; declared {subjects}",
                       f"当对象包含 {when['subjects_any']} 时适用；声明为 {subjects}")
    return None


def _evaluate_rule(pack: str, rule: dict, ev: Evidence, lang: str) -> dict[str, Any]:
    outcome = _not_applicable(rule, ev.recipe)
    check_outcome = None
    if outcome is None:
        check = rule["check"]
        outcome = CHECKS[check["name"]](ev, **(check.get("args") or {}))
        check_outcome = outcome.verdict
        if rule["basis"] == "U" and outcome.verdict != REVIEW:
            note = ("the rule's source is unverified (basis U): a person must confirm",
                    "规则出处未经核实（依据等级 U）：需人工确认")
            outcome = Outcome(REVIEW, f"{outcome.en}; {note[0]}", f"{outcome.zh}；{note[1]}", outcome.evidence)
    reason = {"en": outcome.en, "zh": outcome.zh}
    return {
        "rule": rule["id"],
        "pack": pack,
        "citation": rule["citation"],
        "basis": rule["basis"],
        "title": rule["title"][lang],
        "text": rule["text"][lang],
        "verdict": outcome.verdict,
        "reason": reason[lang],
        "check": rule["check"]["name"],
        "check_outcome": check_outcome,
        "evidence": [o.to_dict() for o in outcome.evidence],
        "i18n": {"title": rule["title"], "text": rule["text"], "reason": reason},
    }


def evaluate_compliance(run_dir: Path, recipe: dict, *, lang: str = "en") -> dict:
    """Evaluate the run in ``run_dir`` against the rule packs named in ``recipe.locale.rules``.

    Parameters
    ----------
    run_dir : Path
        The run directory holding the evidence (privacy.json, metrics.json, ...).
    recipe : dict
        The resolved recipe (the content of ``recipe.yaml``).
    lang : {"en", "zh"}, default "en"
        Language of ``title``, ``text`` and ``reason``; both languages stay under ``i18n``.

    Returns
    -------
    dict
        ``{"version", "language", "packs", "summary": {pass, fail, needs_human_review,
        not_applicable, total}, "verdicts": [...]}``; each verdict names the rule, its
        citation, the evidence fields (``file#/pointer``) it read and their observed values.

    Raises
    ------
    RecipeError
        ``locale.rules`` names an unknown pack.
    """
    lang = normalize_lang(lang)
    packs = _requested_packs(recipe)
    ev = Evidence(Path(run_dir), recipe)
    verdicts = [
        _evaluate_rule(name, rule, ev, lang) for name in packs for rule in load_pack(name)["rules"]
    ]
    summary = {v: sum(1 for r in verdicts if r["verdict"] == v) for v in VERDICTS}
    summary["total"] = len(verdicts)
    return {
        "version": COMPLIANCE_VERSION,
        "language": lang,
        "packs": [
            {"name": n, "law": load_pack(n)["law"][lang], "source": load_pack(n).get("source")}
            for n in packs
        ],
        "summary": summary,
        "verdicts": verdicts,
    }
