"""Independent PII evaluation corpus (issue 19), written apart from ``bentu.privacy``.

It imports nothing from bentu: its own surname / given-name / place / road / compound / plate /
area-code lists and its own templates, in styles the detectors were not written against (forms,
chat logs, medical notes, loan files, CSV lines, customer-service transcripts, records without
PII, look-alike numbers). Each record is one JSON line::

    {"id": 7, "style": "chat", "text": "...",
     "spans": [{"start": 3, "end": 5, "type": "PERSON"}, ...],
     "lookalikes": [{"start": 40, "end": 49, "kind": "batch"}, ...]}

Offsets are Python ``str`` indices, end exclusive. The span conventions are those of
``docs/privacy.md`` ("Evaluation corpus v2"). ``lookalikes`` mark strings that resemble an
identifier but are not one (a batch number, a fault code, an 18-digit number whose check fails
...): any detected span overlapping one is a false alarm.

    python bench/pii_corpus_v2/generate.py                    # seed 1, 600 records
    python bench/pii_corpus_v2/generate.py --seed 7 --holdout --out /tmp/fresh.jsonl

``--holdout`` adds templates held out while the detectors were tuned (waybills, hotel
registrations, school rosters, police statements).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------------------------
# Lists (this generator's own)

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左"
    "柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶"
    "解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬"
    "边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝")
COMPOUND = ["欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "尉迟", "公孙", "长孙",
            "夏侯", "端木", "司徒", "西门", "南宫", "宇文", "轩辕", "呼延", "澹台"]
GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏建国志文斌宇浩凯健俊帆帅旭宁"
    "婷雪琳晨辰欣怡佳悦子涵梓轩睿博彬鑫淼森楠琪瑶璐露雯倩颖蕾薇嘉航昊然诗雨思源晓峰海燕春梅冬"
    "秋菊荣光辉亮晶德福禄寿喜庆祥瑞安康泽宏伦琦鸿毅坤岩松柏桦楷铭锐锋钧诚信恒晖哲翔耀昭蓉芸")
PINYIN = {"王": "wang", "李": "li", "张": "zhang", "刘": "liu", "陈": "chen", "杨": "yang",
          "黄": "huang", "赵": "zhao", "吴": "wu", "周": "zhou", "徐": "xu", "孙": "sun"}
TITLES = ["先生", "女士", "经理", "主任", "医生", "老师", "律师", "总", "阿姨", "师傅", "护士长",
          "科长", "处长", "同学"]

# province, city (as written), districts / counties
GAZETTEER = [
    ("浙江省", "杭州市", ["拱墅区", "西湖区", "上城区", "滨江区", "余杭区", "萧山区"]),
    ("浙江省", "宁波市", ["鄞州区", "海曙区", "江北区"]),
    ("浙江省", "温州市", ["鹿城区", "瓯海区", "乐清市"]),
    ("江苏省", "南京市", ["玄武区", "鼓楼区", "建邺区", "江宁区"]),
    ("江苏省", "苏州市", ["姑苏区", "工业园区", "吴中区", "昆山市"]),
    ("广东省", "广州市", ["天河区", "越秀区", "海珠区", "番禺区", "白云区"]),
    ("广东省", "深圳市", ["南山区", "福田区", "宝安区", "龙岗区"]),
    ("四川省", "成都市", ["武侯区", "锦江区", "青羊区", "金牛区", "成华区", "双流区"]),
    ("湖北省", "武汉市", ["江汉区", "武昌区", "洪山区", "江岸区"]),
    ("湖南省", "长沙市", ["岳麓区", "芙蓉区", "天心区", "雨花区"]),
    ("河南省", "郑州市", ["金水区", "二七区", "中原区"]),
    ("河南省", "周口市", ["川汇区", "郸城县", "项城市"]),
    ("山东省", "济南市", ["历下区", "市中区", "槐荫区"]),
    ("山东省", "青岛市", ["市南区", "崂山区", "黄岛区"]),
    ("福建省", "厦门市", ["思明区", "湖里区", "集美区"]),
    ("陕西省", "西安市", ["雁塔区", "碑林区", "未央区"]),
    ("河北省", "石家庄市", ["长安区", "桥西区", "裕华区"]),
    ("安徽省", "合肥市", ["蜀山区", "包河区", "庐阳区"]),
    ("辽宁省", "沈阳市", ["和平区", "沈河区", "铁西区"]),
    ("黑龙江省", "哈尔滨市", ["南岗区", "道里区", "香坊区"]),
    ("云南省", "昆明市", ["五华区", "盘龙区", "官渡区"]),
    ("贵州省", "贵阳市", ["南明区", "云岩区", "观山湖区"]),
    ("江西省", "南昌市", ["东湖区", "西湖区", "红谷滩区"]),
    ("广西壮族自治区", "南宁市", ["青秀区", "兴宁区", "西乡塘区"]),
    ("内蒙古自治区", "呼和浩特市", ["新城区", "赛罕区", "回民区"]),
    ("新疆维吾尔自治区", "乌鲁木齐市", ["天山区", "沙依巴克区", "水磨沟区"]),
    ("宁夏回族自治区", "银川市", ["兴庆区", "金凤区"]),
    ("西藏自治区", "拉萨市", ["城关区", "堆龙德庆区"]),
    ("", "北京市", ["朝阳区", "海淀区", "东城区", "西城区", "丰台区", "昌平区"]),
    ("", "上海市", ["浦东新区", "徐汇区", "静安区", "黄浦区", "闵行区"]),
    ("", "天津市", ["和平区", "南开区", "河西区", "滨海新区"]),
    ("", "重庆市", ["渝中区", "江北区", "沙坪坝区", "九龙坡区"]),
]
ROADS = ["中山路", "人民路", "解放大道", "科华北路", "民族大道", "文三路", "延安西路", "长江路",
         "建设路", "和平街", "胜利街", "滨江大道", "天府大道", "学院路", "南京东路", "东风路",
         "五四路", "湖滨路", "花园路", "新华街", "青年路", "光明街", "朝阳北路", "复兴门外大街",
         "体育西路", "深南大道", "北京路", "二环路", "红旗街", "团结路", "幸福大街", "振兴路",
         "金桥路", "丰收路", "广场东路", "江滨路", "府前街", "育才巷", "三里屯路", "桃园巷"]
COMPOUNDS = ["和睦新村", "阳光花园", "锦绣家园", "翠苑一区", "万科城", "金色家园", "幸福里小区",
             "碧桂园", "保利香槟国际", "华润二十四城", "绿城桂花园", "望京西园三区", "东湖小区",
             "滨江花园", "紫荆公寓", "书香门第", "新世纪花园", "丽都苑", "枫林绿洲", "春江花月",
             "世纪嘉园", "朝晖六区", "龙湖时代天街", "名仕家园", "金地格林小镇", "荷花池小区"]
TOWERS = ["华星时代广场", "国贸大厦", "环球金融中心", "科技大厦", "世贸中心", "银泰中心",
          "创业大厦", "东方广场", "金融城", "中信大厦"]
TOWNS = [("宜路镇", "王庄村"), ("城关镇", "东关村"), ("新集乡", "李楼村"), ("双桥镇", "石桥村"),
         ("马头镇", "前进村"), ("花园乡", "张湾村")]
LANDMARKS = ["附近", "对面", "旁边", "东侧", "西侧100米", "往北50米", "南门", "后门"]
DIRECTIONS = ["东南角", "西南角", "东北角", "西北角"]
PROVINCE_ABBR = list("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼")
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
AREA_CODES = ["010", "020", "021", "022", "023", "024", "025", "027", "028", "029", "0571", "0574",
              "0577", "0755", "0512", "0531", "0532", "0551", "0591", "0592", "0731", "0771",
              "0851", "0871", "0898", "0931", "0951", "0991", "0311", "0351", "0371", "0431",
              "0451", "0471", "0791", "0769", "0757", "0760", "0516", "0519"]
ID_REGIONS = ["110105", "110108", "310104", "320102", "330106", "330105", "340104", "350102",
              "360102", "370102", "410105", "420106", "430104", "440106", "440305", "450103",
              "500103", "510107", "520102", "530102", "610113", "620102", "650102", "210102",
              "220102", "230102", "130102", "140105", "150102", "460106", "640104", "630102",
              "540102", "411625", "330302", "371302"]
CARD_PREFIXES = ["622202", "622848", "621700", "621226", "622588", "621483", "622700", "623668",
                 "436742", "518710", "625965", "621661", "622609"]
BANKS = ["工商银行", "农业银行", "建设银行", "招商银行", "中国银行", "交通银行", "浦发银行", "杭州银行"]
COMPANIES = ["杭州云帆科技有限公司", "成都蜀锦贸易有限公司", "南京恒信建材有限公司",
             "深圳前海数智金融服务有限公司", "武汉光谷生物医药有限公司", "宁波港盛物流有限公司"]
DOMAINS = ["qq.com", "163.com", "126.com", "sina.com", "gmail.com", "outlook.com", "foxmail.com",
           "hzbank.com.cn", "yunfan-tech.cn", "hospital.org.cn"]
# words and place names that begin with a common surname character (not names)
DECOYS = ["来电", "高兴", "方便", "周末", "马上", "常规", "金额", "白天", "安全", "向您", "于是",
          "何时", "明天", "黄金周", "江边", "路过", "石家庄", "张家口", "黄山", "金华", "温州",
          "常州", "许昌", "武汉", "高新区", "王府井", "林业局", "钱款", "程序", "任何", "邱比特",
          "包装", "华为", "宁愿", "成功", "简单", "车辆", "连续", "关于", "白云山", "卫生间"]

FW = str.maketrans("0123456789", "０１２３４５６７８９")

# ---------------------------------------------------------------------------------------------
# Values


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return str((10 - total % 10) % 10)


ID_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def _id_check(body17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(body17, ID_W)) % 11]


def _birth(rng, lo=1950, hi=2006):
    y = rng.randint(lo, hi)
    m = rng.randint(1, 12)
    d = rng.randint(1, 28)
    return y, m, d


def id18(rng) -> str:
    y, m, d = _birth(rng)
    body = f"{rng.choice(ID_REGIONS)}{y:04d}{m:02d}{d:02d}{rng.randrange(1000):03d}"
    return body + _id_check(body)


def id18_bad(rng) -> str:
    good = id18(rng)
    wrong = [c for c in "0123456789X" if c != good[-1]]
    return good[:-1] + rng.choice(wrong)


def id15(rng) -> str:
    y, m, d = _birth(rng, 1940, 1984)
    return f"{rng.choice(ID_REGIONS)}{y % 100:02d}{m:02d}{d:02d}{rng.randrange(1000):03d}"


MOBILE_PREFIXES = ([f"13{i}" for i in range(10)] + ["145", "147", "149", "150", "151", "152", "153",
                   "155", "156", "157", "158", "159", "166", "172", "177", "178"]
                   + [f"18{i}" for i in range(10)] + ["191", "193", "195", "198", "199"])


def mobile(rng) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10 ** 8):08d}"


def phone_written(rng) -> str:
    m = mobile(rng)
    form = rng.randrange(10)
    if form <= 3:
        return m
    if form == 4:
        return f"{m[:3]} {m[3:7]} {m[7:]}"
    if form == 5:
        return f"{m[:3]}-{m[3:7]}-{m[7:]}"
    if form == 6:
        return "+86 " + f"{m[:3]} {m[3:7]} {m[7:]}"
    if form == 7:
        return rng.choice(("+86", "0086", "86-", "(+86)", "+86-")) + m
    if form == 8:
        return m.translate(FW)
    return f"{m[:3]} {m[3:]}"


def landline_written(rng) -> str:
    area = rng.choice(AREA_CODES)
    n = 8 if len(area) == 3 else rng.choice((7, 8, 8))
    local = str(rng.randint(2, 9)) + "".join(str(rng.randrange(10)) for _ in range(n - 1))
    half = n // 2
    ext = str(rng.randint(1, 9)) + "".join(str(rng.randrange(10)) for _ in range(rng.randint(1, 3)))
    form = rng.randrange(12)
    if form == 0:
        return f"{area}-{local}"
    if form == 1:
        return f"{area}-{local[:half]} {local[half:]}"
    if form == 2:
        return f"({area}){local}"
    if form == 3:
        return f"（{area}）{local}"
    if form == 4:
        return f"{area} {local[:half]} {local[half:]}-{ext}"
    if form == 5:
        return f"{area}-{local}转{ext}"
    if form == 6:
        return f"{area}{local}"
    if form == 7:
        return f"+86-{area[1:]}-{local}"
    if form == 8:
        return f"{area}-{local[:half]}-{local[half:]}"
    if form == 9:
        return f"({area}) {local[:half]}-{local[half:]}"
    if form == 10:
        return f"{area} {local}"
    return f"{area}-{local}-{ext}"


def bank_card(rng) -> str:
    n = rng.choice((16, 16, 19, 19, 17, 18))
    body = rng.choice(CARD_PREFIXES)
    body += "".join(str(rng.randrange(10)) for _ in range(n - 1 - len(body)))
    return body + _luhn_digit(body)


def bank_card_bad(rng) -> str:
    c = bank_card(rng)
    return c[:-1] + str((int(c[-1]) + rng.randint(1, 9)) % 10)


def card_written(rng) -> str:
    c = bank_card(rng)
    if rng.random() < 0.3:
        return " ".join(c[i:i + 4] for i in range(0, len(c), 4))
    return c


USCC_ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ORG_W = [3, 7, 9, 10, 5, 8, 4, 2]


def _org_code(rng) -> str:
    body = ("MA" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(6))
            if rng.random() < 0.5 else "".join(str(rng.randrange(10)) for _ in range(8)))
    val = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
    c = 11 - sum(val[ch] * w for ch, w in zip(body, ORG_W)) % 11
    return body + {10: "X", 11: "0"}.get(c, str(c))


def uscc(rng) -> str:
    body = rng.choice("9915") + rng.choice("1239") + rng.choice(ID_REGIONS) + _org_code(rng)
    s = sum(USCC_ALPHA.index(ch) * w for ch, w in zip(body, USCC_W))
    c = 31 - s % 31
    return body + USCC_ALPHA[0 if c == 31 else c]


def passport(rng) -> str:
    form = rng.randrange(3)
    if form == 0:
        return "E" + f"{rng.randrange(10 ** 8):08d}"
    if form == 1:
        return "G" + f"{rng.randrange(10 ** 8):08d}"
    return "E" + rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + f"{rng.randrange(10 ** 7):07d}"


def plate(rng) -> str:
    prov, letter = rng.choice(PROVINCE_ABBR), rng.choice(PLATE_LETTERS)
    kind = rng.randrange(10)
    if kind <= 1:  # new energy, small car
        serial = rng.choice("DF") + rng.choice("0123456789ABCDEFGHJK") + f"{rng.randrange(10 ** 4):04d}"
    elif kind == 2:  # new energy, large vehicle
        serial = f"{rng.randrange(10 ** 5):05d}" + rng.choice("DF")
    else:
        chars = [str(rng.randrange(10)) for _ in range(5)]
        for _ in range(rng.choice((0, 0, 1, 2))):
            chars[rng.randrange(5)] = rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ")
        serial = "".join(chars)
    sep = rng.choice(("", "", "·", "·", " ", "-", "•"))
    return f"{prov}{letter}{sep}{serial}"


def email(rng) -> str:
    sur = rng.choice(list(PINYIN.values()))
    given = rng.choice(("wei", "fang", "na", "min", "jing", "lei", "yang", "tao", "hui", "xin"))
    user = rng.choice((f"{sur}{given}", f"{sur}.{given}", f"{given}_{sur}{rng.randint(1, 99)}",
                       f"{sur}{given}{rng.randint(1970, 2005)}", f"{rng.randint(10 ** 6, 10 ** 10)}"))
    return f"{user}@{rng.choice(DOMAINS)}"


def ipv4(rng) -> str:
    first = rng.choice((10, 172, 192, 223, 114, 36, 58, 120, 183))
    return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(1, 254)}"


def person(rng) -> str:
    sur = rng.choice(COMPOUND) if rng.random() < 0.08 else rng.choice(SURNAMES)
    k = 1 if rng.random() < 0.35 else 2
    return sur + "".join(rng.choice(GIVEN) for _ in range(k))


def _num(rng, lo, hi):
    return str(rng.randint(lo, hi))


def address(rng, kind=None) -> str:
    prov, city, districts = rng.choice(GAZETTEER)
    dist = rng.choice(districts)
    road = rng.choice(ROADS)
    kind = rng.randrange(9) if kind is None else kind
    head_city = city if rng.random() < 0.8 or not prov else city.rstrip("市")
    head = (prov + city if prov and rng.random() < 0.5 else head_city) + dist
    bldg = rng.choice((f"{_num(rng, 1, 30)}号楼", f"{_num(rng, 1, 30)}栋", f"{_num(rng, 1, 20)}幢",
                       f"{rng.choice('ABCDE')}座"))
    unit = f"{_num(rng, 1, 6)}单元"
    floor = rng.randint(1, 33)
    room = f"{floor}{rng.randint(1, 6):02d}"
    room = rng.choice((room, room + "室", room + "室", room + "号"))
    if kind == 0:  # full, province → room
        return f"{prov or ''}{city}{dist}{road}{_num(rng, 1, 999)}号{rng.choice(COMPOUNDS)}{bldg}{unit}{room}"
    if kind == 1:  # city → compound → room, no road
        return f"{head}{rng.choice(COMPOUNDS)}{bldg}{unit}{room}"
    if kind == 2:  # crossing with a landmark description
        other = rng.choice([r for r in ROADS if r != road])
        return f"{head}{road}与{other}交叉口{rng.choice(DIRECTIONS)}"
    if kind == 3:  # office tower, floor, room
        return f"{head}{road}{_num(rng, 1, 999)}号{rng.choice(TOWERS)}{rng.choice('ABC')}座{floor}层{room}"
    if kind == 4:  # rural
        town, village = rng.choice(TOWNS)
        return f"{prov or ''}{city}{dist}{town}{village}{_num(rng, 1, 12)}组{_num(rng, 1, 80)}号"
    if kind == 5:  # road, number, landmark
        return f"{head}{road}{_num(rng, 1, 600)}号{rng.choice(TOWERS)}{rng.choice(LANDMARKS)}"
    if kind == 6:  # road + number + compound + building-unit-room with dashes
        return f"{head}{road}{_num(rng, 1, 999)}号{rng.choice(COMPOUNDS)}{_num(rng, 1, 30)}-{_num(rng, 1, 6)}-{floor}{rng.randint(1, 6):02d}"
    if kind == 7:  # from the district (a city omitted in a local document)
        return f"{dist}{road}{_num(rng, 1, 999)}号{rng.choice(COMPOUNDS)}{bldg}{room}"
    return f"{head}{road}{_num(rng, 1, 999)}弄{_num(rng, 1, 60)}号{room}"  # Shanghai-style lane


# ---------------------------------------------------------------------------------------------
# Records


class Doc:
    """A text built piece by piece, recording gold spans and look-alikes."""

    def __init__(self):
        self.parts: list[str] = []
        self.n = 0
        self.spans: list[dict] = []
        self.look: list[dict] = []

    def t(self, s: str) -> "Doc":
        self.parts.append(s)
        self.n += len(s)
        return self

    def e(self, typ: str, s: str) -> "Doc":
        self.spans.append({"start": self.n, "end": self.n + len(s), "type": typ})
        return self.t(s)

    def la(self, kind: str, s: str) -> "Doc":
        self.look.append({"start": self.n, "end": self.n + len(s), "kind": kind})
        return self.t(s)

    def text(self) -> str:
        return "".join(self.parts)


def lookalike(rng, d: Doc) -> None:
    """Append one look-alike with its context word."""
    k = rng.randrange(13)
    if k == 0:
        d.t(rng.choice(("批次", "批次号：", "生产批次 "))).la("batch", "G" + f"2025{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}")
    elif k == 1:
        d.t(rng.choice(("故障码", "故障代码：", "错误码 "))).la("fault", "E" + f"{rng.randrange(10 ** 8):08d}")
    elif k == 2:
        d.t(rng.choice(("版本号", "固件版本 ", "软件版本："))).la("version", "E" + rng.choice("ABCDFGH") + f"{rng.randrange(10 ** 7):07d}")
    elif k == 3:
        d.t(rng.choice(("订单号", "订单编号：", "订单 "))).la("order", rng.choice("EG") + f"{rng.randrange(10 ** 8):08d}")
    elif k == 4:
        d.t(rng.choice(("发票号码", "发票号：", "电子发票 "))).la("invoice", rng.choice(("", "E", "G")) + f"{rng.randrange(10 ** 8):08d}")
    elif k == 5:
        d.t(rng.choice(("流水号", "业务编号：", "档案号 "))).la("bad_checksum_18", id18_bad(rng))
    elif k == 6:
        d.t(rng.choice(("参考号", "交易号：", "编号"))).la("bad_luhn", bank_card_bad(rng))
    elif k == 7:
        d.t(rng.choice(("日期：", "于", "截至"))).la("date", rng.choice((
            f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            f"2024年{rng.randint(1, 12)}月{rng.randint(1, 28)}日", f"2025{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}")))
    elif k == 8:
        d.t(rng.choice(("金额", "合计：", "应还 "))).la("amount", rng.choice((
            f"{rng.randint(1, 999)},{rng.randrange(1000):03d}.{rng.randrange(100):02d}元",
            f"¥{rng.randint(100, 99999)}.00", f"{rng.randint(10 ** 7, 10 ** 10)}元")))
    elif k == 9:
        d.t(rng.choice(("快递单号", "运单号："))).la("waybill", rng.choice(("SF", "YT", "JD")) + f"{rng.randrange(10 ** 12):012d}")
    elif k == 10:
        d.t(rng.choice(("设备型号", "型号："))).la("model", rng.choice(("G", "E")) + f"{rng.randrange(10 ** 8):08d}" + rng.choice(("-A", "Pro", "")))
    elif k == 11:
        d.t(rng.choice(("住院号", "门诊号：", "病案号"))).la("mrn", f"{rng.randint(10 ** 9, 10 ** 10 - 1)}")
    else:
        d.t(rng.choice(("工单号", "合同编号：", "受理编号"))).la("ticket", f"{rng.choice(('HT', 'GD', 'SL'))}2025{rng.randrange(10 ** 8):08d}")


def sep(rng):
    return rng.choice(("：", "：", ":", ": ", " "))


def st_form(rng, d: Doc):
    nl = rng.choice(("\n", "；", "  ", "，"))
    d.t(rng.choice(("【客户信息登记表】", "个人信息表", "开户申请表", "")) + nl)
    d.t(rng.choice(("姓名", "客户姓名", "申请人", "户名")) + sep(rng)).e("PERSON", person(rng)).t(nl)
    d.t("性别" + sep(rng) + rng.choice("男女") + nl)
    if rng.random() < 0.8:
        d.t(rng.choice(("身份证号", "证件号码", "身份证", "公民身份号码")) + sep(rng))
        r = rng.random()
        if r < 0.1:
            v = id18(rng)
            d.e("CN_ID_CARD", f"{v[:6]} {v[6:14]} {v[14:]}")
        elif r < 0.15:
            d.e("CN_ID_CARD", id15(rng))
        elif r < 0.2:
            d.e("CN_ID_CARD", id18(rng).translate(FW))
        else:
            d.e("CN_ID_CARD", id18(rng))
        d.t(nl)
    d.t(rng.choice(("手机", "手机号码", "联系电话", "移动电话")) + sep(rng)).e("CN_PHONE", phone_written(rng)).t(nl)
    if rng.random() < 0.5:
        d.t(rng.choice(("固定电话", "座机", "单位电话", "办公电话")) + sep(rng)).e("CN_LANDLINE", landline_written(rng)).t(nl)
    d.t(rng.choice(("住址", "家庭住址", "通讯地址", "现居住地")) + sep(rng)).e("ADDRESS", address(rng)).t(nl)
    if rng.random() < 0.4:
        d.t(rng.choice(("电子邮箱", "邮箱", "E-mail")) + sep(rng)).e("EMAIL", email(rng)).t(nl)
    if rng.random() < 0.2:
        d.t(rng.choice(("护照号码", "护照号", "出入境证件")) + sep(rng)).e("CN_PASSPORT", passport(rng)).t(nl)
    if rng.random() < 0.3:
        d.t(rng.choice(("紧急联系人", "联系人")) + sep(rng)).e("PERSON", person(rng))
        d.t(rng.choice(("（配偶）", "（父亲）", " 关系：母亲", "")) + nl)
    if rng.random() < 0.3:
        d.t("填表日期" + sep(rng)).la("date", f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")


def st_chat(rng, d: Doc):
    a, b = person(rng), person(rng)
    lines = rng.randint(3, 6)
    style = rng.randrange(3)
    for i in range(lines):
        who = a if i % 2 == 0 else b
        if style == 0:
            d.t(f"[{rng.randint(8, 22):02d}:{rng.randrange(60):02d}] ").e("PERSON", who).t(rng.choice(("：", ": ")))
        elif style == 1:
            d.e("PERSON", who).t(f" {rng.randint(8, 22)}:{rng.randrange(60):02d}\n")
        else:
            d.t("【").e("PERSON", who).t("】")
        r = rng.randrange(9)
        if r == 0:
            d.t("我电话").e("CN_PHONE", phone_written(rng)).t("，到了打给我")
        elif r == 1:
            d.t("地址发你：").e("ADDRESS", address(rng))
        elif r == 2:
            d.t("车牌").e("CN_LICENSE_PLATE", plate(rng)).t("，白色的，我在停车场等你")
        elif r == 3:
            d.t(rng.choice(("好的，", "收到", "马上到", "周末再说吧", "方便的时候回个电话", "哈哈")))
        elif r == 4:
            d.t("卡号").e("BANK_CARD", card_written(rng)).t("，户名").e("PERSON", person(rng))
        elif r == 5:
            d.t("你问问").e("PERSON", person(rng)).t("，他知道")
        elif r == 6:
            d.t("我到").e("ADDRESS", address(rng, kind=rng.choice((2, 5)))).t("了")
        elif r == 7:
            d.t("发我邮箱 ").e("EMAIL", email(rng))
        else:
            d.t("快递到了，")
            lookalike(rng, d)
        d.t("\n")


def st_medical(rng, d: Doc):
    d.t(rng.choice(("入院记录：", "门诊病历 ", "【出院小结】")))
    d.t("患者").e("PERSON", person(rng)).t(f"，{rng.choice('男女')}，{rng.randint(18, 90)}岁，")
    d.t(rng.choice(("因胸闷气短3天入院。", "主诉头痛伴恶心1周。", "因右下腹痛6小时急诊入院。",
                    "常规体检发现血糖偏高。")))
    d.t(rng.choice(("住院号", "病案号", "门诊号"))).la("mrn", str(rng.randint(10 ** 7, 10 ** 10))).t("。")
    if rng.random() < 0.6:
        d.t("身份证号").e("CN_ID_CARD", id18(rng)).t("。")
    d.t(rng.choice(("家属", "联系人", "陪护人"))).e("PERSON", person(rng))
    d.t(rng.choice(("（女儿）", "（配偶）", "（儿子）", "")))
    if rng.random() < 0.6:
        d.t("电话").e("CN_PHONE", phone_written(rng)).t("。")
    else:
        d.t("电话").e("CN_LANDLINE", landline_written(rng)).t("。")
    if rng.random() < 0.5:
        d.t("现住").e("ADDRESS", address(rng)).t("。")
    d.t(rng.choice(("主治医师：", "经治医生 ", "医师签名："))).e("PERSON", person(rng))
    if rng.random() < 0.4:
        d.t(rng.choice(("，上级医师：", "；护士："))).e("PERSON", person(rng))
    d.t("。")
    if rng.random() < 0.3:
        d.t("检验批次").la("batch", "G" + f"{rng.randrange(10 ** 8):08d}").t("，结果见附页。")


def st_loan(rng, d: Doc):
    d.t(rng.choice(("借款申请：", "【个人贷款审批表】", "授信调查报告 ")))
    d.t(rng.choice(("借款人", "申请人", "主借款人")) + rng.choice(("：", "", " "))).e("PERSON", person(rng))
    d.t("，身份证号码").e("CN_ID_CARD", id18(rng))
    d.t("，收款账户").e("BANK_CARD", card_written(rng)).t(f"（{rng.choice(BANKS)}）")
    d.t(f"，申请金额人民币{rng.randint(5, 99)}0,000.00元，期限{rng.choice((12, 24, 36))}期。")
    if rng.random() < 0.6:
        d.t("工作单位").t(rng.choice(COMPANIES)).t("，统一社会信用代码").e("CN_USCC", uscc(rng)).t("。")
    if rng.random() < 0.5:
        d.t("抵押车辆").e("CN_LICENSE_PLATE", plate(rng)).t("。")
    if rng.random() < 0.5:
        d.t("担保人").e("PERSON", person(rng)).t("，电话").e("CN_PHONE", phone_written(rng)).t("。")
    if rng.random() < 0.5:
        d.t("抵押房产位于").e("ADDRESS", address(rng)).t("。")
    if rng.random() < 0.4:
        lookalike(rng, d)
        d.t("。")
    d.t(rng.choice(("经办人：", "客户经理："))).e("PERSON", person(rng))
    d.t(rng.choice(("  复核人：", " 复核人:", "，审批人："))).e("PERSON", person(rng))
    if rng.random() < 0.3:
        d.t(f"  {rng.randint(2024, 2025)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日")


def st_csv(rng, d: Doc):
    rows = rng.randint(1, 3)
    for i in range(rows):
        d.t(f"{rng.randint(1000, 99999)},").e("PERSON", person(rng)).t(",")
        d.t(rng.choice("男女") + ",")
        r = rng.random()
        if r < 0.5:
            d.e("CN_PHONE", mobile(rng)).t(",")
        elif r < 0.7:
            d.e("CN_LANDLINE", landline_written(rng)).t(",")
        else:
            d.e("CN_ID_CARD", id18(rng)).t(",")
        if rng.random() < 0.6:
            d.e("ADDRESS", address(rng, kind=rng.choice((0, 1, 6, 8)))).t(",")
        d.t(f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},{rng.randint(100, 99999)}.{rng.randrange(100):02d}")
        if rng.random() < 0.3:
            d.t(",").e("CN_LICENSE_PLATE", plate(rng))
        if rng.random() < 0.2:
            d.t(",").e("EMAIL", email(rng))
        d.t("\n")


def st_service(rng, d: Doc):
    d.t(rng.choice(("客服：您好，工号8823为您服务，请问有什么可以帮您？\n", "坐席：您好，很高兴为您服务。\n")))
    name = person(rng)
    d.t("客户：你好，我是").e("PERSON", name).t(rng.choice(("，", "。")))
    r = rng.randrange(5)
    if r == 0:
        d.t("我的卡").e("BANK_CARD", card_written(rng)).t("被冻结了。\n")
    elif r == 1:
        d.t("我家宽带坏了，地址是").e("ADDRESS", address(rng)).t("。\n")
    elif r == 2:
        d.t("我的车").e("CN_LICENSE_PLATE", plate(rng)).t("被贴罚单了。\n")
    elif r == 3:
        d.t("我登录不了，").t(rng.choice(("设备报", "提示"))).la("fault", "E" + f"{rng.randrange(10 ** 8):08d}").t("。\n")
    else:
        d.t("上次来电说的问题还没解决。\n")
    d.t("客服：好的，请提供一下身份证后四位和预留手机号。\n")
    d.t("客户：手机是").e("CN_PHONE", phone_written(rng)).t("。\n")
    if rng.random() < 0.4:
        d.t("客户：登录IP是").e("IP_ADDRESS", ipv4(rng))
        d.t(rng.choice(("", ":8080", ":443")) + "。\n")
    d.t("客服：").e("PERSON", name)
    d.t(rng.choice(("先生", "女士")) + "，已为您登记，")
    d.t(rng.choice(("24小时内会有专员", "马上为您转接", "稍后")) + "回复您。")
    if rng.random() < 0.5:
        d.t("如有疑问请拨打").e("CN_LANDLINE", landline_written(rng)).t("。")


def st_none(rng, d: Doc):
    d.t(rng.choice((
        "本周末系统升级，期间网银暂停服务，给您带来不便敬请谅解。",
        "根据常规检查结果，建议三个月后复查，注意饮食，保持心情愉快。",
        "会议纪要：讨论了第三季度的预算安排，金额待财务确认后再行通知。",
        "温馨提示：黄金周期间营业时间调整为9:00-17:00，白天请错峰办理。",
        "请于明天上午十点前提交材料，逾期不予受理。",
        "本产品适用于家庭和办公场所，安全方便，操作简单。",
        "上周去张家口滑雪，路过石家庄时吃了驴肉火烧，很高兴。",
        "华为手机的售后网点在高新区，周一至周日均可办理。",
        "关于王府井商圈改造的意见征集将持续到月底。",
        "任何单位和个人不得擅自转让、出租车辆。")))
    if rng.random() < 0.6:
        lookalike(rng, d)
        d.t("。")
    if rng.random() < 0.3:
        d.t(rng.choice(("温州", "黄山", "金华", "常州", "武汉")) + rng.choice(("的天气不错。", "分行已开业。", "站改签。")))


def st_lookalike(rng, d: Doc):
    for _ in range(rng.randint(1, 3)):
        d.t(rng.choice(("", "系统记录：", "备注：", "", "设备日志 ")))
        lookalike(rng, d)
        d.t(rng.choice(("。", "；", "，请核对。", "\n")))


def st_prose(rng, d: Doc):
    """Names and identifiers inside prose, some without context words."""
    r = rng.randrange(5)
    if r == 0:
        d.t("昨天").e("PERSON", person(rng)).t("和").e("PERSON", person(rng)).t("一起去银行办了业务。")
    elif r == 1:
        d.e("PERSON", person(rng)).t(rng.choice(("于", "在"))).t(f"2025年{rng.randint(1, 12)}月").t("搬到了").e("ADDRESS", address(rng)).t("。")
    elif r == 2:
        d.t("请把合同寄给").e("PERSON", person(rng)).t("，电话").e("CN_PHONE", phone_written(rng)).t("。")
    elif r == 3:
        d.t(rng.choice(("经理", "同事", "老同学"))).e("PERSON", person(rng)).t("的护照号").e("CN_PASSPORT", passport(rng)).t("，出发前记得核对。")
    else:
        name = person(rng)
        d.e("PERSON", name).t(rng.choice(TITLES)).t("的车").e("CN_LICENSE_PLATE", plate(rng)).t("停在").e("ADDRESS", address(rng, kind=rng.choice((2, 5)))).t("。")
    if rng.random() < 0.3:
        d.t(rng.choice(DECOYS[:10])).t("，")
        lookalike(rng, d)


def st_glued(rng, d: Doc):
    """Identifiers glued to Latin letters, as in exported logs."""
    r = rng.randrange(4)
    if r == 0:
        d.t("ID").e("CN_ID_CARD", id18(rng)).t(rng.choice(("abc", "x", "_note", "END")))
    elif r == 1:
        d.t("user=").e("CN_PHONE", mobile(rng)).t(rng.choice(("&type=1", "abc", "ok")))
    elif r == 2:
        d.t("acct").e("BANK_CARD", bank_card(rng)).t("CNY")
    else:
        d.t("uid:").e("CN_ID_CARD", id18(rng)).t(";ip=").e("IP_ADDRESS", ipv4(rng)).t(";")


# held out while tuning: used only with --holdout

def st_waybill(rng, d: Doc):
    d.t("【快递面单】收件人：").e("PERSON", person(rng)).t(" ").e("CN_PHONE", phone_written(rng))
    d.t(" 收件地址：").e("ADDRESS", address(rng)).t(" 寄件人：").e("PERSON", person(rng))
    d.t(" 运单号：").la("waybill", "SF" + f"{rng.randrange(10 ** 12):012d}")


def st_hotel(rng, d: Doc):
    d.t("入住登记 | 宾客：").e("PERSON", person(rng)).t(" | 证件：")
    if rng.random() < 0.5:
        d.e("CN_ID_CARD", id18(rng))
    else:
        d.t("护照 ").e("CN_PASSPORT", passport(rng))
    d.t(" | 房号：").t(str(rng.randint(801, 2309))).t(" | 车牌：").e("CN_LICENSE_PLATE", plate(rng))
    d.t(" | 前台：").e("PERSON", person(rng))


def st_school(rng, d: Doc):
    d.t("新生入学登记：学生").e("PERSON", person(rng)).t(f"，{rng.choice('男女')}，")
    d.t("家长").e("PERSON", person(rng)).t("（").e("CN_PHONE", phone_written(rng)).t("），")
    d.t("家庭住址").e("ADDRESS", address(rng)).t("；班主任").e("PERSON", person(rng)).t("老师。")


def st_police(rng, d: Doc):
    d.t("询问笔录：被询问人").e("PERSON", person(rng)).t("，公民身份号码").e("CN_ID_CARD", id18(rng))
    d.t("，户籍地").e("ADDRESS", address(rng)).t("。问：你驾驶的").e("CN_LICENSE_PLATE", plate(rng))
    d.t("当时在哪里？答：在").e("ADDRESS", address(rng, kind=2)).t("。记录人：").e("PERSON", person(rng))


STYLES = {"form": (st_form, 3), "chat": (st_chat, 3), "medical": (st_medical, 2),
          "loan": (st_loan, 2), "csv": (st_csv, 2), "service": (st_service, 2),
          "none": (st_none, 1), "lookalike": (st_lookalike, 2), "prose": (st_prose, 2),
          "glued": (st_glued, 1)}
HOLDOUT = {"waybill": (st_waybill, 1), "hotel": (st_hotel, 1), "school": (st_school, 1),
           "police": (st_police, 1)}


def generate(n: int, seed: int, holdout: bool = False) -> list[dict]:
    """``n`` records, deterministic in ``seed``."""
    rng = random.Random(seed)
    styles = {**STYLES, **(HOLDOUT if holdout else {})}
    names = [k for k, (_, w) in styles.items() for _ in range(w)]
    out = []
    for i in range(n):
        style = rng.choice(names)
        d = Doc()
        styles[style][0](rng, d)
        text = d.text()
        spans = [s for s in d.spans if s["end"] > s["start"]]
        for s in spans:  # self-check: spans and text agree, no overlaps
            assert text[s["start"]:s["end"]], s
        spans.sort(key=lambda s: s["start"])
        for a, b in zip(spans, spans[1:]):
            assert a["end"] <= b["start"], (a, b, text)
        out.append({"id": i, "style": style, "text": text, "spans": spans, "lookalikes": d.look})
    return out


def write(records: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".jsonl")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=600)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--holdout", action="store_true", help="add the held-out templates")
    ap.add_argument("--out", type=Path, default=HERE / "corpus.jsonl")
    args = ap.parse_args(argv)
    recs = generate(args.records, args.seed, args.holdout)
    write(recs, args.out)
    return args.out


if __name__ == "__main__":
    main()
