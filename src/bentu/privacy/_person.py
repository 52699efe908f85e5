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
# Rarer surnames that are seldom anything else, also searched without context.
_FREE |= frozenset(lex.SINGLE_SURNAMES[150:]) - frozenset(
    "和时成明全海都来那公利干支国云东乐单华路解车连管蒙尤阳司古吉简麦景党宫费冷席卫米柏宗全应"
    "师和商沙荣巫桑郎丛仲虞明池查麻苑官封谈匡鞠惠荆乐冀郁南班储原燕楚劳皮粟盘满闻位厉伊区海"
    "阚花权强帅屠豆盖练廉井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来都普阙浦戈伏鹿薄羊阿乌母"
    "修亢赫杭况那宿鲜印隆茹诸战慕危玉银公哈湛宾戎勾茅利於呼居揭干")
_GIVEN = lex.GIVEN_NAME_CHARS
_FUNCTION = frozenset("和与跟在是的说去来到给把被也都就又于从向对为将已正曾了着过等及或今昨后前这那"
                      "上下中里外请已将要会能可")
# A surname searched without context starts a name only when a given-name character follows it
# (single surname) or follows its second character (compound surname): the lookahead drops, in
# the regex engine, the many hits that could not start a name.
# Given-name characters that are also function words (可以, 正在): in a name only after a
# person word and at a clause boundary.
_GIVEN_FUNCTION = _GIVEN & _FUNCTION
# After a person word, a common word is still a name after a self-naming word (我叫向阳，) or
# before the person's phone or ID (客户经理向阳，电话…).
_SELF_NAMING = frozenset(("我叫", "名叫"))
_CONTACT_AFTER = re.compile("[，,][ \u3000]?(?:联系电话|电话|手机|联系方式|身份证)")
_GIVEN_START = "[" + "".join(sorted(_GIVEN - _FUNCTION)) + "]"
_FREE_RE = re.compile("[" + "".join(sorted(_FREE | {c[0] for c in _RARE_COMPOUND})) + "]"
                      f"(?={_GIVEN_START}|.{_GIVEN_START})", re.S)
_HAN_RE = re.compile("[\u4e00-\u9fff]")
_TITLE_RE = re.compile(lex.trie_pattern(lex.PERSON_TITLES))
_CUE_RE = re.compile("|".join(re.escape(c) for c in lex.PERSON_SUFFIX_CUES))
_WEAK_PREFIXES = frozenset(
    "我是 联系 本人 父亲 母亲 丈夫 妻子 儿子 女儿 配偶 学生 老师 医生 护士 同学 用户 员工 教师 "
    "医师 签名 家属 职工 甲方 乙方 法人".split()
)
_PREFIX_RE = re.compile(
    "(" + lex.trie_pattern(lex.PERSON_PREFIXES) + ")"
    "([：:=]|是|为)?[ \u3000]?(?=[\u4e00-\u9fff])"
)
# Role words that end with a title (班主任, 客户经理): the title there does not follow a name.
_ROLE_WITH_TITLE = tuple(sorted({p for p in lex.PERSON_PREFIXES if _TITLE_RE.search(p, 1)},
                                key=len, reverse=True))
# For each title, the role words longer than it that end with it (总 → 总经理 ...): a title
# found at the end of one of them is that role's tail.
_ROLES_ENDING = {t: tuple(w for w in _ROLE_WITH_TITLE if len(w) > len(t) and w.endswith(t))
                 for t in lex.PERSON_TITLES}
_WORD_FREQ = 300  # a bigram seen this often in jieba's dictionary is a word, not a name
# Places where a document's layout, not a word, says "a name": a chat sender at the start of a
# line ("王芳：", "[09:12] 王芳: ", "王芳 09:12"), a name in 【】, a CSV / TSV cell.
# "\x00" (the separator of detect_batch's joined texts) counts as the end of a line and the
# start of the next, so that a batched text is read as it is alone: its first line a line, its
# last cell a cell, and a colon at its very end not followed by a message.
_NAME_RUN = "([\u4e00-\u9fff]{2,4})"
_CHAT_SENDER = ("[ \t]*(?:\\[[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?\\][ \t]*)?" + _NAME_RUN
                + "(?=[：:][ \t]?[^0-9A-Za-z\\s\x00]|[ \t]+[0-9]{1,2}:[0-9]{2}(?![0-9]))")
# Each layout as (a regex for a match at the start of the text, a regex for the others). A
# line start is found as the "\n" before it, a CSV cell as the separator before it: a pattern
# that begins with ^ or a look-behind is tried at every position, one that begins with a
# character only where that character is.  The name is the match's last group.
_LAYOUT_RES = (
    (re.compile(_CHAT_SENDER), re.compile("\n" + _CHAT_SENDER)),
    (None, re.compile("【" + _NAME_RUN + "】")),
    (re.compile(_NAME_RUN + "(?=[,\t|])"),
     # (one alternative per separator, each starting with its character: the regex engine
     # then skips to those four characters)
     re.compile("|".join([f"{re.escape(c)}{_NAME_RUN}(?=[,\t|\x00]|$)" for c in ",\t|"]
                         + ["\n" + _NAME_RUN + "(?=[,\t|])"]), re.M)),
)
# The start of each text of a batch but the first, right after its separator: a search for
# the literal "\x00" (not "[\n\x00]" in the patterns above, which the regex engine tests at
# every character).
_AFTER_SEPARATOR = {first: re.compile("\x00" + first.pattern)
                    for first, _ in _LAYOUT_RES if first is not None}


def _layout_matches(text: str):
    """The matches of each layout: what ``^``-anchored (re.M) patterns give, with ``"\\x00"``
    as a line break."""
    batch = "\x00" in text
    for first, rest in _LAYOUT_RES:
        pos = 0
        if first is not None:
            m = first.match(text)
            if m is not None:
                yield m
                pos = m.end()
            if batch:
                yield from _AFTER_SEPARATOR[first].finditer(text, pos)
        yield from rest.finditer(text, pos)


_PLACES = frozenset(lex.CITIES + lex.PROVINCES)
# Last characters of form labels and other nouns, not of names (门诊号：, 申请日期：).
_LABEL_END = frozenset("号码人员名址期间型式类别称数额率量证表单项目科室部门院处局所站点栏")



@lru_cache(maxsize=1)
def _freq() -> dict:
    """``{word: frequency}`` of the words of jieba's dictionary seen at least ``_WORD_FREQ``
    times: for the lookups made here, the same answers as ``jieba.dt.FREQ`` after
    ``jieba.initialize()``, read straight from the dictionary file in a tenth of the time (no
    prefix dictionary, no 500 000-entry cache to unmarshal)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    try:
        with jieba.dt.get_dict_file() as fh:
            data = fh.read()
    except OSError:  # pragma: no cover - a broken jieba install: let jieba report it
        jieba.initialize()
        return {w: f for w, f in jieba.dt.FREQ.items() if f >= _WORD_FREQ}
    # jieba's own parser: each line is "word freq [tag]" (stripped, split on one space).
    return {w.decode("utf-8"): int(f) for w, f in _DICT_LINE.findall(data) if int(f) >= _WORD_FREQ}


_DICT_LINE = re.compile(rb"^[ \t]*([^ \t\r\n]+) ([0-9]{3,})", re.M)


def _is_han(ch: str) -> bool:
    """Whether ``ch`` is a Han character (False for "", the end of the text)."""
    return "\u4e00" <= ch <= "\u9fff"


def _is_word(w: str) -> bool:
    return _freq().get(w, 0) >= _WORD_FREQ


def _surname_len(text: str, i: int) -> int:
    if text[i:i + 2] in _COMPOUND:
        return 2
    return 1 if text[i:i + 1] in _SINGLE else 0


def _given_len(text: str, j: int, strong: bool, cue: bool = False) -> int:
    """Length (0, 1 or 2) of the given name starting at ``text[j]``.

    ``cue``: a person word comes right before the surname (我是, 客户经理 ...); then 可 and 正,
    given-name characters that are mostly function words, count in a given name that ends at
    a clause boundary (我是唐可，我是何可子，我叫雍敏可，).
    """
    c1 = text[j:j + 1]
    if not c1 or not _is_han(c1) or (not strong and c1 not in _GIVEN):
        return 0
    c2 = text[j + 1:j + 2]
    if c1 in _FUNCTION and not strong:
        if not cue or c1 not in _GIVEN_FUNCTION:
            return 0
        if not _is_han(c2):
            return 1
        return 2 if c2 in _GIVEN and c2 not in _FUNCTION and not _is_han(text[j + 2:j + 3]) else 0
    if not c2 or not _is_han(c2):
        return 1
    if c2 in _FUNCTION:
        if cue and c2 in _GIVEN_FUNCTION and not _is_han(text[j + 2:j + 3]):
            return 2
        return 1
    if _TITLE_RE.match(text, j + 1) or _CUE_RE.match(text, j + 1):
        return 1
    c3 = text[j + 2:j + 3]
    if c3 and _is_han(c3) and _is_word(c2 + c3) and not _TITLE_RE.match(text, j + 2):
        return 1  # 张伟|明天
    if not (c3 and _is_han(c3)) and c1 in _GIVEN:
        return 2  # the name ends at a boundary: 我是兰璐桦。
    return 2 if c2 in _GIVEN or strong and not (c3 and _is_han(c3) and c3 not in _FUNCTION
                                                 and not _TITLE_RE.match(text, j + 2)) else 1


def _name_at(text: str, i: int, strong: bool, cue: bool = False) -> int:
    """Length of the name starting at ``text[i]`` (0 if there is none); ``cue``: a person word
    comes right before it (see :func:`_given_len`)."""
    sl = _surname_len(text, i)
    if not sl:
        return 0
    g = _given_len(text, i + sl, strong, cue)
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
        if (i == 0 or not _is_han(text[i - 1])) and text[i] not in _FUNCTION and (
                text[i:i + 2] in _COMPOUND if length == 4 else text[i] in _SINGLE
                or text[i:i + 2] in _COMPOUND):
            return i, pos  # the name starts at a boundary: 客服：房宁|先生
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


def _layout_name(run: str) -> bool:
    """Whether a run of 2-4 Han characters that the layout marks as a name is one: a surname,
    a one- or two-character given name, not a common word, place or title."""
    sl = 2 if run[:2] in _COMPOUND else 1 if run[0] in _SINGLE else 0
    if not sl or not 1 <= len(run) - sl <= 2:
        return False
    if (_is_word(run) or run in _PLACES or run in lex.NOT_NAMES or _TITLE_RE.search(run, 1)
            or run[-1] in _LABEL_END):
        return False
    if sl == 1 and len(run) == 3 and (_is_word(run[:2]) or run[:2] in lex.NOT_NAMES):
        return False  # 管理岗, 高级工: a word and a suffix, not a surname and a given name
    return not any(c in _FUNCTION for c in run[sl:])


_PLACEHOLDER_RE = re.compile("|".join(lex.PLACEHOLDER_NAMES))


def _mask(text: str, occupied) -> bytearray:
    """``occupied`` as one byte per character of ``text`` (1: inside another span)."""
    if isinstance(occupied, (bytes, bytearray)) and len(occupied) == len(text):
        return bytearray(occupied)
    mask = bytearray(len(text))
    n = len(text)
    for i in occupied:
        if 0 <= i < n:
            mask[i] = 1
    return mask


def find_names(text: str, occupied=frozenset()) -> list[tuple[int, int]]:
    """Return ``(start, end)`` of person names in ``text``.

    ``occupied`` holds character positions already inside other spans (addresses ...): a set
    of positions, or a ``bytearray`` with one byte per character (non-zero: occupied).
    """
    occ = _mask(text, occupied)
    spans: list[tuple[int, int]] = []
    for m in _layout_matches(text):
        g = m.lastindex
        if _layout_name(m.group(g)) and not occ[m.start(g)]:
            spans.append(m.span(g))
    for m in _PREFIX_RE.finditer(text):
        i = m.end()
        # a weak word (护士, 学生 ...) is a label when a colon follows it: 护士：甄桦楷
        label = m.group(2) in ("：", ":", "=")
        strong = m.group(1) not in _WEAK_PREFIXES or label
        n = _name_at(text, i, strong=strong, cue=True)
        if n and not label and (text[i:i + 2] in lex.NOT_NAMES
                                or text[i] not in _FREE and _is_word(text[i:i + n])
                                and not (m.group(1) in _SELF_NAMING and not _is_han(
                                    text[i + n:i + n + 1]) or _CONTACT_AFTER.match(text, i + n))):
            continue  # 客户来电: a person word followed by a common word, not a name
        if n:
            spans.append((i, i + n))
    for regex in (_TITLE_RE, _CUE_RE):
        for m in regex.finditer(text):
            at = m.start()
            if regex is _TITLE_RE and text.endswith(_ROLES_ENDING[m.group()], 0, m.end()):
                continue
            if at and not occ[at] and "\u4e00" <= text[at - 1] <= "\u9fff":
                found = _name_before(text, at)
                if found and not occ[found[0]]:
                    spans.append(found)
    covered = occ  # from here on: occupied, or inside a name found above
    for s, e in spans:
        covered[s:e] = b"\x01" * (e - s)
    # Placeholder names never overlap one another (no one ends with another's first character).
    for m in _PLACEHOLDER_RE.finditer(text):
        start = m.start()
        if not covered[start]:
            spans.append((start, start + 2))
            covered[start:start + 2] = b"\x01\x01"
    freq = _freq()
    for m in _FREE_RE.finditer(text):
        i = m.start()
        if covered[i]:
            continue
        if i and text[i - 1] == text[i]:
            continue  # 季季盈, 天天: a doubled character, not a surname
        if i and "\u4e00" <= text[i - 1] <= "\u9fff" and (
                freq.get(text[i - 1:i + 1], 0) >= _WORD_FREQ or text[i - 1:i + 1] in _COMPOUND):
            continue  # 最高 …, or the second character of a compound surname (诸葛亮)
        two = text[i:i + 2]
        if two in _COMPOUND and two not in _RARE_COMPOUND:
            continue  # 东方明珠: a compound surname that is also a word needs context
        n = _name_at(text, i, strong=False)
        if n and covered.find(1, i, i + n) < 0:
            spans.append((i, i + n))
            covered[i:i + n] = b"\x01" * n
    return spans
