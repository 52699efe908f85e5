"""Planted identifiers for the masking tests: valid-checksum ID cards, mobiles, Luhn bank cards, names, addresses."""

from __future__ import annotations

import datetime as dt
import random

_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_REGIONS = ("110105", "310115", "440106", "330106", "510107", "320106", "420102", "610113")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = ("伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "桂英", "建华", "志强")
_PLACES = (("北京市", "海淀区", "学院路"), ("上海市", "浦东新区", "世纪大道"), ("广东省广州市", "天河区", "体育西路"),
           ("浙江省杭州市", "西湖区", "文三路"), ("江苏省南京市", "鼓楼区", "中山路"), ("湖北省武汉市", "武昌区", "中南路"))


def id_card(rng: random.Random) -> str:
    d = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20000))
    first = rng.choice(_REGIONS) + d.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
    return first + "10X98765432"[sum(int(c) * w for c, w in zip(first, _W)) % 11]


def mobile(rng: random.Random) -> str:
    return rng.choice(("138", "139", "150", "186", "199", "177")) + f"{rng.randrange(10**8):08d}"


def bank_card(rng: random.Random) -> str:
    body = "622202" + "".join(str(rng.randrange(10)) for _ in range(9))
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN)


def address(rng: random.Random) -> str:
    city, district, road = rng.choice(_PLACES)
    return f"{city}{district}{road}{rng.randrange(1, 300)}号"


def planted_prompts(n_prompts: int = 200, seed: int = 0) -> list[tuple[str, dict[str, str]]]:
    """``n_prompts`` mixed prompts, each with one identifier of each of the five types (5 × n in all)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n_prompts):
        v = {"PERSON": name(rng), "CN_ID_CARD": id_card(rng), "CN_PHONE": mobile(rng),
             "BANK_CARD": bank_card(rng), "ADDRESS": address(rng)}
        text = rng.choice((
            "客户{PERSON}，身份证号{CN_ID_CARD}，手机{CN_PHONE}，想查询尾号为{BANK_CARD}的银行卡的贷款额度，住址{ADDRESS}。",
            "我叫{PERSON}，电话是{CN_PHONE}。我的银行卡号：{BANK_CARD}，身份证{CN_ID_CARD}，家住{ADDRESS}，请帮我写一封投诉信。",
            "患者{PERSON}（身份证 {CN_ID_CARD}）住在{ADDRESS}，联系电话 {CN_PHONE}，医保结算卡 {BANK_CARD}，请总结病历。",
        )).format(**v)
        out.append((text, v))
    return out
