"""Check digits and structural validators for Chinese identifiers (REFERENCE.md §2)."""

from __future__ import annotations

import datetime as _dt
import re

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
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_MOBILE = re.compile(r"1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])\d{8}")


def to_halfwidth(text: str) -> str:
    """Map full-width digits, letters and ``+-.@`` to ASCII."""
    return text.translate(_FULLWIDTH)


def compact(text: str) -> str:
    """Half-width, upper-case, without spaces, dashes, dots or brackets."""
    return _SEPARATORS.sub("", to_halfwidth(text)).upper()


def real_date(year: int, month: int, day: int) -> bool:
    """True when the date exists and is not in the future."""
    try:
        date = _dt.date(year, month, day)
    except ValueError:
        return False
    return _dt.date(1900, 1, 1) <= date <= _dt.date.today()


def id18_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def id18_valid(code: str) -> bool:
    """Valid 18-character resident ID: region, real birth date, MOD 11-2 check."""
    if len(code) != 18 or not code[:17].isdigit() or code[:2] not in PROVINCE_CODES:
        return False
    if not real_date(int(code[6:10]), int(code[10:12]), int(code[12:14])):
        return False
    return id18_check_char(code[:17]) == code[17].upper()


def id15_valid(code: str) -> bool:
    """Valid 15-digit legacy resident ID: region and real birth date (19YYMMDD)."""
    if len(code) != 15 or not code.isdigit() or code[:2] not in PROVINCE_CODES:
        return False
    return real_date(1900 + int(code[6:8]), int(code[8:10]), int(code[10:12]))


def luhn_valid(digits: str) -> bool:
    """Luhn (mod 10) check used by payment cards."""
    if not digits.isdigit():
        return False
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
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS))
    return _USCC_CHARS[(31 - total % 31) % 31]


def uscc_valid(code: str) -> bool:
    """Valid unified social credit code: alphabet, region digits, GB 32100 check."""
    code = code.upper()
    if len(code) != 18 or any(c not in _USCC_VALUE for c in code):
        return False
    if code[0] not in "123456789ANY" or not code[2:8].isdigit() or code[2:4] not in PROVINCE_CODES | {"10"}:
        return False
    return uscc_check_char(code[:17]) == code[17]


def mobile_valid(digits: str) -> bool:
    """An 11-digit mainland mobile number in an allocated range (MIIT 2023)."""
    return _MOBILE.fullmatch(digits) is not None
