"""Check digits and structural validators for Chinese identifiers (REFERENCE.md §2)."""

from __future__ import annotations

import datetime as _dt
import re
from operator import mul as _mul

_FULLWIDTH = {0xFF10 + i: 0x30 + i for i in range(10)}
_FULLWIDTH.update({0xFF21 + i: 0x41 + i for i in range(26)})
_FULLWIDTH.update({0xFF41 + i: 0x61 + i for i in range(26)})
_FULLWIDTH.update({0xFF0B: 0x2B, 0xFF0D: 0x2D, 0x3000: 0x20, 0xFF0E: 0x2E, 0xFF20: 0x40})
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u00b7\u2022()（）]")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Province-level region codes of GB/T 2260 (first two digits of a resident ID).
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
    "61 62 63 64 65 71 81 82".split()
)
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_CHARS)}
_USCC_SET = frozenset(_USCC_CHARS)
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_REGIONS = PROVINCE_CODES | {"10"}
_MOBILE = re.compile(r"1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])\d{8}")


def to_halfwidth(text: str) -> str:
    """Map full-width digits, letters and ``+-.@`` to ASCII."""
    return text.translate(_FULLWIDTH)


def compact(text: str) -> str:
    """Half-width, upper-case, without spaces, dashes, dots or brackets."""
    if text.isascii() and text.isalnum():
        return text.upper()  # the common case: nothing to translate or remove
    return _SEPARATORS.sub("", to_halfwidth(text)).upper()


_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_today = [(0, 0, 0)]  # (y, m, d) of the last date.today(): dates only move forward


def _not_future(date: tuple[int, int, int]) -> bool:
    if date <= _today[0]:
        return True
    d = _dt.date.today()  # asked again only for a date after the one last seen
    _today[0] = (d.year, d.month, d.day)
    return date <= _today[0]


def real_date(year: int, month: int, day: int) -> bool:
    """True when the date exists and is not in the future."""
    if year < 1900 or not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month]:
        return False
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 or year % 400 == 0)):
        return False
    return _not_future((year, month, day))


def id18_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID."""
    if first17.isascii():
        # ASCII digits: their bytes are the digit + 48, and the weights sum to 100.
        total = sum(map(_mul, first17.encode("ascii"), _ID_WEIGHTS)) - 48 * sum(
            _ID_WEIGHTS[:len(first17)])
    else:
        total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def id18_valid(code: str) -> bool:
    """Valid 18-character resident ID: region, real birth date, MOD 11-2 check."""
    head = code[:17]
    if len(code) != 18 or not head.isdigit() or code[:2] not in PROVINCE_CODES:
        return False
    if not real_date(int(code[6:10]), int(code[10:12]), int(code[12:14])):
        return False
    return id18_check_char(head) == code[17].upper()


def id15_valid(code: str) -> bool:
    """Valid 15-digit legacy resident ID: region and real birth date (19YYMMDD)."""
    if len(code) != 15 or not code.isdigit() or code[:2] not in PROVINCE_CODES:
        return False
    return real_date(1900 + int(code[6:8]), int(code[8:10]), int(code[10:12]))


# Luhn: every second digit from the right is doubled (minus 9 above 9): 0→0 1→2 ... 5→1 ... 9→9.
_LUHN_DOUBLE = bytes.maketrans(b"0123456789", b"0246813579")


def luhn_valid(digits: str) -> bool:
    """Luhn (mod 10) check used by payment cards."""
    if not digits.isdigit():
        return False
    if not digits.isascii():
        return _luhn_slow(digits)
    b = digits.encode("ascii")
    odd = b[-1::-2]
    even = b[-2::-2].translate(_LUHN_DOUBLE)
    return (sum(odd) + sum(even) - 48 * len(b)) % 10 == 0


def _luhn_slow(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = ord(c) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` Luhn-valid."""
    for d in "0123456789":
        if luhn_valid(payload + d):
            return d
    raise AssertionError("unreachable")


def uscc_check_char(first17: str) -> str:
    """GB 32100-2015 check character of the first 17 characters."""
    total = sum(map(_mul, map(_USCC_VALUE.__getitem__, first17), _USCC_WEIGHTS))
    return _USCC_CHARS[(31 - total % 31) % 31]


def uscc_valid(code: str) -> bool:
    """Valid unified social credit code: alphabet, region digits, GB 32100 check."""
    code = code.upper()
    if len(code) != 18 or not _USCC_SET.issuperset(code):
        return False
    if code[0] not in "123456789ANY" or not code[2:8].isdigit() or code[2:4] not in _USCC_REGIONS:
        return False
    return uscc_check_char(code[:17]) == code[17]


def mobile_valid(digits: str) -> bool:
    """An 11-digit mainland mobile number in an allocated range (MIIT 2023)."""
    return _MOBILE.fullmatch(digits) is not None
