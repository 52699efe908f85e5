"""PII detectors: one class per identifier type, a registry, and the combined engine.

Each detector finds candidate spans with one compiled regular expression (no ``\\b``: word
boundaries are written as look-arounds on digits and Latin letters, so an identifier written
right against Chinese text is found) and keeps a candidate only when a cheap validator accepts it
(check digit, real birth date, allocated number range, context words).  The engine runs every
detector, then resolves overlaps (a longer, higher-priority span wins).

Offsets are Python ``str`` indices (code points); ``end`` is exclusive.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from abc import ABC, abstractmethod
from functools import lru_cache, partial
from itertools import islice
from operator import gt as _gt, itemgetter
from typing import ClassVar, Iterator, NamedTuple

from bentu.errors import ConfigError
from bentu.privacy import _checksums as ck
from bentu.privacy import _lexicon as lex

__all__ = [
    "PII_TYPES",
    "Span",
    "Detector",
    "RegexDetector",
    "register_detector",
    "list_detectors",
    "create_detector",
    "PiiEngine",
    "detect",
    "detect_batch",
]

PII_TYPES = (
    "CN_ID_CARD", "CN_PHONE", "CN_LANDLINE", "BANK_CARD", "CN_USCC", "EMAIL", "IP_ADDRESS",
    "CN_PASSPORT", "CN_LICENSE_PLATE", "PERSON", "ADDRESS",
)
CHECKSUM_TYPES = ("CN_ID_CARD", "BANK_CARD", "CN_USCC")

# Building blocks. D: a digit, half- or full-width. S: an optional separator inside a number.
D = "[0-9\uff10-\uff19]"
S = "[ \\-\uff0d\u2010\u2013\u00a0]?"
_ALNUM = "0-9\uff10-\uff19A-Za-z\uff21-\uff3a\uff41-\uff5a"
# "Not preceded by a letter or digit", written after the first character so that the regex
# engine can still skip quickly to candidate first characters.
NB = f"(?<![{_ALNUM}_].)"
NA = f"(?![{_ALNUM}_])"
NA_NUM = f"(?![{_ALNUM}_]|[.\uff0e][0-9\uff10-\uff19])"
# Digit-only boundaries, for identifiers whose check digit (ID, card) or allocated ranges (mobile)
# make a chance match unlikely: found even when glued to Latin letters (ID420106…abc).
NB_DIGIT = "(?<![0-9\uff10-\uff19].)"
NA_DIGIT = "(?![0-9\uff10-\uff19]|[.\uff0e][0-9\uff10-\uff19])"
_LAST_BREAK = re.compile("[，。；;！!？?\\n\\r、\\x00](?!.*[，。；;！!？?\\n\\r、\\x00])", re.S)


class Span(NamedTuple):
    """A PII span: ``text[start:end]`` is an identifier of ``type``."""

    start: int
    end: int
    type: str

    def to_dict(self) -> dict:
        """The protocol form ``{"start", "end", "type"}``."""
        return {"start": self.start, "end": self.end, "type": self.type}


# --- context words --------------------------------------------------------------------------

def _keyword_regex(words) -> re.Pattern:
    return re.compile(lex.trie_pattern(words))


_CONTEXT_TYPES: dict[str, frozenset[str]] = {}
for _type, _words in lex.POSITIVE_CONTEXT.items():
    for _w in _words.split():
        _CONTEXT_TYPES[_w] = _CONTEXT_TYPES.get(_w, frozenset()) | {_type}
for _w in lex.NEGATIVE_CONTEXT:
    _CONTEXT_TYPES.setdefault(_w, frozenset())
_CONTEXT_RE = _keyword_regex(_CONTEXT_TYPES)


def _window_before(text: str, start: int, width: int = 12) -> str:
    """The text of the current clause before ``start``, at most ``width`` characters."""
    window = text[max(0, start - width):start]
    m = _LAST_BREAK.search(window)
    return window[m.end():] if m else window


def context_verdict(text: str, start: int, pii_type: str) -> int:
    """Judge the nearest context word before ``start`` in the same clause.

    +1 if it names ``pii_type`` (身份证 before an ID), -1 if it names another kind of number
    (卡号 before an ID; 订单号, 住院号, 金额 ...), 0 if there is none.
    """
    types = _nearest_context(
        _CLAUSE_TAIL.search(text, start - 12 if start > 12 else 0, start).group())
    if types is None:
        return 0
    return 1 if pii_type in types else -1


# The end of the current clause: the longest tail without a clause break.  Searched between
# ``start - 12`` and ``start``, it gives what _window_before gives, in one call.
_CLAUSE_TAIL = re.compile("[^，。；;！!？?\\n\\r、\\x00]*\\Z")


# A label's value that comes between a context word and the number ends the word's reach
# (【快递面单】收件人：王芳 138…: 快递 does not speak of the phone): a separator followed by Han text.
_OTHER_VALUE = re.compile("[：:】\\]][^：:】\\]]*[\u4e00-\u9fff][^：:】\\]]*\\Z")


@lru_cache(maxsize=16384)
def _nearest_context(window: str) -> frozenset[str] | None:
    last = None
    for last in _CONTEXT_RE.finditer(window):
        pass
    if last is None:
        return None
    types = _CONTEXT_TYPES[last.group()]
    if not types and _OTHER_VALUE.search(window, last.end()):
        return None
    return types


_AMOUNT_AFTER = frozenset(lex.AMOUNT_AFTER)
_AMOUNT_BEFORE = frozenset(lex.AMOUNT_BEFORE)


def _is_amount(text: str, start: int, end: int) -> bool:
    """A number followed by a unit (元, 万, %) or preceded by a currency sign."""
    return (text[end:end + 1] in _AMOUNT_AFTER
            or start > 0 and text[start - 1] in _AMOUNT_BEFORE)


# --- registry -------------------------------------------------------------------------------

_REGISTRY: dict[str, type["Detector"]] = {}


def register_detector(cls: type["Detector"]) -> type["Detector"]:
    """Class decorator: register a detector under its ``type``."""
    if cls.type in _REGISTRY:
        raise ConfigError(f"A detector for {cls.type!r} is already registered.",
                          f"类型 {cls.type!r} 的识别器已注册。")
    _REGISTRY[cls.type] = cls
    return cls


def list_detectors() -> list[str]:
    """The registered PII types, in priority order (highest first)."""
    return sorted(_REGISTRY, key=lambda t: -_REGISTRY[t].priority)


def create_detector(pii_type: str) -> "Detector":
    """Instantiate the detector registered for ``pii_type``.

    Raises
    ------
    ConfigError
        If no detector is registered under that name; close matches are suggested.
    """
    try:
        return _REGISTRY[pii_type]()
    except KeyError:
        close = difflib.get_close_matches(pii_type, list(_REGISTRY), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(
            f"Unknown PII type {pii_type!r}. Known types: {', '.join(list_detectors())}.{hint}",
            f"未知的个人信息类型 {pii_type!r}。可用类型：{', '.join(list_detectors())}。"
            + (f"您是否想用 {', '.join(close)}？" if close else ""),
        ) from None


class Detector(ABC):
    """Finds one PII type in text.

    Subclasses set ``type`` (one of :data:`PII_TYPES`) and ``priority`` (which span wins when
    two overlap) and implement :meth:`find`.
    """

    type: ClassVar[str]
    priority: ClassVar[int] = 0
    #: "window": only looked for inside runs of Latin letters, digits and number punctuation
    #: (the engine finds those runs in one fast pass); "text": looked for in the whole text.
    scope: ClassVar[str] = "text"

    @abstractmethod
    def find(self, text: str, pos: int = 0, endpos: int | None = None) -> Iterator[Span]:
        """Yield the spans of this type in ``text[pos:endpos]`` (any order, overlaps allowed)."""


class RegexDetector(Detector):
    """A detector made of one regular expression and a validator of each match."""

    pattern: ClassVar[str]
    flags: ClassVar[int] = 0
    _compiled: ClassVar[re.Pattern | None] = None

    @classmethod
    def regex(cls) -> re.Pattern:
        if cls.__dict__.get("_compiled") is None:
            cls._compiled = re.compile(cls.pattern, cls.flags)
        return cls._compiled

    def find(self, text: str, pos: int = 0, endpos: int | None = None) -> Iterator[Span]:
        it = self.regex().finditer(text, pos, len(text) if endpos is None else endpos)
        for m in it:
            bounds = self.accept(text, m)
            if bounds is not None:
                yield Span(bounds[0], bounds[1], self.type)

    def accept(self, text: str, m: re.Match) -> tuple[int, int] | None:
        """Return the span bounds if the match is an identifier, else ``None``."""
        return m.span()


# --- numeric identifiers --------------------------------------------------------------------

@register_detector
class IdCardDetector(RegexDetector):
    """Resident ID: 18 characters (MOD 11-2 check, real birth date) or 15 digits (legacy)."""

    type = "CN_ID_CARD"
    priority = 90
    scope = "window"
    pattern = (f"{D}{NB_DIGIT}{D}{{5}}{S}{D}{{4}}{S}{D}{{4}}{S}{D}{{3}}[0-9\uff10-\uff19Xx\uff38\uff58]"
               f"{NA_DIGIT}|{D}{NB}{D}{{5}}{S}{D}{{6}}{S}{D}{{3}}{NA_NUM}")

    def accept(self, text, m):
        code = ck.compact(m.group())
        if len(code) == 18:
            if not ck.id18_valid(code):
                return None
        elif len(code) != 15 or not ck.id15_valid(code) or _is_amount(text, *m.span()):
            return None
        if context_verdict(text, m.start(), self.type) < 0:
            return None
        return m.span()


@register_detector
class MobileDetector(RegexDetector):
    """Mainland mobile numbers, with an optional +86 / 0086 / (+86) prefix and separators."""

    type = "CN_PHONE"
    priority = 70
    scope = "window"
    pattern = (
        "(?:(?:(?:[+\uff0b]|00|\uff10\uff10)[8\uff18][6\uff16][ \\-\uff0d]?"
        "|[(\uff08][+\uff0b]?[8\uff18][6\uff16][)\uff09][ \\-]?"
        f"|[8\uff18][6\uff16]-)[1\uff11]|[1\uff11]{NB_DIGIT})"
        f"{D}{{2}}{S}{D}{{4}}{S}{D}{{4}}{NA_DIGIT}"
    )

    def accept(self, text, m):
        start, end = m.span()
        digits = ck.compact(m.group())
        digits = digits[-11:]
        if not ck.mobile_valid(digits) or _is_amount(text, start, end):
            return None
        if m.group()[0] in "+\uff0b0\uff108\uff18(\uff08":
            # A prefix must itself stand apart from other digits or letters.
            if start and _ALNUM_RE.match(text[start - 1]):
                return None
        if context_verdict(text, start, self.type) < 0:
            return None
        return start, end


_AREA3 = re.compile(r"0(?:10|2\d)")
# An extension written after a landline (-806, 转806, 分机806, ext. 806): part of the span.
_EXTENSION = re.compile(f"(?:[-\uff0d转]|分机|[ ]?(?:ext|EXT|Ext)\\.?[ ]?){D}{{1,5}}(?![0-9\uff10-\uff19A-Za-z])")
_ALNUM_RE = re.compile(f"[{_ALNUM}]")


@register_detector
class LandlineDetector(RegexDetector):
    """Fixed-line numbers: 0 + area code (10, 2x, or 3 digits) + 7–8 digit local number."""

    type = "CN_LANDLINE"
    priority = 60
    scope = "window"
    pattern = (
        "(?:(?:[+\uff0b]|00)86[ \\-]?[(\uff08]?[1-9][0-9]{1,2}[)\uff09]?[ \\-]?"
        f"|[(\uff08][0\uff10]{D}{{2,3}}[)\uff09][ \\-]?"
        f"|[0\uff10]{NB}{D}{{2,3}}{S})"
        f"[2-9\uff12-\uff19]{D}{{2,3}}{S}{D}{{4}}{NA_NUM}"
    )

    def accept(self, text, m):
        start, end = m.span()
        digits = ck.compact(m.group()).lstrip("+\uff0b")
        if digits.startswith("0086"):
            digits = "0" + digits[4:]
        elif digits.startswith("86"):
            digits = "0" + digits[2:]
        if not self._valid(digits) or _is_amount(text, start, end):
            return None
        if context_verdict(text, start, self.type) < 0:
            return None
        ext = _EXTENSION.match(text, end)
        return start, ext.end() if ext else end

    @staticmethod
    def _valid(digits: str) -> bool:
        if not digits.isdigit() or not digits.startswith("0"):
            return False
        area = 3 if _AREA3.match(digits) else 4
        local = digits[area:]
        if area == 4 and digits[1] in "12":
            return False
        lengths = (8,) if area == 3 else (7, 8)
        return len(local) in lengths and local[0] in "23456789"


_CARD_GROUPS = re.compile(r"[ \-\uff0d\u2010\u2013\u00a0]")


@register_detector
class BankCardDetector(RegexDetector):
    """Payment cards: 16–19 digits, Luhn-valid, an issuer prefix (or a card context word)."""

    type = "BANK_CARD"
    priority = 80
    scope = "window"
    pattern = f"{D}{NB_DIGIT}{D}{{3}}{S}{D}{{4}}{S}{D}{{4}}{S}{D}{{4}}(?:{S}{D}{{1,3}})?{NA_DIGIT}"

    def accept(self, text, m):
        start, end = m.span()
        digits = ck.compact(m.group())
        if not 16 <= len(digits) <= 19 or not ck.luhn_valid(digits) or _is_amount(text, start, end):
            return None
        verdict = context_verdict(text, start, self.type)
        if verdict > 0 or verdict == 0 and self._issuer(digits):
            return start, end
        return None

    @staticmethod
    def _valid(digits: str, verdict: int) -> bool:
        if not 16 <= len(digits) <= 19 or not ck.luhn_valid(digits):
            return False
        return verdict > 0 or BankCardDetector._issuer(digits)

    @staticmethod
    def _issuer(digits: str) -> bool:
        # Without a context word, ask for a known issuer prefix: UnionPay 62, Visa 4,
        # Mastercard 51-55/2221-2720, JCB 35, and the 19-digit domestic 95xx cards.
        return (digits.startswith(("62", "4", "35", "95", "60"))
                or "51" <= digits[:2] <= "55" or "2221" <= digits[:4] <= "2720")


@register_detector
class UsccDetector(RegexDetector):
    """Unified social credit code (GB 32100-2015), 18 characters with a mod-31 check."""

    type = "CN_USCC"
    priority = 85
    scope = "window"
    pattern = f"[0-9A-HJ-NPQRTUWXY]{NB}[0-9A-HJ-NPQRTUWXY]{{17}}{NA}"

    def accept(self, text, m):
        code = m.group()
        if not ck.uscc_valid(code) or code.isdigit() and ck.id18_valid(code):
            return None
        if context_verdict(text, m.start(), self.type) < 0:
            return None
        return m.span()


@register_detector
class EmailDetector(RegexDetector):
    """E-mail addresses (ASCII local part and domain)."""

    type = "EMAIL"
    priority = 100
    scope = "window"
    pattern = (
        "[A-Za-z0-9](?<![A-Za-z0-9._%+\\-].)[A-Za-z0-9._%+\\-]{0,63}@"
        "[A-Za-z0-9](?:[A-Za-z0-9\\-]{0,61}[A-Za-z0-9])?"
        "(?:\\.[A-Za-z0-9](?:[A-Za-z0-9\\-]{0,61}[A-Za-z0-9])?)*\\.[A-Za-z]{2,24}(?![A-Za-z0-9\\-])"
    )


@register_detector
class IpDetector(RegexDetector):
    """IPv4 (dotted quad, without a :port) and IPv6 addresses."""

    type = "IP_ADDRESS"
    priority = 50
    scope = "window"
    pattern = (
        f"[0-9](?<![{_ALNUM}.].)[0-9]{{0,2}}(?:\\.[0-9]{{1,3}}){{3}}(?![0-9]|\\.[0-9])"
        "|[0-9A-Fa-f:](?<![0-9A-Za-z:.].)[0-9A-Fa-f]{0,3}:[0-9A-Fa-f:.]{1,40}(?![0-9A-Za-z:])"
    )

    def accept(self, text, m):
        start, end = m.span()
        raw = m.group()
        if ":" in raw:
            if raw.count(":") < 2:
                return None
            try:
                ipaddress.IPv6Address(raw)
            except ValueError:
                return None
        else:
            # The regex gives four groups of 1-3 ASCII digits; ipaddress.IPv4Address accepts
            # exactly those at most 255 without a leading zero.
            for octet in raw.split("."):
                if len(octet) > 1 and (octet[0] == "0" or int(octet) > 255):
                    return None
        if context_verdict(text, start, self.type) < 0:
            return None
        return start, end


@register_detector
class PassportDetector(RegexDetector):
    """Passports: G/E + 8 digits, or E + a letter (not I/O) + 7 digits."""

    type = "CN_PASSPORT"
    priority = 40
    scope = "window"
    pattern = f"[GE\uff27\uff25]{NB}(?:{D}{{8}}|[A-HJ-NP-Z]{D}{{7}}){NA_NUM}"

    def accept(self, text, m):
        if m.group()[0] in "G\uff27" and not m.group()[1:].isdigit():
            return None
        # A letter and eight digits is also the shape of batch, fault, order and invoice
        # numbers: a passport needs a passport word in its clause (护照, passport ...).
        if context_verdict(text, m.start(), self.type) <= 0:
            return None
        return m.span()


_PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_CHAR = "[A-HJ-NP-Z0-9]"


@register_detector
class PlateDetector(RegexDetector):
    """Licence plates: province character + letter + 5 characters; new-energy 6 with D/F."""

    type = "CN_LICENSE_PLATE"
    priority = 45
    pattern = (
        f"[{_PLATE_PROVINCES}][A-HJ-NP-Z][·•・ \u3000\\-\uff0d]?"
        f"(?:[DF]{_PLATE_CHAR}[0-9]{{4}}|[0-9]{{5}}[DF]|{_PLATE_CHAR}{{4}}(?:{_PLATE_CHAR}|[挂学警港澳]))"
        "(?![A-Za-z0-9])"
    )

    def accept(self, text, m):
        serial = m.group()[2:].lstrip("·•・ \u3000-\uff0d")
        if sum(c.isdigit() for c in serial) < 2:
            return None
        return m.span()


# --- addresses ------------------------------------------------------------------------------

# A Han character that can be part of a place name (not a common function word, so that a
# component cannot run across "北京市的朋友来自朝阳区").
def _han_except(chars: str) -> str:
    """A character class: the Han characters U+4E00–U+9FFF but ``chars`` (what
    ``(?:(?![chars])[\u4e00-\u9fff])`` matches, as one set the regex engine tests at once)."""
    ranges, lo = [], 0x4E00
    for c in sorted(set(map(ord, chars))):
        if c > lo:
            ranges.append(f"{chr(lo)}-{chr(c - 1)}" if c - 1 > lo else chr(lo))
        lo = c + 1
    ranges.append(f"{chr(lo)}-\u9fff")
    return "[" + "".join(ranges) + "]"


_PLACE_HAN = _han_except("的了是在与或我你他她这那有为被把让从向对但而也就又还将请和及到去来")
_PLACE_HAN_LOOSE = _han_except("的了是在与或我你他她这那有为被把让从向对但而也就又还将请")
_DIGIT = "[0-9\uff10-\uff19]"
_NUM = "[0-9\uff10-\uff19一二三四五六七八九十百零〇]{1,5}"
_DIRECTION = "(?:东南|西南|东北|西北|东|西|南|北)"
_METRES = f"(?:{_DIGIT}{{1,4}}|[一二三四五六七八九十百]{{1,3}})(?:米|公里)"
# One component of an address after its head; every alternative is tried at a position and the
# longest match taken.  "kind": admin (district ... village), road, number, compound, room, tail.
_ADDR_TOKENS = [
    ("admin", re.compile(f"{_PLACE_HAN_LOOSE}{{1,8}}?(?:自治州|自治县|地区|盟|市|新区|开发区|区|县|旗|"
                         "街道|镇|乡|村|社区|屯)")),
    ("road", re.compile(f"{_PLACE_HAN_LOOSE}{{1,8}}?(?:大道|大街|路|街|巷|胡同|弄)"
                        f"(?:[东西南北中]段|[一二三四五六七八九十]段|{_DIGIT}{{1,2}}段)?")),
    ("road", re.compile(f"{_NUM}(?:号线|环路|条|巷|弄|街|路)")),
    ("number", re.compile(f"{_NUM}(?:[-\uff0d]{_NUM})?(?:号院|号楼|号房|号|弄|栋|幢|座|单元|室|房|层|楼|组|期|排|户|区|支弄)")),
    ("number", re.compile(f"[A-Za-z\uff21-\uff3a]{{1,2}}{_DIGIT}{{0,2}}(?:号楼|座|栋|幢|区|楼|单元)")),
    ("room", re.compile(f"{_DIGIT}{{1,3}}(?:[-\uff0d]{_DIGIT}{{1,4}}){{1,3}}(?:室|号|房)?(?!{_DIGIT})")),
    ("compound", re.compile(f"{_PLACE_HAN_LOOSE}{{1,10}}?(?:小区|花园|公寓|大厦|广场|家园|新村|苑|园|城|"
                            "中心|公馆|府|庭|湾|邸|国际|名都|华府|社区|宿舍|大院|山庄|别墅|雅居|"
                            "商城|市场|医院|学校|小学|中学|大学|公司|工业园|产业园|科技园|写字楼|"
                            "馆|站|酒店|宾馆|村委会|居委会)")),
    # a compound without a suffix, followed by a building, unit or room
    ("compound", re.compile(f"{_PLACE_HAN}{{2,8}}?(?=(?:{_DIGIT}{{1,3}}|[A-Za-z]{{1,2}})(?:号楼|栋|幢|座|单元|[-\uff0d]))")),
    ("tail", re.compile(f"与{_PLACE_HAN_LOOSE}{{1,8}}?(?:大道|大街|路|街|巷|胡同)(?:交叉口|交汇处|路口|口)?"
                        f"(?:{_DIRECTION}(?:角|侧|方向)?)?")),
    ("tail", re.compile(f"(?:交叉口|路口|十字路口|交汇处)(?:{_DIRECTION}(?:角|侧)?)?")),
    ("tail", re.compile(f"(?:{_DIRECTION}(?:侧|门|角|面)|附近|对面|旁边|隔壁|斜对面|正门|后门|楼下|旁)"
                        f"(?:{_METRES})?")),
    ("tail", re.compile(f"(?:往|向)?{_DIRECTION}(?:走)?{_METRES}(?:处)?")),
]
# The components that can start with a digit or Latin letter, and those that start with Han.
_ADDR_TOKENS_ALNUM = [(k, r) for k, r in _ADDR_TOKENS if k in ("number", "room")
                      or r.pattern.startswith(_NUM)]
_ADDR_TOKENS_HAN = [t for t in _ADDR_TOKENS if t not in _ADDR_TOKENS_ALNUM]
_ROOM_BARE = re.compile(f"{_DIGIT}{{2,5}}(?:室|号|房)?(?![0-9\uff10-\uff19A-Za-z])")
# After a building, unit or number, a bare number is the room (3单元501).
_BEFORE_ROOM = ("number", "room")
_ADDR_MAX = 80
_HAN_NUMERALS = frozenset("一二三四五六七八九十百零〇")


def _token_scanner(tokens) -> tuple[re.Pattern, tuple]:
    """One regex that tries every component of ``tokens`` at a position, each in a lookahead
    with its own group: one ``match`` gives the end of each (what ``regex.match`` of that
    component alone gives; -1 where it does not match).  With ``(group, kind needs the
    no-place-name-inside check, kind comes before a room)`` for each."""
    regex = re.compile("".join(f"(?:(?=({r.pattern}))|)" for _, r in tokens))
    assert regex.groups == len(tokens)
    return regex, tuple((i, kind not in ("number", "room", "tail"), kind in _BEFORE_ROOM)
                        for i, (kind, _) in enumerate(tokens, 1))


_SCAN_ALL = _token_scanner(_ADDR_TOKENS)
_SCAN_HAN = _token_scanner(_ADDR_TOKENS_HAN)
_SCAN_ALNUM = _token_scanner(_ADDR_TOKENS_ALNUM)


def _address_end(text: str, pos: int, parts: int, endpos: int) -> tuple[int, int]:
    """Follow address components from ``pos``; returns the end and the number of components.

    Of the ways to read the text as a chain of components (the longest match of one
    alternative may hide a better chain: 天山区天府|大道 against 天山区|天府大道), the one that
    reaches furthest is taken.
    """
    limit = min(endpos, pos + _ADDR_MAX)
    memo: dict = {}
    head = _ADDR_HEAD.search
    room_bare = _ROOM_BARE.match

    def best(at: int, room_ok: bool) -> tuple[int, int]:
        # Every component advances (its end is after ``at``): the recursion has no cycles.
        key = -1 - at if room_ok else at
        result = memo.get(key)
        if result is not None:
            return result
        result = (at, 0)
        ends = None
        ch = text[at:at + 1]
        scan, info = (_SCAN_ALL if ch in _HAN_NUMERALS else _SCAN_HAN
                      if "\u4e00" <= ch <= "\u9fff" else _SCAN_ALNUM)
        m = scan.match(text, at, limit)
        if m.lastindex is not None:  # some component matches here
            regs = m.regs
            for i, check, room in info:
                e = regs[i][1]
                # 北京市|民反映上海市: no place name inside an admin, road or compound part
                if e > at and (not check or head(text, at + 1, e) is None):
                    if ends is None:
                        ends = {e: room}
                    elif room and not ends.get(e):
                        ends[e] = True
                    elif e not in ends:
                        ends[e] = False
        if ends is None:
            if room_ok:
                m = room_bare(text, at, limit)
                if m is not None:
                    e, n = best(m.end(), True)
                    result = (e, n + 1)
            memo[key] = result
            return result
        for stop, before_room in ends.items():
            e, n = best(stop, before_room)
            if (e, n + 1) > result:
                result = (e, n + 1)
        memo[key] = result
        return result

    stop, n = best(pos, False)
    return stop, parts + n


# Literal alternatives as a prefix tree (longest first): the regex engine skips quickly to
# their first characters and picks a branch by one character at a time.
_ADDR_HEADS = lex.PROVINCE_FULL + lex.PROVINCES + lex.CITIES
_ADDR_HEAD = re.compile(lex.trie_pattern(_ADDR_HEADS))
# Still, with some 200 first characters, trying the tree costs the regex engine a test per
# first character at every common character (本, 十, 上 ...): a two-character filter first.
_ADDR_HEAD_FILTER = lex.pair_filter(_ADDR_HEADS)


def _address_heads(text: str, pos: int, end: int) -> Iterator[re.Match]:
    """``_ADDR_HEAD.finditer(text, pos, end)``, faster."""
    return lex.finditer_filtered(_ADDR_HEAD, _ADDR_HEAD_FILTER, text, pos, end)
_ADDR_PROVINCES = frozenset(lex.PROVINCE_FULL + lex.PROVINCES)
_ADDR_SUFFIX = re.compile("省|自治区|市")
_ADDR_CITY = re.compile(f"(?:{lex.trie_pattern(lex.CITIES)})市?")
# A district written without its city, followed by a road and a number (搬到了金水区体育西路3号):
# the district's name is the two to four Han characters before 区/县 that are not a function
# word or a verb of moving or living (住, 到, 搬 ...).
# (The look-behind comes after the first character, so that the regex engine can skip quickly
# to 新, 区 and 县 instead of testing it at every position.)
_ADDR_DISTRICT = re.compile("(?:新(?<=[\u4e00-\u9fff]{3})区|区(?<=[\u4e00-\u9fff]{3})"
                            "|县(?<=[\u4e00-\u9fff]{3}))"
                            f"(?={_PLACE_HAN_LOOSE}{{1,8}}?(?:大道|大街|路|街|巷){_DIGIT})")
_DISTRICT_STOP = frozenset("的了是在与或我你他她这那有为被把让从向对但而也就又还将请和及到去来住址搬迁发送寄往至于位现")


def _district_start(text: str, at: int, floor: int) -> int:
    start = at - 2
    while start > floor and at - start < 4 and "\u4e00" <= text[start - 1] <= "\u9fff" \
            and text[start - 1] not in _DISTRICT_STOP:
        start -= 1
    return start


_ADDR_CONTEXT = re.compile("(?:地址|住址|住在|家住|位于|居住在|居住于|现住|户籍地|籍贯|寄往|送至|送到|"
                           "寄至)[：: \u3000]*")




@register_detector
class AddressDetector(Detector):
    """Addresses: one span from the province (or city, or district) to the room, with the
    road, number, compound, building, unit, room and landmark descriptions that follow."""

    type = "ADDRESS"
    priority = 30

    def find(self, text: str, pos: int = 0, endpos: int | None = None) -> Iterator[Span]:
        # Three kinds of start: a province or city name, a context word (住址：), a district
        # followed by a road.  Taken in order of start; one inside an address found is skipped.
        end = len(text) if endpos is None else endpos
        starts = []
        for m in _address_heads(text, pos, end):
            stop = m.end()
            suffix = _ADDR_SUFFIX.match(text, stop, end)
            if suffix and (m.group() in _ADDR_PROVINCES or suffix.group() == "市"):
                stop = suffix.end()
            starts.append((m.start(), stop, 1))
        for m in _ADDR_CONTEXT.finditer(text, pos, end):
            starts.append((m.end(), m.end(), 0))
        for m in _ADDR_DISTRICT.finditer(text, pos, end):
            at = _district_start(text, m.start(), pos)
            starts.append((at, at, 0))
        starts.sort()
        last = -1
        for start, stop, parts in starts:
            if start < last:
                continue
            stop, parts = _address_end(text, stop, parts, end)
            if parts >= 2:
                last = stop
                yield Span(start, stop, self.type)


# --- persons --------------------------------------------------------------------------------

@register_detector
class PersonDetector(Detector):
    """Person names: context words (姓名, 患者 ...), titles (先生, 女士 ...), surnames."""

    type = "PERSON"
    priority = 20

    def find(self, text: str, pos: int = 0, endpos: int | None = None,
             occupied=frozenset()) -> Iterator[Span]:
        from bentu.privacy import _person

        end = len(text) if endpos is None else endpos
        for start, stop in _person.find_names(text[pos:end], occupied):
            yield Span(pos + start, pos + stop, self.type)


# --- engine ---------------------------------------------------------------------------------

# Runs of Latin letters, digits and the punctuation written inside identifiers.  Every
# "window" detector's match lies inside one such run, so one fast pass finds where to look.
_WINDOW_RE = re.compile(
    "[0-9\uff10-\uff19A-Za-z\uff21-\uff3a\uff41-\uff5a+\uff0b@(\uff08:]"
    "[0-9\uff10-\uff19A-Za-z\uff21-\uff3a\uff41-\uff5a+\uff0b@.\uff0e:_%()\uff08\uff09"
    "\\-\uff0d\u2010\u2013\u00a0 ]*"
)
# Every window type's accepted span holds one of these (a USCC without digits fails its
# region code; the others' regexes ask for digits, an @ or a :).
_WINDOW_KEY = re.compile("[0-9\uff10-\uff19@:]")
BATCH_SEPARATOR = "\x00"


_new_span = partial(tuple.__new__, Span)  # Span from a (start, end, type) tuple, no checks
_start_of, _end_of = itemgetter(0), itemgetter(1)


class PiiEngine:
    """Run a set of detectors over text and resolve overlapping spans.

    Parameters
    ----------
    types : sequence of str, optional
        The PII types to look for; all registered types by default.
    """

    def __init__(self, types=None):
        self.types = tuple(types) if types is not None else tuple(list_detectors())
        detectors = [create_detector(t) for t in self.types]
        self._window = [d for d in detectors if d.scope == "window"]
        self._text = [d for d in detectors if d.scope == "text" and d.type != "PERSON"]
        self._person = next((d for d in detectors if d.type == "PERSON"), None)
        self._priority = {d.type: d.priority for d in detectors}
        self._person_last = self._person is not None and all(
            d.priority > self._person.priority for d in detectors if d is not self._person)
        self._window.sort(key=lambda d: -d.priority)
        self._by_type = {d.type: d for d in self._window}
        self._window_regexes = [(d, d.regex()) for d in self._window]
        self._combined = re.compile("|".join(
            f"(?P<{d.type}>{d.regex().pattern})" for d in self._window))
        # When the validator of the type that matched rejects a candidate, only the types after
        # it in the alternation can match at the same place (those before it did not), so only
        # they are tried, each with its own regex, in priority order.
        self._after = {d.type: [(o, o.regex().match, o.accept, o.type)
                                for o in self._window[i + 1:]]
                       for i, d in enumerate(self._window)}
        self._accept = {d.type: (d.accept, self._after[d.type]) for d in self._window}

    def detect(self, text: str) -> list[Span]:
        """Return the non-overlapping PII spans in ``text``, sorted by start."""
        if not text:
            return []
        return list(map(_new_span, self._detect(text)))

    def _detect(self, text: str) -> list[tuple[int, int, str]]:
        """:meth:`detect` with plain ``(start, end, type)`` tuples."""
        found: list = self._find_in_windows(text) if self._window else []
        for det in self._text:
            found.extend(det.find(text))
        kept = self._resolve(found)
        if self._person is not None:
            occupied = bytearray(len(text))
            for k in kept:
                occupied[k[0]:k[1]] = b"\x01" * (k[1] - k[0])
            from bentu.privacy import _person

            names = _person.find_names(text, occupied)
            if names:
                if self._person_last:
                    # Every span kept so far outranks a name and none overlaps another, so all
                    # of them stay: only the names that miss them compete, among themselves.
                    find = occupied.find
                    kept.extend(self._resolve(
                        [(s, e, "PERSON") for s, e in names if find(1, s, e) < 0]))
                    kept.sort()
                else:
                    kept.extend([(s, e, "PERSON") for s, e in names])
                    kept = self._resolve(kept)
        return kept

    def _find_in_windows(self, text: str) -> list[tuple[int, int, str]]:
        """One combined regex per run of Latin letters and digits; when the validator of the
        type that matched rejects it, the other window types are tried at the same place."""
        out: list = []
        append = out.append
        finditer = self._combined.finditer
        accepts = self._accept
        key = _WINDOW_KEY.search
        for w in _WINDOW_RE.finditer(text):
            ws, we = w.span()
            if we - ws < 7:
                chunk = w.group()
                if "@" not in chunk and ":" not in chunk:
                    continue  # too short for any window type but an e-mail or an IPv6 address
            elif key(text, ws, we) is None:
                continue  # every window type needs a digit, an @ or a : (English prose ...)
            for m in finditer(text, ws, we):
                kind = m.lastgroup
                accept, after = accepts[kind]
                bounds = accept(text, m)
                if bounds is None:
                    at = m.start()
                    for _det, match, accept2, kind2 in after:
                        m2 = match(text, at, we)
                        if m2 is not None:
                            bounds = accept2(text, m2)
                            if bounds is not None:
                                kind = kind2
                                break
                    else:
                        continue
                append((bounds[0], bounds[1], kind))
        return out

    def detect_batch(self, texts: list[str]) -> list[list[Span]]:
        """:meth:`detect` over many texts in one pass (much faster for short texts)."""
        return [list(map(_new_span, spans)) for spans in self._detect_batch(texts)]

    def _detect_batch(self, texts: list[str]) -> list[list[tuple[int, int, str]]]:
        """:meth:`detect_batch` with plain ``(start, end, type)`` tuples."""
        # The texts are joined with BATCH_SEPARATOR, which every detector reads as a boundary
        # no match crosses and no context word reaches over (a clause break, a line break for
        # the layout names): each text gets the spans that detect() gives it alone.
        if not texts:
            return []
        if len(texts) == 1:
            return [self._detect(texts[0]) if texts[0] else []]
        joined = BATCH_SEPARATOR.join(texts)
        if joined.count(BATCH_SEPARATOR) != len(texts) - 1:
            # A text holds the separator: that text alone (replacing its "\x00" would change
            # what it means there, a clause break), the others together.
            out: list[list] = [[] for _ in texts]
            plain = [i for i, t in enumerate(texts) if BATCH_SEPARATOR not in t]
            for i, spans in zip(plain, self._detect_batch([texts[i] for i in plain])):
                out[i] = spans
            for i, t in enumerate(texts):
                if BATCH_SEPARATOR in t:
                    out[i] = self._detect(t)
            return out
        starts, pos = [], 0
        for t in texts:
            starts.append(pos)
            pos += len(t) + 1
        out = [[] for _ in texts]
        idx, base, n = 0, 0, len(starts)
        nxt = starts[1] if n > 1 else pos + 1
        row = out[0]
        for s, e, kind in self._detect(joined):
            if s >= nxt:
                while idx + 1 < n and starts[idx + 1] <= s:
                    idx += 1
                base = starts[idx]
                nxt = starts[idx + 1] if idx + 1 < n else pos + 1
                row = out[idx]
            row.append((s - base, e - base, kind))
        return out

    def _resolve(self, found: list) -> list:
        found.sort()
        if not any(map(_gt, map(_end_of, found), map(_start_of, islice(found, 1, None)))):
            return found  # the common case: nothing overlaps
        prio = self._priority
        found.sort(key=lambda s: (-prio[s[2]], -(s[1] - s[0]), s[0]))
        kept: list = []
        taken = bytearray(max(s[1] for s in found))
        for span in found:
            start, end = span[0], span[1]
            if taken.find(1, start, end) < 0:
                kept.append(span)
                taken[start:end] = b"\x01" * (end - start)
        kept.sort()
        return kept


@lru_cache(maxsize=1)
def _default_engine() -> PiiEngine:
    return PiiEngine()


def detect_batch(texts: list[str]) -> list[list[Span]]:
    """:func:`detect` over many texts at once; the result lists line up with ``texts``."""
    return _default_engine().detect_batch(texts)


def detect(text: str) -> list[Span]:
    """Find PII spans in ``text`` with every registered detector.

    Parameters
    ----------
    text : str
        Any text; Chinese, English or mixed, half- or full-width.

    Returns
    -------
    list of Span
        Non-overlapping spans, sorted by start; offsets are code-point indices, end exclusive.
    """
    return _default_engine().detect(text)
