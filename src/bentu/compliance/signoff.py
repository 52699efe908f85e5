"""The sign-off verdict of a run: is it ready for a reviewer's signature, or blocked, and who
must act on what.

A run is **blocked** while any rule fails; otherwise it is **ready for review**, with every
"needs human review" item listed for the person who must decide it. Each item goes to a role:

- ``privacy`` — the personal-information protection officer (PIPL Art. 52), for the PIPL, GB/T
  35273, GB/T 37964, JR/T 0171, GDPR and cross-border rules;
- ``model_risk`` — model risk management, for JR/T 0221, the EU AI Act and NMPA rules, and for
  warnings about the model itself (a baseline that beats it);
- ``business`` — the business owner, for the governance facts the recipe must declare
  (``governance.*``: human review, intended use, operator).

The people are named in the recipe (``governance.reviewers: {privacy: …, model_risk: …,
business: …}``); a role nobody is named for is reported as unassigned, with the key to set.
"""

from __future__ import annotations

from typing import Any
from bentu.i18n import is_zh

__all__ = ["ROLES", "signoff", "role_of"]

#: Role key → display name per language.
ROLES = {
    "privacy": {"en": "personal-information protection officer", "zh": "个人信息保护负责人"},
    "model_risk": {"en": "model risk management", "zh": "模型风险管理部门"},
    "business": {"en": "business owner", "zh": "业务负责人"},
}
_PACK_ROLE = {"pipl": "privacy", "gbt35273": "privacy", "gbt37964": "privacy", "jrt0171": "privacy",
              "gdpr": "privacy", "cross_border": "privacy", "jrt0221": "model_risk", "eu_ai_act": "model_risk",
              "nmpa": "model_risk"}


def role_of(verdict: dict) -> str:
    """The role that must act on one rule's verdict (see the module docstring)."""
    refs = [str(e.get("ref", "")) for e in verdict.get("evidence") or []]
    if refs and all(r.startswith("recipe.yaml#/governance") for r in refs):
        return "business"
    return _PACK_ROLE.get(str(verdict.get("pack", "")), "model_risk")


def _text(v: dict, key: str, lang: str) -> str:
    return ((v.get("i18n") or {}).get(key) or {}).get(lang) or str(v.get(key) or "")


def _action(v: dict, lang: str) -> str:
    reason = _text(v, "reason", lang)
    if v.get("verdict") == "fail":
        return (f"修正后重新运行：{reason}" if is_zh(lang) else f"Fix and re-run: {reason}")
    return (f"核实并签署意见：{reason}" if is_zh(lang) else f"Check and record a decision: {reason}")


def signoff(compliance: dict, *, reviewers: dict[str, str] | None = None, warnings: list[dict] | None = None,
            lang: str = "en") -> dict[str, Any]:
    """The sign-off block of a run.

    Parameters
    ----------
    compliance : dict
        ``compliance.json`` (rule-by-rule verdicts).
    reviewers : dict, optional
        ``governance.reviewers``: role → the person (or team) who decides that role's items.
    warnings : list of dict, optional
        Findings outside the rule packs, each ``{"role", "en", "zh"}`` (e.g. a baseline beats the
        model); each becomes an item for that role.
    lang : {"en", "zh"}

    Returns
    -------
    dict
        ``status`` ("blocked" or "ready_for_review"), ``counts``, and ``items``: one per failing
        or review rule and per warning, failures first, each with ``rule``, ``verdict``, ``role``,
        ``role_name``, ``person`` (None when unassigned), ``requirement`` and ``action``.
    """
    reviewers = {k: v for k, v in (reviewers or {}).items() if v}
    items = []
    for v in compliance.get("verdicts", []):
        if v.get("verdict") not in ("fail", "needs_human_review"):
            continue
        role = role_of(v)
        items.append({"rule": v.get("rule"), "verdict": v["verdict"], "role": role, "role_name": ROLES[role][lang],
                      "person": reviewers.get(role), "requirement": _text(v, "title", lang), "action": _action(v, lang)})
    for w in warnings or []:
        role = w.get("role", "model_risk")
        items.append({"rule": w.get("key", "warning"), "verdict": "needs_human_review", "role": role,
                      "role_name": ROLES[role][lang], "person": reviewers.get(role),
                      "requirement": w["zh"] if is_zh(lang) else w["en"],
                      "action": w.get("action_zh" if is_zh(lang) else "action_en") or
                      ("判断是否可以接受并记录理由" if is_zh(lang) else "Decide whether this is acceptable and record why")})
    items.sort(key=lambda i: (i["verdict"] != "fail", i["role"]))
    n_fail = sum(i["verdict"] == "fail" for i in items)
    return {"status": "blocked" if n_fail else "ready_for_review",
            "counts": {"fail": n_fail, "needs_human_review": len(items) - n_fail},
            "unassigned_roles": sorted({i["role"] for i in items if not i["person"]}),
            "items": items}
