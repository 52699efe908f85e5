"""A labelled PII test corpus, generated from templates (seeded, offline).

Every record is ``{"text": str, "spans": [{"start", "end", "type"}], "lookalikes": [[s, e]]}``:
``spans`` are the true identifiers (DESIGN.md conventions: whole identifier as written, without
titles or ``:port``), ``lookalikes`` are numbers that resemble identifiers but are not (failed
checksums, impossible birth dates, order and tracking numbers, amounts, dates, versions).
"""

from __future__ import annotations

import random
import string

from bentu.privacy import _checksums as ck
from bentu.privacy import _lexicon as lex

__all__ = ["generate_corpus", "generate_documents", "make_value", "TYPES", "evaluate"]

TYPES = ("CN_ID_CARD", "CN_PHONE", "CN_LANDLINE", "BANK_CARD", "CN_USCC", "EMAIL", "IP_ADDRESS",
         "CN_PASSPORT", "CN_LICENSE_PLATE", "PERSON", "ADDRESS")

_REGIONS = ("110105", "110108", "310104", "310115", "330106", "330102", "440305", "440106",
            "510107", "320102", "420106", "370202", "500103", "610113", "350203", "210102",
            "230103", "430104", "120101", "650102", "530102", "450103", "130102", "410105")
_MOBILE_PREFIXES = ("130 131 132 133 134 135 136 137 138 139 145 147 150 151 152 153 155 156 157 "
                    "158 159 162 166 167 170 171 172 173 175 176 177 178 180 181 182 183 184 185 "
                    "186 187 188 189 191 193 195 196 197 198 199").split()
_AREA = ("010", "021", "022", "023", "020", "025", "027", "028", "029", "024", "0571", "0755",
         "0512", "0532", "0731", "0871", "0591", "0551", "0311", "0351", "0471", "0898")
_GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红鹏辉建国文斌宇浩凯婷雪琳晨欣怡佳"
          "子涵梓轩博睿思雨嘉俊泽晓丹宁新志海亮林波飞峰云春兰梅莉倩颖慧鑫昊然诗琪萱瑶悦彤一宸铭"
          "楠翔毅健婉清晴阳薇莹璐瑞琦航远安可馨")
_DISTRICTS = ("朝阳区", "海淀区", "西湖区", "浦东新区", "南山区", "天河区", "武侯区", "鼓楼区",
              "江汉区", "雁塔区", "思明区", "和平区", "岳麓区", "历下区", "市南区", "江北区",
              "余杭区", "福田区", "黄浦区", "滨江区", "昌平区", "锦江区", "高新区", "新城区")
_STREETS = ("文三路", "建国路", "中山北路", "人民大道", "解放路", "科技园南路", "长安街", "学院路",
            "天府大道", "江南大道", "滨江路", "世纪大道", "黄河路", "延安西路", "幸福巷", "东风路",
            "复兴路", "和平街", "红旗路", "新华路")
_PROV_CITY = (("北京市", ""), ("上海市", ""), ("天津市", ""), ("重庆市", ""),
              ("浙江省", "杭州市"), ("广东省", "深圳市"), ("广东省", "广州市"), ("四川省", "成都市"),
              ("江苏省", "南京市"), ("湖北省", "武汉市"), ("陕西省", "西安市"), ("福建省", "厦门市"),
              ("湖南省", "长沙市"), ("山东省", "济南市"), ("山东省", "青岛市"), ("辽宁省", "沈阳市"),
              ("河南省", "郑州市"), ("安徽省", "合肥市"), ("云南省", "昆明市"), ("", "苏州市"),
              ("", "宁波市"), ("广西壮族自治区", "南宁市"), ("新疆维吾尔自治区", "乌鲁木齐市"))
_PLATE_PROV = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_LET = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_PLATE_CHR = _PLATE_LET + "0123456789"
_FW = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
_USCC_ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _birth(rng: random.Random, lo=1950, hi=2005) -> str:
    y = rng.randint(lo, hi)
    m = rng.randint(1, 12)
    d = rng.randint(1, 28)
    return f"{y:04d}{m:02d}{d:02d}"


def _id18(rng: random.Random) -> str:
    body = rng.choice(_REGIONS) + _birth(rng) + _digits(rng, 3)
    return body + ck.id18_check_char(body)


def _card(rng: random.Random, length: int | None = None, prefix: str | None = None) -> str:
    length = length or rng.choice((16, 16, 19, 19, 17, 18))
    prefix = prefix or rng.choice(("62", "622", "621", "623", "4", "52", "55", "6217"))
    body = prefix + _digits(rng, length - len(prefix) - 1)
    return body + ck.luhn_check_digit(body)


def _uscc(rng: random.Random) -> str:
    body = rng.choice("91Y5") + rng.choice("1234") + rng.choice(_REGIONS) + "".join(
        rng.choice(_USCC_ALPHA) for _ in range(9))
    return body + ck.uscc_check_char(body)


def _name(rng: random.Random) -> str:
    if rng.random() < 0.06:
        surname = rng.choice(lex.COMPOUND_SURNAMES[:20])
    else:
        surname = rng.choice(lex.SINGLE_SURNAMES[:100] if rng.random() < 0.85 else lex.SINGLE_SURNAMES)
    return surname + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))


def _address(rng: random.Random) -> str:
    prov, city = rng.choice(_PROV_CITY)
    out = prov + city + rng.choice(_DISTRICTS) + rng.choice(_STREETS) + f"{rng.randint(1, 999)}号"
    r = rng.random()
    if r < 0.4:
        out += f"{rng.randint(1, 30)}{rng.choice(('栋', '幢', '号楼'))}{rng.randint(1, 3)}单元" \
               f"{rng.randint(1, 30)}0{rng.randint(1, 4)}室"
    elif r < 0.6:
        out += f"{rng.randint(101, 2505)}室"
    return out


def make_value(pii_type: str, rng: random.Random) -> str:
    """One identifier of ``pii_type`` in one of its written variants."""
    r = rng.random()
    if pii_type == "CN_ID_CARD":
        if r < 0.12:
            return rng.choice(_REGIONS) + _birth(rng, 1930, 1999)[2:] + _digits(rng, 3)
        v = _id18(rng)
        if r < 0.25:
            return f"{v[:6]} {v[6:14]} {v[14:]}"
        if r < 0.35:
            return v.translate(_FW)
        return v.lower() if r < 0.4 else v
    if pii_type == "CN_PHONE":
        v = rng.choice(_MOBILE_PREFIXES) + _digits(rng, 8)
        forms = (v, v, v, f"+86{v}", f"+86 {v}", f"0086{v}", f"{v[:3]}-{v[3:7]}-{v[7:]}",
                 f"{v[:3]} {v[3:7]} {v[7:]}", f"+86 {v[:3]} {v[3:7]} {v[7:]}", v.translate(_FW),
                 f"(+86){v}", f"86-{v}")
        return rng.choice(forms)
    if pii_type == "CN_LANDLINE":
        area = rng.choice(_AREA)
        local = str(rng.randint(2, 8)) + _digits(rng, 7 if len(area) == 3 else rng.choice((6, 7)))
        return rng.choice((f"{area}-{local}", f"{area}-{local}", f"({area}){local}",
                           f"{area} {local}", f"{area}{local}", f"（{area}）{local}"))
    if pii_type == "BANK_CARD":
        v = _card(rng)
        if r < 0.35:
            return " ".join(v[i:i + 4] for i in range(0, len(v), 4))
        return v.translate(_FW) if r < 0.45 else v
    if pii_type == "CN_USCC":
        return _uscc(rng)
    if pii_type == "EMAIL":
        user = rng.choice(("zhang.wei", "li_na", "wangfang88", "chen.jie2020", "service", "hr",
                           "liuyang", "zhao-lei", "x.y.z", "a123456")) + str(rng.randint(0, 99))
        return user + "@" + rng.choice(("qq.com", "163.com", "126.com", "gmail.com", "sina.com.cn",
                                         "bank.example.cn", "hospital.org.cn", "foxmail.com"))
    if pii_type == "IP_ADDRESS":
        if r < 0.2:
            return rng.choice(("2001:db8::1", "fe80::1ff:fe23:4567:890a", "2408:8207:2460:1f0::5",
                               "240e:3b0:8c10::a2", "::1"))
        return ".".join(str(rng.randint(1, 254)) for _ in range(4))
    if pii_type == "CN_PASSPORT":
        if r < 0.3:
            return "G" + _digits(rng, 8)
        if r < 0.65:
            return "E" + _digits(rng, 8)
        return "E" + rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + _digits(rng, 7)
    if pii_type == "CN_LICENSE_PLATE":
        head = rng.choice(_PLATE_PROV) + rng.choice(_PLATE_LET)
        if r < 0.25:
            serial = rng.choice("DF") + rng.choice(_PLATE_CHR) + _digits(rng, 4)
        elif r < 0.35:
            serial = _digits(rng, 5) + rng.choice("DF")
        else:
            serial = "".join(rng.choice(_PLATE_CHR) for _ in range(2)) + _digits(rng, 3)
        return head + ("·" if rng.random() < 0.2 else "") + serial
    if pii_type == "PERSON":
        return _name(rng)
    if pii_type == "ADDRESS":
        return _address(rng)
    raise ValueError(pii_type)


# Templates: "{X}" slots are filled with an identifier of type X.  The context words vary:
# some carry a label (身份证号：…), some a title (先生), some none at all.
_TEMPLATES = {
    "CN_ID_CARD": ("身份证号：{X}", "身份证{X}", "公民身份号码{X}", "证件号码 {X}", "ID: {X}",
                   "其身份证号为{X}", "凭{X}办理"),
    "CN_PHONE": ("手机号{X}", "联系电话：{X}", "请拨打{X}", "电话 {X}", "手机{X}（工作日）",
                 "tel:{X}", "可致电{X}咨询"),
    "CN_LANDLINE": ("座机{X}", "办公电话：{X}", "传真{X}", "客服热线{X}", "电话{X}转人工"),
    "BANK_CARD": ("卡号{X}", "银行卡号：{X}", "还款账户{X}", "借记卡 {X}", "转入{X}"),
    "CN_USCC": ("统一社会信用代码：{X}", "信用代码{X}", "营业执照号{X}", "企业（{X}）"),
    "EMAIL": ("邮箱{X}", "电子邮件：{X}", "发送至{X}", "E-mail: {X}"),
    "IP_ADDRESS": ("登录IP：{X}", "来自{X}的访问", "服务器地址{X}", "IP {X}"),
    "CN_PASSPORT": ("护照号码{X}", "护照：{X}", "持护照{X}出境"),
    "CN_LICENSE_PLATE": ("车牌号{X}", "车牌{X}", "车辆{X}违停", "号牌{X}"),
    "PERSON": ("姓名：{X}", "客户{X}", "{X}先生", "{X}女士", "患者{X}", "联系人{X}",
               "借款人{X}", "{X}，男，", "{X}经理", "由{X}负责", "{X}和同事", "申请人：{X}",
               "收件人{X}", "我叫{X}", "{X}医生", "持卡人{X}"),
    "ADDRESS": ("住址：{X}", "家住{X}", "地址{X}", "寄往{X}", "位于{X}", "现居住在{X}"),
}
_FILLERS = ("于2023年5月12日办理业务", "已核实", "请妥善保管", "本人签字确认", "今日来电咨询",
            "申请贷款20万元", "状态正常", "预约下周复查", "登记时间2024-03-01 10:20:30",
            "资料齐全", "审批通过", "逾期3天", "金额共计12,580.00元")


def _lookalike(rng: random.Random) -> tuple[str, str, str]:
    """A (prefix, number, suffix) whose number is not an identifier."""
    kind = rng.randrange(12)
    if kind == 0:  # ID with a wrong check character
        v = _id18(rng)
        bad = rng.choice([c for c in "0123456789X" if c != v[-1]])
        return "身份证号", v[:-1] + bad, ""
    if kind == 1:  # ID with an impossible birth date
        body = rng.choice(_REGIONS) + f"{rng.randint(1950, 2000)}{rng.choice(('13', '00', '02'))}" \
               + f"{rng.choice(('30', '31', '00', '35'))}" + _digits(rng, 3)
        return "证件号", body + ck.id18_check_char(body), ""
    if kind == 2:  # card failing Luhn
        v = _card(rng)
        return "卡号", v[:-1] + str((int(v[-1]) + rng.randint(1, 9)) % 10), ""
    if kind == 3:  # USCC with a wrong check char
        v = _uscc(rng)
        return "信用代码", v[:-1] + rng.choice([c for c in _USCC_ALPHA if c != v[-1]]), ""
    if kind == 4:
        return "订单号", rng.choice("123456789") + _digits(rng, rng.randint(15, 19)), ""
    if kind == 5:
        return rng.choice(("快递单号", "运单号")), _digits(rng, rng.randint(12, 15)), ""
    if kind == 6:
        return "SF", _digits(rng, 12), ""
    if kind == 7:
        return "金额", f"{rng.randint(1, 99)},{rng.randint(100, 999)},{rng.randint(100, 999)}.00", "元"
    if kind == 8:
        return "交易流水号", _digits(rng, rng.randint(16, 20)), ""
    if kind == 9:
        return "住院号", _digits(rng, rng.choice((10, 11, 15, 18))), ""
    if kind == 10:
        return "日期", f"{rng.randint(1990, 2024)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" \
                       f"{_digits(rng, rng.choice((6, 8, 10)))}", ""
    return "版本号 ", ".".join(str(rng.randint(1, 20)) for _ in range(4)), ""


def generate_corpus(n: int = 2000, seed: int = 0) -> list[dict]:
    """Generate ``n`` labelled records; each type appears in every written variant."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        parts: list[tuple[str, str | None]] = []
        for j in range(rng.randint(1, 3)):
            if j:
                parts.append((rng.choice(("，", "。", "；", "，并且", " ")), None))
            r = rng.random()
            if r < 0.72:
                pii_type = TYPES[(i * 3 + j) % len(TYPES)] if rng.random() < 0.5 else rng.choice(TYPES)
                tpl = rng.choice(_TEMPLATES[pii_type])
                before, after = tpl.split("{X}")
                parts += [(before, None), (make_value(pii_type, rng), pii_type), (after, None)]
            elif r < 0.9:
                pre, num, suf = _lookalike(rng)
                parts += [(pre, None), (num, "LOOKALIKE"), (suf, None)]
            else:
                parts.append((rng.choice(_FILLERS), None))
        parts.append((rng.choice(("。", "", "！", "\u3002")), None))
        text, spans, looks = "", [], []
        for chunk, label in parts:
            if label == "LOOKALIKE":
                looks.append([len(text), len(text) + len(chunk)])
            elif label:
                spans.append({"start": len(text), "end": len(text) + len(chunk), "type": label})
            text += chunk
        records.append({"text": text, "spans": spans, "lookalikes": looks})
    return records


def evaluate(records: list[dict], spans_of) -> dict:
    """Exact-span precision, recall and F1 per type and micro-averaged, and the share of
    look-alike numbers that ``spans_of(text) -> [(start, end, type), ...]`` flags."""
    counts = {t: [0, 0, 0] for t in TYPES}  # tp, fp, fn
    flagged = total_looks = 0
    for rec in records:
        gold = {(s["start"], s["end"], s["type"]) for s in rec["spans"]}
        pred = {tuple(s) for s in spans_of(rec["text"])}
        for s in pred:
            counts.setdefault(s[2], [0, 0, 0])[0 if s in gold else 1] += 1
        for s in gold - pred:
            counts[s[2]][2] += 1
        for a, b in rec["lookalikes"]:
            total_looks += 1
            flagged += any(s[0] < b and s[1] > a for s in pred)
    out = {}
    for t, (tp, fp, fn) in counts.items():
        out[t] = _prf(tp, fp, fn)
    tp, fp, fn = (sum(c[i] for c in counts.values()) for i in range(3))
    out["micro"] = _prf(tp, fp, fn)
    out["lookalike_flagged_rate"] = flagged / total_looks if total_looks else 0.0
    out["lookalikes"] = total_looks
    return out


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "support": tp + fn, "tp": tp, "fp": fp, "fn": fn}


def write_table_csv(path, target_bytes: int, seed: int = 0) -> int:
    """Write a CSV of customer records (name, id_card, mobile, ..., free-text note) of about
    ``target_bytes`` bytes, streaming; returns the number of rows."""
    import csv

    rng = random.Random(seed)
    rows = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["name", "id_card", "mobile", "sex", "age", "province", "address",
                         "note", "amount"])
        while fh.tell() < target_bytes:
            batch = []
            for _ in range(1000):
                name = _name(rng)
                batch.append([name, _id18(rng), rng.choice(_MOBILE_PREFIXES) + _digits(rng, 8),
                              rng.choice("男女"), rng.randint(18, 80), rng.choice(lex.PROVINCES),
                              _address(rng),
                              f"客户{name}来电，备用手机{rng.choice(_MOBILE_PREFIXES)}{_digits(rng, 8)}，"
                              f"{rng.choice(_FILLERS)}", f"{rng.uniform(100, 99999):.2f}"])
            writer.writerows(batch)
            rows += len(batch)
    return rows


# Sentences with no personal information, for document-like text around the records.
_PROSE = (
    "本行已按照监管要求完成了年度风险评估工作，各项指标均处于合理区间。",
    "患者入院后完善相关检查，给予抗感染及对症支持治疗，病情逐渐好转。",
    "客户表示对本次服务基本满意，但希望进一步缩短审批时间。",
    "根据合同约定，借款期限为三十六个月，按月等额本息还款。",
    "本季度线上渠道的申请量较上季度增长了百分之十二，逾期率保持稳定。",
    "经复核，该笔交易的资金流向与申报用途一致，未发现异常。",
    "请于收到本通知后五个工作日内补充提交收入证明及工作证明材料。",
    "门诊随访时血压控制良好，建议继续低盐饮食并规律服药。",
    "系统将在今晚二十三点至次日凌晨两点进行例行维护，期间暂停服务。",
    "会议讨论了下一阶段的产品规划，并确定了各部门的分工与时间表。",
    "The applicant provided the required documents and the file was forwarded for review.",
    "如对处理结果有异议，可在十五日内向上级部门申请复核。",
    "今年以来，辖内小微企业贷款余额稳步增长，不良率有所下降。",
    "检查结果提示轻度脂肪肝，其余指标未见明显异常。",
    "为保障账户安全，请勿向任何人透露短信验证码。",
)


def generate_documents(n: int = 1000, seed: int = 0) -> list[str]:
    """Document-like lines (200–600 characters): prose with a few labelled records mixed in,
    for throughput measurements on text less dense in identifiers than the test corpus."""
    rng = random.Random(seed)
    records = generate_corpus(n * 3, seed=seed + 1)
    docs = []
    for i in range(n):
        parts = [rng.choice(_PROSE) for _ in range(rng.randint(4, 12))]
        for rec in records[i * 3:i * 3 + rng.randint(1, 3)]:
            parts.insert(rng.randrange(len(parts) + 1), rec["text"])
        docs.append("".join(parts))
    return docs
