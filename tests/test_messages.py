"""Every error a user can cause is written in both languages.

bentu's user-facing errors (bentu.errors) carry an English and a Chinese message. This walks every
call of them in the package source: each passes a Chinese message, the Chinese one contains Chinese
text and the English one does not.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bentu import errors

SRC = Path(__file__).resolve().parents[1] / "src" / "bentu"
ERRORS = {name for name in errors.__all__ if isinstance(getattr(errors, name), type)}
CJK = re.compile(r"[\u4e00-\u9fff]")
QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")


def _literal(node) -> str | None:
    """The literal text of a str constant, f-string or + of them (None when not literal)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left), _literal(node.right)
        return None if left is None and right is None else (left or "") + (right or "")
    return None


def _calls():
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                if name in ERRORS and not any(isinstance(a, ast.Starred) for a in node.args):
                    yield f"{path.relative_to(SRC)}:{node.lineno}", node


def _problems(node) -> list[str]:
    kw = {k.arg: k.value for k in node.keywords}
    en = node.args[0] if node.args else kw.get("en")
    zh = node.args[1] if len(node.args) > 1 else kw.get("zh")
    if zh is None:
        return ["no Chinese message"]
    out = []
    zh_text, en_text = _literal(zh), _literal(en) if en is not None else None
    # a Chinese message built only of interpolated parts (f"{where_zh} {why_zh}。") is judged by its parts
    if zh_text is not None and not CJK.search(zh_text) and re.search(r"[A-Za-z]{2}", zh_text):
        out.append("Chinese message has no Chinese text")
    # quoted examples may be Chinese in English ("e.g. {"text": "张三 13800138000"}")
    if en_text is not None and CJK.search(QUOTED.sub("", en_text)):
        out.append("English message has Chinese text")
    return out


def test_every_user_facing_error_has_both_languages():
    calls = list(_calls())
    assert len(calls) > 300  # the walk finds the package's errors (356 when written)
    problems = [f"{where}: {p}" for where, node in calls for p in _problems(node)]
    assert problems == []


@pytest.mark.parametrize("source, problem", [
    ('raise DataError("bad file x.csv")', "no Chinese message"),
    ('raise ConfigError(en="k must be > 0", zh="k must be > 0")', "Chinese message has no Chinese text"),
    ('raise RecipeError(f"键 {k} 未知", f"键 {k} 未知")', "English message has Chinese text"),
])
def test_the_walk_catches_a_one_language_message(source, problem):
    node = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call))
    assert _problems(node) == [problem]


def test_did_you_mean_in_both_languages():
    assert errors.did_you_mean("mobil", ["name", "mobile"]) == (" Did you mean 'mobile'?", "您是否想用 'mobile'？")
    assert errors.did_you_mean("zzz", ["name", "mobile"]) == ("", "")
    assert errors.did_you_mean("CN_PHONES", ["CN_PHONE", "CN_PHONE2"], n=2, quote=str) == (
        " Did you mean CN_PHONE, CN_PHONE2?", "您是否想用 CN_PHONE、CN_PHONE2？")
