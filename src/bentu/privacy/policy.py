"""De-identification policies: which operator applies to which PII type or column.

A policy file (YAML or JSON)::

    default: pseudonymize          # any PII type not listed below
    types:
      CN_PHONE: {op: mask, keep_head: 3, keep_tail: 4}
      PERSON: suppress
      ADDRESS: {op: generalize, to: city}
    columns:
      name: pseudonymize
      age: {op: generalize, width: 10}

Operators: ``mask`` (keep_head, keep_tail, char), ``pseudonymize`` (length), ``generalize``
(to: band|month|city, width), ``suppress``, ``replace`` (format-preserving), ``keep``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bentu._yaml import safe_load
from bentu.errors import ConfigError, DataError, did_you_mean
from bentu.privacy.detectors import PII_TYPES
from bentu.privacy.operators import OPERATORS

__all__ = ["Policy", "load_policy", "DEFAULT_POLICY"]

_PARAMS = {"mask": {"keep_head", "keep_tail", "char"}, "pseudonymize": {"length"},
           "generalize": {"to", "width"}, "suppress": set(), "replace": set(), "keep": set()}
_TOP_KEYS = ("default", "types", "columns")


@dataclass
class Policy:
    """Operator specs (``{"op": name, **params}``) per PII type and per column."""

    default: dict = field(default_factory=lambda: {"op": "pseudonymize"})
    types: dict[str, dict] = field(default_factory=dict)
    columns: dict[str, dict] = field(default_factory=dict)
    source: str = "default"

    def for_type(self, pii_type: str) -> dict:
        """The operator spec for spans or columns of ``pii_type``."""
        return self.types.get(pii_type, self.default)

    def check_columns(self, available) -> None:
        """Raise :class:`DataError` if the policy names a column that the table lacks."""
        available = [str(c) for c in available]
        missing = sorted(c for c in self.columns if c not in available)
        if missing:
            hint, hint_zh = did_you_mean(missing[0], available, n=3)
            raise DataError(
                f"Policy {self.source} names column(s) {', '.join(repr(c) for c in missing[:5])} "
                f"that the data does not have. Columns: {', '.join(available[:20])}.{hint}",
                f"策略 {self.source} 中的列 {', '.join(repr(c) for c in missing[:5])} 在数据中不存在。"
                f"现有列：{', '.join(available[:20])}。{hint_zh}")


DEFAULT_POLICY = Policy(
    default={"op": "pseudonymize"},
    types={"ADDRESS": {"op": "generalize", "to": "city"}},
)


def _spec(value, where: str, source: str) -> dict:
    spec = {"op": value} if isinstance(value, str) else dict(value or {})
    op = spec.get("op")
    if op not in OPERATORS:
        hint, hint_zh = did_you_mean(op, OPERATORS)
        raise ConfigError(
            f"Policy {source}: {where} has operator {op!r}; expected one of "
            f"{', '.join(OPERATORS)}.{hint}",
            f"策略 {source}：{where} 的操作 {op!r} 无效；可用操作：{', '.join(OPERATORS)}。{hint_zh}")
    extra = sorted(set(spec) - {"op"} - _PARAMS[op])
    if extra:
        raise ConfigError(
            f"Policy {source}: {where} ({op}) has unknown parameter(s) {', '.join(extra)}; "
            f"{op} takes {', '.join(sorted(_PARAMS[op])) or 'no parameters'}.",
            f"策略 {source}：{where}（{op}）含未知参数 {', '.join(extra)}；"
            f"{op} 接受的参数：{', '.join(sorted(_PARAMS[op])) or '无'}。")
    return spec


def load_policy(policy: str | Path | dict | Policy | None) -> Policy:
    """Load and validate a policy from a YAML/JSON file, a dict, or ``None`` (the default).

    Raises
    ------
    ConfigError
        Unknown top-level key, unknown PII type (close matches suggested), unknown operator
        or operator parameter.
    DataError
        The file does not exist or cannot be parsed.
    """
    if policy is None:
        return DEFAULT_POLICY
    if isinstance(policy, Policy):
        return policy
    source = "(dict)"
    if not isinstance(policy, dict):
        path = Path(policy)
        source = f"'{path}'"
        if not path.is_file():
            raise DataError(f"Policy file '{path}' does not exist.", f"策略文件 '{path}' 不存在。")
        try:
            text = path.read_text(encoding="utf-8")
            policy = json.loads(text) if path.suffix == ".json" else safe_load(text)
        except (ValueError, yaml.YAMLError, UnicodeDecodeError) as err:
            raise DataError(f"Policy file '{path}' cannot be parsed: {err}",
                            f"策略文件 '{path}' 无法解析：{err}") from err
        policy = policy or {}
        if not isinstance(policy, dict):
            raise DataError(f"Policy file '{path}' must hold a mapping with keys "
                            f"{', '.join(_TOP_KEYS)}.",
                            f"策略文件 '{path}' 必须是包含 {', '.join(_TOP_KEYS)} 的映射。")
    unknown = sorted(set(policy) - set(_TOP_KEYS))
    if unknown:
        raise ConfigError(f"Policy {source} has unknown key(s) {', '.join(unknown)}; expected "
                          f"{', '.join(_TOP_KEYS)}.",
                          f"策略 {source} 含未知键 {', '.join(unknown)}；可用键：{', '.join(_TOP_KEYS)}。")
    types = {}
    for name, value in (policy.get("types") or {}).items():
        if name not in PII_TYPES:
            hint, hint_zh = did_you_mean(name, PII_TYPES, n=2, quote=str)
            raise ConfigError(
                f"Policy {source} names unknown PII type {name!r}. Known types: "
                f"{', '.join(PII_TYPES)}.{hint}",
                f"策略 {source} 中的个人信息类型 {name!r} 未知。可用类型：{', '.join(PII_TYPES)}。{hint_zh}")
        types[name] = _spec(value, f"type {name}", source)
    columns = {str(c): _spec(v, f"column {c!r}", source)
               for c, v in (policy.get("columns") or {}).items()}
    default = _spec(policy.get("default", "pseudonymize"), "default", source)
    if "ADDRESS" not in types and default["op"] == "pseudonymize":
        types["ADDRESS"] = {"op": "generalize", "to": "city"}
    return Policy(default=default, types=types, columns=columns, source=source)
