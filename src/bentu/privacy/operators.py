"""De-identification operators: display masking, keyed pseudonymisation, generalisation,
suppression and format-preserving replacement.

Pseudonyms are ``HMAC-SHA256(key, TYPE + ":" + canonical value)``: the canonical form removes
the way a value was written (``+86 138-0013-8000`` and ``13800138000`` are the same person), so
the same person gets the same pseudonym in every file and at every institution that holds the
same key, and records still join.  The key is never logged or written.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bentu.errors import ConfigError, DataError
from bentu.privacy import _checksums as ck
from bentu.privacy import _lexicon as lex

__all__ = [
    "OPERATORS",
    "PseudonymKey",
    "load_key",
    "canonical",
    "mask",
    "pseudonymize",
    "generalize_age",
    "generalize_date",
    "generalize_address",
    "replace",
    "apply_operator",
]

OPERATORS = ("mask", "pseudonymize", "generalize", "suppress", "replace", "keep", "tag")
#: The placeholder the ``tag`` operator writes for each PII type (a text keeps reading naturally,
#: e.g. for a language model's training corpus: "请拨打[手机号]").
TAGS = {
    "CN_ID_CARD": "[身份证号]", "CN_PHONE": "[手机号]", "CN_LANDLINE": "[电话]", "BANK_CARD": "[银行卡号]",
    "CN_USCC": "[信用代码]", "EMAIL": "[邮箱]", "IP_ADDRESS": "[IP地址]", "CN_PASSPORT": "[护照号]",
    "CN_LICENSE_PLATE": "[车牌号]", "PERSON": "[姓名]", "ADDRESS": "[地址]",
}

# Display masking defaults (practice, not the text of JR/T 0171): characters kept at each end.
MASK_DEFAULTS = {
    "CN_ID_CARD": (6, 4), "CN_PHONE": (3, 4), "BANK_CARD": (6, 4), "CN_LANDLINE": (4, 2),
    "CN_USCC": (2, 4), "CN_PASSPORT": (1, 3), "CN_LICENSE_PLATE": (2, 1), "IP_ADDRESS": (0, 0),
    "PERSON": (1, 0), "ADDRESS": (6, 0), "EMAIL": (1, 0),
}
_PREFIXES = {"CN_ID_CARD": "ID", "CN_PHONE": "PH", "CN_LANDLINE": "TEL", "BANK_CARD": "CARD",
             "CN_USCC": "ORG", "EMAIL": "EM", "IP_ADDRESS": "IP", "CN_PASSPORT": "PP",
             "CN_LICENSE_PLATE": "CAR", "PERSON": "P", "ADDRESS": "ADDR"}
_SIGNIFICANT = re.compile("[0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u4e00-\u9fff]")


@dataclass(frozen=True, repr=False)
class PseudonymKey:
    """A pseudonymisation key and where it came from; ``repr`` never shows the key."""

    secret: bytes
    source: str  # "env:NAME", "file", or "ephemeral"

    def __repr__(self) -> str:
        return f"PseudonymKey(source={self.source!r})"


def load_key(key_env: str = "BENTU_PSEUDONYM_KEY", key_file: str | Path | None = None,
             ephemeral: bool = True) -> PseudonymKey:
    """Read the pseudonymisation key from ``key_file`` (if given) or the environment.

    Parameters
    ----------
    key_env : str
        Environment variable holding the key (any string of at least 16 characters).
    key_file : path, optional
        File holding the key; takes precedence over the environment when given.
    ephemeral : bool
        When neither is present, return a random key (pseudonyms then do not join across runs)
        instead of raising.

    Raises
    ------
    DataError
        The key file is missing or empty, the key is shorter than 16 characters, or there is
        no key and ``ephemeral`` is false.
    """
    if key_file is not None:
        path = Path(key_file)
        if not path.is_file():
            raise DataError(
                f"Key file '{path}' does not exist. Create it (e.g. `openssl rand -hex 32 > {path}`)"
                f" or set the {key_env} environment variable.",
                f"密钥文件 '{path}' 不存在。请创建它（例如 `openssl rand -hex 32 > {path}`），"
                f"或设置环境变量 {key_env}。")
        return _checked(path.read_bytes().strip(), "file", f"key file '{path}'", f"密钥文件 '{path}'")
    value = os.environ.get(key_env)
    if value:
        return _checked(value.strip().encode(), f"env:{key_env}", f"environment variable {key_env}",
                        f"环境变量 {key_env}")
    if ephemeral:
        return PseudonymKey(secrets.token_bytes(32), "ephemeral")
    raise DataError(
        f"No pseudonymisation key: the environment variable {key_env} is not set and no key file "
        f"was given. Set {key_env} (e.g. `export {key_env}=$(openssl rand -hex 32)`), pass "
        "--key-file FILE, or pass --ephemeral-key to use a random key whose pseudonyms will not "
        "match those of any other run.",
        f"没有假名化密钥：环境变量 {key_env} 未设置，也没有给出密钥文件。请设置 {key_env}"
        f"（例如 `export {key_env}=$(openssl rand -hex 32)`），或使用 --key-file FILE，"
        "或使用 --ephemeral-key 以随机密钥运行（其假名无法与其他运行的结果关联）。")


def _checked(secret: bytes, source: str, where_en: str, where_zh: str) -> PseudonymKey:
    if len(secret) < 16:
        raise DataError(
            f"The pseudonymisation key in {where_en} is too short: expected at least 16 "
            f"characters, got {len(secret)}. Use e.g. `openssl rand -hex 32`.",
            f"{where_zh} 中的假名化密钥太短：至少需要 16 个字符，实际 {len(secret)} 个。"
            "可使用 `openssl rand -hex 32` 生成。")
    return PseudonymKey(secret, source)


def canonical(value: str, pii_type: str | None) -> str:
    """The form of ``value`` that does not depend on how it was written."""
    text = ck.to_halfwidth(str(value)).strip()
    if pii_type in ("CN_ID_CARD", "BANK_CARD", "CN_USCC", "CN_PASSPORT", "CN_LANDLINE",
                    "CN_LICENSE_PLATE"):
        text = ck.compact(text).replace("·", "").replace("•", "")
    elif pii_type == "CN_PHONE":
        digits = ck.compact(text).lstrip("+")
        text = digits[-11:]
    elif pii_type in ("EMAIL", "IP_ADDRESS"):
        text = text.lower()
    else:
        text = re.sub(r"\s+", "", text)
    if pii_type == "CN_ID_CARD" and len(text) == 15 and text.isdigit():
        body = text[:6] + "19" + text[6:]  # legacy IDs join with their 18-digit upgrade
        text = body + ck.id18_check_char(body)
    return text


def pseudonymize(value: str, key: PseudonymKey, pii_type: str | None = None,
                 length: int = 16) -> str:
    """Keyed pseudonym ``PREFIX_<hex>`` of ``value`` (HMAC-SHA256 over its canonical form)."""
    return _pseudonym(str(value), key, pii_type, length)


@lru_cache(maxsize=1 << 16)
def _pseudonym(value: str, key: PseudonymKey, pii_type: str | None, length: int) -> str:
    label = pii_type or "VALUE"
    digest = hmac.digest(key.secret, f"{label}:{canonical(value, pii_type)}".encode(), "sha256")
    return f"{_PREFIXES.get(label, 'X')}_{digest.hex()[:length]}"


def mask(value: str, pii_type: str | None = None, keep_head: int | None = None,
         keep_tail: int | None = None, char: str = "*") -> str:
    """Display masking: keep ``keep_head`` and ``keep_tail`` significant characters, replace
    the others with ``char``; separators, a ``+86`` prefix and an e-mail domain stay."""
    head, tail = MASK_DEFAULTS.get(pii_type, (1, 1))
    head = head if keep_head is None else keep_head
    tail = tail if keep_tail is None else keep_tail
    text = str(value)
    suffix = ""
    if pii_type == "EMAIL" and "@" in text:
        text, domain = text.split("@", 1)
        suffix = "@" + domain
    prefix = ""
    if pii_type == "CN_PHONE":
        m = re.match(r"^(?:[+\uff0b]?(?:00)?86[ \-)\uff09]?|[(\uff08][+\uff0b]?86[)\uff09]\s?)", text)
        if m and len(ck.compact(text)) > 11:
            prefix, text = text[:m.end()], text[m.end():]
    positions = [m.start() for m in _SIGNIFICANT.finditer(text)]
    hide = positions[head:len(positions) - tail if tail else None]
    chars = list(text)
    for i in hide:
        chars[i] = char
    return prefix + "".join(chars) + suffix


def generalize_age(age, width: int = 10):
    """Age → band: the band's midpoint for numbers (keeps a numeric column numeric)."""
    try:
        a = float(age)
    except (TypeError, ValueError):
        return age
    if math.isnan(a):
        return age
    low = math.floor(a / width) * width
    return low + (width - 1) / 2


def generalize_date(value) -> str:
    """Date → month (``2023-05``)."""
    m = re.match(r"\s*(\d{4})\D?(\d{1,2})", ck.to_halfwidth(str(value)))
    return f"{m.group(1)}-{int(m.group(2)):02d}" if m else str(value)


_CITY_CUT = re.compile(r"^.*?(?:自治州|地区|盟|市)")


def generalize_address(value: str) -> str:
    """Address → city (``浙江省杭州市西湖区文三路100号`` → ``浙江省杭州市``)."""
    text = str(value)
    m = _CITY_CUT.match(text)
    if m and len(m.group()) <= 12:
        return m.group()
    for prov in sorted(lex.PROVINCE_FULL, key=len, reverse=True):
        if text.startswith(prov):
            return prov
    return text[:2]


def _stream(key: PseudonymKey, value: str, pii_type: str):
    counter = 0
    while True:
        block = hmac.new(key.secret, f"FPE:{counter}:{pii_type}:{canonical(value, pii_type)}"
                         .encode(), hashlib.sha256).digest()
        yield from block
        counter += 1


def replace(value: str, key: PseudonymKey, pii_type: str | None) -> str:
    """Format-preserving replacement: a keyed, deterministic fake of the same shape (same
    separators, width and alphabet; IDs, cards and USCCs keep valid check characters; IDs keep
    their region and birth year; phones keep their 3-digit prefix; e-mail keeps its domain)."""
    text = str(value)
    rnd = _stream(key, text, pii_type or "VALUE")
    if pii_type == "PERSON":
        sl = 2 if text[:2] in lex.COMPOUND_SURNAMES else 1
        given = sorted(lex.GIVEN_NAME_CHARS)
        return text[:sl] + "".join(given[next(rnd) % len(given)] for _ in text[sl:])
    if pii_type == "ADDRESS":
        return generalize_address(text) + "某路" + str(next(rnd) % 900 + 100) + "号"
    if pii_type == "EMAIL" and "@" in text:
        user, domain = text.split("@", 1)
        return "u" + "".join("0123456789abcdef"[next(rnd) % 16] for _ in range(max(6, len(user) - 1))) \
               + "@" + domain
    positions = [m.start() for m in _SIGNIFICANT.finditer(text)]
    keep = {"CN_ID_CARD": 10, "CN_PHONE": 3, "BANK_CARD": 6, "CN_LANDLINE": 4, "CN_USCC": 8,
            "CN_LICENSE_PLATE": 2, "CN_PASSPORT": 1}.get(pii_type, 0)
    if pii_type == "CN_PHONE" and len(positions) > 11:
        keep += len(positions) - 11
    chars = list(text)
    for i in positions[keep:]:
        chars[i] = _same_class(chars[i], next(rnd))
    out = "".join(chars)
    return _fix_check(out, pii_type, positions)


def _same_class(ch: str, r: int) -> str:
    half = ck.to_halfwidth(ch)
    if half.isdigit():
        d = str(r % 10)
        return d.translate(str.maketrans("0123456789", "０１２３４５６７８９")) if half != ch else d
    if half.isalpha() and half.isascii():
        letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
        c = letters[r % len(letters)]
        return c.lower() if half.islower() else c
    return ch


def _fix_check(text: str, pii_type: str | None, positions: list[int]) -> str:
    """Recompute the check character so the fake passes the same validator."""
    if not positions or pii_type not in ("CN_ID_CARD", "BANK_CARD", "CN_USCC"):
        return text
    sig = ck.compact("".join(text[i] for i in positions))
    if pii_type == "CN_ID_CARD" and len(sig) == 18:
        body = sig[:14] + sig[14:17]
        month_day = ck.real_date(int(sig[6:10]), int(sig[10:12]), int(sig[12:14]))
        if not month_day:
            body = sig[:10] + "0101" + sig[14:17]
        check = ck.id18_check_char(body)
        new = body + check
    elif pii_type == "BANK_CARD" and 12 <= len(sig) <= 19 and sig.isdigit():
        new = sig[:-1] + ck.luhn_check_digit(sig[:-1])
    elif pii_type == "CN_USCC" and len(sig) == 18:
        body = "".join(c if c in "0123456789ABCDEFGHJKLMNPQRTUWXY" else "0" for c in sig[:17])
        new = body + ck.uscc_check_char(body)
    else:
        return text
    chars = list(text)
    for i, c in zip(positions, new):
        orig = chars[i]
        chars[i] = c.lower() if orig.islower() else c
        if "\uff10" <= orig <= "\uff19" or orig in "\uff38\uff58":
            chars[i] = ck.to_halfwidth(c).translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    return "".join(chars)


def apply_operator(value, op: dict, pii_type: str | None, key: PseudonymKey | None):
    """Apply one operator spec ``{"op": ..., params}`` to one value (a cell or a span)."""
    name = op["op"]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return value
    if name == "keep":
        return value
    if name == "suppress":
        return None
    if name == "tag":
        return TAGS.get(pii_type or "", "[个人信息]")
    if name == "mask":
        return mask(str(value), pii_type, op.get("keep_head"), op.get("keep_tail"), op.get("char", "*"))
    if name in ("pseudonymize", "replace"):
        if key is None:
            raise ConfigError("Operator '" + name + "' needs a pseudonymisation key.",
                              "操作 '" + name + "' 需要假名化密钥。")
        if name == "pseudonymize":
            return pseudonymize(str(value), key, pii_type, int(op.get("length", 16)))
        return replace(str(value), key, pii_type)
    if name == "generalize":
        kind = op.get("to") or {"ADDRESS": "city", "DATE": "month"}.get(pii_type or "", "band")
        if kind == "city":
            return generalize_address(str(value))
        if kind == "month":
            return generalize_date(value)
        return generalize_age(value, int(op.get("width", 10)))
    raise ConfigError(f"Unknown operator {name!r}.", f"未知操作 {name!r}。")
