"""Person-name finder: context words and titles first, a surname + given-name model elsewhere.

Full part-of-speech tagging (jieba.posseg, about 1.5 MB/s) is far too slow for the detect
protocol's throughput target, so the no-context case uses jieba's word-frequency dictionary
only: a surname character starts a name when it is not the end of a common word (最高, 提高),
the next characters are given-name characters, and they do not form a common word (高兴, 明天).
The dictionary is loaded on first use.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from bentu.privacy import _lexicon as lex

_SINGLE = frozenset(lex.SINGLE_SURNAMES)
_COMPOUND = frozenset(lex.COMPOUND_SURNAMES)
# Compound surnames that are also everyday words need context.
_RARE_COMPOUND = _COMPOUND - frozenset("东方 西门 南宫 百里 第五 城池 司空 太史 左丘 公良 子车 "
                                       "单于 即墨".split())
# Surnames searched without context: the common ones, minus characters mostly used otherwise.
_FREE = frozenset(lex.SINGLE_SURNAMES[:150]) - frozenset("于向和时成安平明全海都来那公利干支国云东乐"
                                                          "文方石白金万常温齐易关宁单华路解")
_FREE_RE = re.compile("[" + "".join(sorted(_FREE | {c[0] for c in _RARE_COMPOUND})) + "]")
_GIVEN = lex.GIVEN_NAME_CHARS
_FUNCTION = frozenset("和与跟在是的说去来到给把被也都就又于从向对为将已正曾了着过等及或今昨后前这那"
                      "上下中里外请已将要会能可")
_HAN_RE = re.compile("[\u4e00-\u9fff]")
_TITLE_RE = re.compile("|".join(sorted(lex.PERSON_TITLES, key=len, reverse=True)))
_CUE_RE = re.compile("|".join(re.escape(c) for c in lex.PERSON_SUFFIX_CUES))
_WEAK_PREFIXES = frozenset(
    "我是 联系 本人 父亲 母亲 丈夫 妻子 儿子 女儿 配偶 学生 老师 医生 护士 同学 用户 员工 教师 "
    "医师 签名 家属 职工 甲方 乙方 法人".split()
)
_PREFIX_RE = re.compile(
    "(" + "|".join(sorted(lex.PERSON_PREFIXES, key=len, reverse=True)) + ")"
    "(?:[：:=]|是|为)?[ \u3000]?(?=[\u4e00-\u9fff])"
)
_WORD_FREQ = 300  # a bigram seen this often in jieba's dictionary is a word, not a name



@lru_cache(maxsize=1)
def _freq() -> dict:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.dt.FREQ


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def _is_word(w: str) -> bool:
    return _freq().get(w, 0) >= _WORD_FREQ


def _surname_len(text: str, i: int) -> int:
    if text[i:i + 2] in _COMPOUND:
        return 2
    return 1 if text[i:i + 1] in _SINGLE else 0


def _given_len(text: str, j: int, strong: bool) -> int:
    """Length (0, 1 or 2) of the given name starting at ``text[j]``."""
    c1 = text[j:j + 1]
    if not c1 or not _is_han(c1) or (not strong and c1 not in _GIVEN):
        return 0
    if c1 in _FUNCTION and not strong:
        return 0
    c2 = text[j + 1:j + 2]
    if not c2 or not _is_han(c2) or c2 in _FUNCTION:
        return 1
    if _TITLE_RE.match(text, j + 1) or _CUE_RE.match(text, j + 1):
        return 1
    c3 = text[j + 2:j + 3]
    if c3 and _is_han(c3) and _is_word(c2 + c3) and not _TITLE_RE.match(text, j + 2):
        return 1  # 张伟|明天
    return 2 if c2 in _GIVEN or strong and not (c3 and _is_han(c3) and c3 not in _FUNCTION
                                                 and not _TITLE_RE.match(text, j + 2)) else 1


def _name_at(text: str, i: int, strong: bool) -> int:
    """Length of the name starting at ``text[i]`` (0 if there is none)."""
    sl = _surname_len(text, i)
    if not sl:
        return 0
    g = _given_len(text, i + sl, strong)
    if not g:
        return 0
    if not strong and (_is_word(text[i:i + sl + 1]) or sl == 1 and g == 2 and _is_word(
            text[i:i + 3])):
        return 0
    return sl + g


def _name_before(text: str, pos: int) -> tuple[int, int] | None:
    """The name that ends right before ``pos`` (a title or cue follows it)."""
    for length in (4, 3, 2):
        i = pos - length
        if i < 0 or not all(_is_han(c) for c in text[i:pos]):
            continue
        if length == 4 and text[i:i + 2] not in _COMPOUND:
            continue
        if length == 3 and text[i:i + 2] not in _COMPOUND and not (
                text[i] in _FREE or text[i] in _SINGLE and text[i + 1] not in _SINGLE):
            continue
        if length == 2 and (text[i] not in _SINGLE or text[i] not in _FREE and text[i + 1] in _SINGLE):
            continue  # 向刘经理: 向 is a preposition here, 刘 the surname
        if length == 3 and text[i] not in _COMPOUND and i and _is_word(text[i - 1:i + 1]):
            continue
        return i, pos
    if pos and text[pos - 1] in _SINGLE:
        return pos - 1, pos
    return None


def find_names(text: str, occupied=frozenset()) -> list[tuple[int, int]]:
    """Return ``(start, end)`` of person names in ``text``.

    ``occupied`` holds character positions already inside other spans (addresses ...).
    """
    spans: list[tuple[int, int]] = []
    for m in _PREFIX_RE.finditer(text):
        i = m.end()
        n = _name_at(text, i, strong=m.group(1) not in _WEAK_PREFIXES)
        if n:
            spans.append((i, i + n))
    for regex in (_TITLE_RE, _CUE_RE):
        for m in regex.finditer(text):
            if m.start() and m.start() not in occupied and _is_han(text[m.start() - 1]):
                found = _name_before(text, m.start())
                if found and found[0] not in occupied:
                    spans.append(found)
    covered = set(occupied)
    for s, e in spans:
        covered.update(range(s, e))
    for name in lex.PLACEHOLDER_NAMES:
        start = text.find(name)
        while start >= 0:
            if start not in covered:
                spans.append((start, start + 2))
                covered.update((start, start + 1))
            start = text.find(name, start + 2)
    for m in _FREE_RE.finditer(text):
        i = m.start()
        if i in covered or (i and _is_han(text[i - 1]) and _is_word(text[i - 1:i + 1])):
            continue
        n = _name_at(text, i, strong=False)
        if n and not covered.intersection(range(i, i + n)):
            spans.append((i, i + n))
            covered.update(range(i, i + n))
    return spans
