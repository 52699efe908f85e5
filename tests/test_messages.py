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


# -- the one catalogue: bentu.i18n ------------------------------------------------------------

LANG_TAGS = {"zh", "zh-CN", "zh-cn", "zh_CN"}


def _sources():
    for path in sorted(SRC.rglob("*.py")):
        yield path.relative_to(SRC).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _language_tests(tree) -> list[int]:
    """Lines that decide a language by hand: ``x == "zh"``, ``x.startswith("zh")``."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(isinstance(o, ast.Constant) and o.value in LANG_TAGS for o in operands):
                lines.append(node.lineno)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "startswith"
              and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value in LANG_TAGS):
            lines.append(node.lineno)
    return lines


def test_only_the_catalogue_decides_the_language():
    found = {f"{where}:{line}" for where, tree in _sources() if where != "i18n.py" for line in _language_tests(tree)}
    assert found == set()  # use bentu.i18n.is_zh / tr / normalize_lang


NAME = re.compile(r"^[\w\-/]+(\.[\w\-]+)+$|^[a-z]+(_[a-z]+)+$")  # report.zh.md, verdict_zh: names, not text


def _same_word(en: str | None, zh: str | None) -> bool:
    """A short term written the same in both (PSI, AUC, KS), or a file / key name."""
    return en is not None and zh is not None and ((en == zh and len(en) <= 6) or bool(NAME.match(zh) and NAME.match(en)))


def _pair_problems(en, zh) -> list[str]:
    out = []
    zh_text, en_text = _literal(zh), _literal(en)
    if _same_word(en_text, zh_text):
        return out
    if zh_text is not None and not CJK.search(zh_text) and re.search(r"[A-Za-z]{3}", zh_text):
        out.append("Chinese text has no Chinese")
    if en_text is not None and CJK.search(QUOTED.sub("", en_text)):
        out.append("English text has Chinese")
    return out


def _is_zh_test(node) -> bool:
    """``is_zh(...)``, ``zh`` or ``self.zh``: the test of a ``"中文" if … else "English"``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "is_zh":
        return True
    return (isinstance(node, ast.Name) and node.id == "zh") or (isinstance(node, ast.Attribute) and node.attr == "zh")


def _pairs_in(where: str, tree):
    """Every inline pair in ``tree``: ``tr(lang, en, zh)``, ``ctx.tr(en, zh)`` / ``self.tr(en, zh)``
    (and ``tr = ctx.tr; tr(en, zh)``), and ``zh_text if is_zh(lang) else en_text``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and not node.keywords:
            f = node.func
            if isinstance(f, ast.Name) and f.id == "tr" and len(node.args) == 3:
                yield f"{where}:{node.lineno}", node.args[1], node.args[2]
            elif isinstance(f, (ast.Name, ast.Attribute)) and getattr(f, "id", getattr(f, "attr", None)) == "tr" \
                    and len(node.args) == 2:
                yield f"{where}:{node.lineno}", node.args[0], node.args[1]
        elif isinstance(node, ast.IfExp) and _is_zh_test(node.test):
            yield f"{where}:{node.lineno}", node.orelse, node.body


def _pairs():
    for where, tree in _sources():
        yield from _pairs_in(where, tree)


def test_every_inline_pair_is_in_both_languages():
    pairs = list(_pairs())
    assert len(pairs) > 350  # the walk finds the report's and the CLI's texts (386 when written)
    problems = [f"{where}: {p}" for where, en, zh in pairs for p in _pair_problems(en, zh)]
    assert problems == []


@pytest.mark.parametrize("source, problem", [
    ('ctx.tr("Overview", "Overview")', "Chinese text has no Chinese"),
    ('tr(lang, "数据概览", "概览")', "English text has Chinese"),
    ('"Overview" if is_zh(lang) else "概览"', "Chinese text has no Chinese"),
])
def test_the_walk_catches_a_one_language_pair(source, problem):
    (_, en, zh), = _pairs_in("", ast.parse(source))  # the walk the package test uses
    assert problem in _pair_problems(en, zh)


def test_every_catalogue_entry_is_in_both_languages():
    import bentu.cli.audit  # noqa: F401  (modules that register keyed messages)
    import bentu.cli.monitor  # noqa: F401
    from bentu import i18n

    entries = dict(i18n._CATALOGUE)
    assert {"monitor.title", "monitor.band.significant"} <= set(entries)
    bad = {k: v for k, v in entries.items()
           if not v["zh"] or not v["en"]
           or (re.search(r"[A-Za-z]{3}", v["zh"]) and not CJK.search(v["zh"]) and not _same_word(v["en"], v["zh"]))
           or CJK.search(QUOTED.sub("", v["en"]))}
    assert bad == {}
    with pytest.raises(KeyError, match=r"message 'x.only_en' lacks languages \['zh'\]"):
        i18n.register({"x.only_en": {"en": "only English"}})


@pytest.mark.parametrize("tag, zh", [("zh", True), ("zh-CN", True), ("ZH_tw", True), ("en", False), ("en-US", False),
                                     (None, False), ("", False)])
def test_language_tags(tag, zh):
    from bentu.i18n import is_zh, normalize_lang, tr

    assert is_zh(tag) is zh and normalize_lang(tag) == ("zh" if zh else "en")
    assert tr(tag, "Overview", "概览") == ("概览" if zh else "Overview")
