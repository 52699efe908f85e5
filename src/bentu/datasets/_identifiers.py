"""Valid Chinese personal identifiers for simulated data, and their validators.

Formats follow ``REFERENCE.md`` §2:

* resident ID (GB 11643-1999): 6-digit region + ``YYYYMMDD`` + 3-digit sequence (odd for men,
  even for women) + ISO 7064 MOD 11-2 check character;
* mobile number: the MIIT allocation of March 2023,
  ``1(3\\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\\d|9[0-35-9])\\d{8}``;
* names: a surname drawn from a weighted list of common surnames (a few compound ones included)
  plus a one- or two-character given name.

The generators are vectorised over a :class:`numpy.random.Generator`, so a seed fixes every value.
"""

from __future__ import annotations

import datetime as _dt
import re

import numpy as np

__all__ = [
    "PROVINCE_REGION_CODES",
    "resident_id_check_char",
    "valid_resident_id",
    "valid_mobile",
    "make_resident_ids",
    "make_mobiles",
    "make_names",
]

#: Real 6-digit administrative division codes (county level, GB/T 2260), a few per province.
PROVINCE_REGION_CODES: dict[str, tuple[str, ...]] = {
    "北京": ("110101", "110105", "110106", "110108"),  # 东城 朝阳 丰台 海淀
    "广东": ("440103", "440104", "440305", "440604", "441900"),  # 荔湾 越秀 南山 禅城 东莞
    "浙江": ("330102", "330106", "330203", "330302"),  # 上城 西湖 海曙 鹿城
    "四川": ("510104", "510107", "510703", "511302"),  # 锦江 武侯 涪城 顺庆
    "河南": ("410102", "410105", "410302", "411402"),  # 中原 金水 老城 梁园
    "甘肃": ("620102", "620103", "620502", "621102"),  # 城关 七里河 秦州 安定
    "湖南": ("430102", "430602", "430702"),  # 芙蓉 岳阳楼 武陵
    "安徽": ("340102", "340202", "341202"),  # 瑶海 镜湖 颍州
    "广西": ("450102", "450202", "450305"),  # 兴宁 城中 七星
}

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"\d{17}[\dX]")
_MOBILE_RE = re.compile(r"1(3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])\d{8}")
_MOBILE_PREFIXES = np.array(
    [p for p in range(130, 200) if _MOBILE_RE.fullmatch(f"{p}00000000")], dtype=np.int64
)

# Common surnames with approximate relative frequency (per mille of population), plus compound ones.
_SURNAMES = {
    "王": 71, "李": 70, "张": 68, "刘": 53, "陈": 46, "杨": 32, "黄": 23, "赵": 22, "吴": 20,
    "周": 20, "徐": 13, "孙": 12, "马": 12, "朱": 11, "胡": 11, "郭": 10, "何": 10, "林": 9,
    "高": 9, "罗": 9, "郑": 8, "梁": 8, "谢": 6, "宋": 6, "唐": 6, "许": 5, "韩": 5, "冯": 5,
    "邓": 5, "曹": 5, "彭": 5, "曾": 5, "肖": 5, "田": 4, "董": 4, "潘": 4, "袁": 4, "蔡": 4,
    "蒋": 4, "余": 4, "于": 4, "杜": 4, "叶": 4, "程": 3, "魏": 3, "苏": 3, "吕": 3, "丁": 3,
    "任": 3, "卢": 3, "姚": 3, "沈": 3, "钟": 3, "姜": 3, "崔": 3, "谭": 3, "陆": 3, "范": 3,
    "欧阳": 0.6, "司马": 0.2, "上官": 0.2, "诸葛": 0.1, "东方": 0.1, "慕容": 0.05,
}
_GIVEN_MALE = tuple("伟强磊军勇杰涛明超斌刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林建国志文博")
_GIVEN_FEMALE = tuple("芳娜敏静丽艳娟霞秀玲桂英燕萍红洁琳倩颖婷雪慧莉佳欣怡梅晶月琴云")


def resident_id_check_char(first17: str) -> str:
    """Return the GB 11643 MOD 11-2 check character of the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def valid_resident_id(s: str) -> bool:
    """Return whether ``s`` is a valid 18-character resident ID.

    Checks the form (17 digits + digit or ``X``), a real birth date not in the future and not
    before 1900, and the MOD 11-2 check character. The region code is not looked up.
    """
    if not isinstance(s, str) or not _ID_RE.fullmatch(s):
        return False
    try:
        born = _dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    if not _dt.date(1900, 1, 1) <= born <= _dt.date.today():
        return False
    return resident_id_check_char(s[:17]) == s[17]


def valid_mobile(s: str) -> bool:
    """Return whether ``s`` is an 11-digit mainland mobile number in the MIIT 2023 allocation."""
    return isinstance(s, str) and _MOBILE_RE.fullmatch(s) is not None


def make_resident_ids(
    rng: np.random.Generator,
    provinces: np.ndarray,
    birth_dates: np.ndarray,
    male: np.ndarray,
) -> np.ndarray:
    """Draw unique resident IDs consistent with province, birth date and sex.

    ``birth_dates`` is ``datetime64[D]``; ``male`` is boolean. Collisions (same region, date and
    sequence) are redrawn, so every returned ID is distinct.
    """
    n = len(provinces)
    region = np.empty(n, dtype="<U6")
    for prov in np.unique(provinces):
        idx = np.flatnonzero(provinces == prov)
        region[idx] = rng.choice(PROVINCE_REGION_CODES[prov], size=idx.size)
    dates = np.char.replace(np.datetime_as_string(birth_dates, unit="D"), "-", "")
    seq = _draw_sequences(rng, n, male)
    ids = _assemble_ids(region, dates, seq)
    _, first = np.unique(ids, return_index=True)
    dup = np.setdiff1d(np.arange(n), first)
    while dup.size:  # rare: redraw the sequence of later duplicates until all IDs are distinct
        seq[dup] = _draw_sequences(rng, dup.size, male[dup])
        ids = _assemble_ids(region, dates, seq)
        _, first = np.unique(ids, return_index=True)
        dup = np.setdiff1d(np.arange(n), first)
    return ids


def _draw_sequences(rng: np.random.Generator, n: int, male: np.ndarray) -> np.ndarray:
    """Three-digit sequence numbers 001..999 whose parity encodes sex (odd = male)."""
    half = rng.integers(0, 500, size=n)  # 0..499
    return np.where(male, 2 * half + 1, np.maximum(2 * half, 2))


def _assemble_ids(region: np.ndarray, dates: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Concatenate region, date and sequence and append the check character."""
    body = np.char.add(np.char.add(region, dates), np.char.zfill(seq.astype(str), 3))
    digits = body.astype("<U17").view(np.uint32).reshape(len(body), 17).astype(np.int64) - ord("0")
    check = np.array(list(_ID_CHECK))[(digits @ _ID_WEIGHTS) % 11]
    return np.char.add(body, check)


def make_mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw ``n`` distinct valid 11-digit mobile numbers."""
    prefix = rng.choice(_MOBILE_PREFIXES, size=n)
    numbers = prefix * 10**8 + rng.integers(0, 10**8, size=n)
    _, first = np.unique(numbers, return_index=True)
    dup = np.setdiff1d(np.arange(n), first)
    while dup.size:
        numbers[dup] = rng.choice(_MOBILE_PREFIXES, size=dup.size) * 10**8 + rng.integers(
            0, 10**8, size=dup.size
        )
        _, first = np.unique(numbers, return_index=True)
        dup = np.setdiff1d(np.arange(n), first)
    return numbers.astype(str)


def make_names(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    """Draw Chinese full names: weighted surname + one or two given-name characters by sex."""
    n = len(male)
    surnames = np.array(list(_SURNAMES))
    weights = np.array(list(_SURNAMES.values()), dtype=float)
    family = rng.choice(surnames, size=n, p=weights / weights.sum())
    pool_m, pool_f = np.array(_GIVEN_MALE), np.array(_GIVEN_FEMALE)
    first = np.where(male, rng.choice(pool_m, size=n), rng.choice(pool_f, size=n))
    second = np.where(male, rng.choice(pool_m, size=n), rng.choice(pool_f, size=n))
    two_chars = rng.random(n) < 0.7
    given = np.where(two_chars, np.char.add(first, second), first)
    return np.char.add(family, given)
