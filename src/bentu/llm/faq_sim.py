"""A simulated bank product FAQ in Chinese with planted personal information (``bank-faq-sim``).

Three branches of one bank answer customers' questions in the bank's own terms. Their topics
differ (cards and accounts; loans; wealth management and companies), so a split by branch is
non-IID, as real institutions are. About a quarter of the questions carry a customer's name,
mobile number, ID number (valid check digit) or bank card number (valid Luhn digit), and some
answers name a relationship manager with a phone number: the personal information a real
corpus of service chats holds, which the corpus gate must remove before anything trains.

``generate_bank_faq`` returns the records and the planted values, so a test or a bench can
check that none of them reaches the training data or any artifact.
"""

from __future__ import annotations

import random

from bentu.privacy._corpus import make_value

__all__ = ["BRANCHES", "generate_bank_faq"]

BANK = "本土银行"
BRANCHES = ("城东支行", "城西支行", "高新区支行")

# (question templates, answer templates) per topic; {x} slots are filled per record
_TOPICS: dict[str, list[tuple[list[str], list[str]]]] = {
    "cards": [
        (["信用卡年费怎么收？", "{card_name}的年费是多少？", "请问{card_name}要交年费吗？"],
         ["{card_name}首年免年费，当年刷卡满{n_swipe}次即可免次年年费。"]),
        (["信用卡丢了怎么办？", "我的卡丢了，怎么挂失？", "借记卡被盗了怎么处理？"],
         ["请立即拨打{bank}客服热线95{hotline}或在手机银行办理挂失，挂失后{hours}小时内补卡免费。"]),
        (["信用卡额度怎么提高？", "怎么申请提额？", "{card_name}可以临时提额吗？"],
         ["用卡满{months}个月且按时还款，可在手机银行申请提额，临时额度最长{days}天。"]),
        (["信用卡最低还款是多少？", "这个月还不上全部账单怎么办？"],
         ["最低还款额为账单金额的{pct}%，未全额还款的部分按日利率万分之{rate5}计息。"]),
        (["借记卡跨行取款收费吗？", "在别的银行取钱要手续费吗？"],
         ["{bank}借记卡每月前{n_free}笔跨行取款免费，之后每笔收取{fee}元。"]),
        (["怎么开通手机银行？", "手机银行怎么注册？"],
         ["携带本人身份证和银行卡到{branch}柜台，或在{bank}App中用银行卡和预留手机号自助开通。"]),
        (["转账限额是多少？", "手机银行一天能转多少钱？"],
         ["手机银行单笔转账限额{limit}万元，日累计限额{limit2}万元，可在柜台调整。"]),
    ],
    "loans": [
        (["房贷利率现在是多少？", "首套房贷款利率多少？", "买房贷款利息怎么算？"],
         ["首套住房商业贷款利率为LPR减{bp}个基点，目前为{rate}%，以审批结果为准。"]),
        (["提前还房贷要违约金吗？", "房贷可以提前还款吗？"],
         ["还款满{months}个月后可申请提前还款，{bank}不收取违约金，需提前{days}天预约。"]),
        (["消费贷最多能贷多少？", "{loan_name}的额度是多少？"],
         ["{loan_name}最高额度{limit}万元，期限最长{years}年，年化利率{rate}%起。"]),
        (["贷款需要什么材料？", "申请{loan_name}要准备什么？"],
         ["需提供身份证、近{months}个月收入证明和银行流水，{branch}客户经理会协助办理。"]),
        (["房贷审批要多久？", "贷款多久能放款？"],
         ["材料齐全后{days}个工作日内完成审批，抵押登记完成后{days2}个工作日放款。"]),
        (["公积金贷款和商业贷款能组合吗？", "可以办组合贷吗？"],
         ["可以办理组合贷款，公积金部分最高{limit}万元，其余部分按商业贷款利率计息。"]),
    ],
    "wealth": [
        (["有什么低风险理财产品？", "稳健型理财推荐哪个？", "{fund_name}风险高吗？"],
         ["{fund_name}为R{risk}级理财产品，业绩比较基准年化{rate}%，{days}天开放一次。"]),
        (["大额存单利率多少？", "三年期大额存单利息多少？"],
         ["{years}年期大额存单起存{limit}万元，年利率{rate}%，可提前转让。"]),
        (["企业开户需要什么材料？", "公司怎么开对公账户？"],
         ["需提供营业执照、法定代表人身份证和公章，{branch}对公柜台{days}个工作日内办结。"]),
        (["外币兑换怎么办理？", "可以在网上买美元吗？"],
         ["个人每年便利化购汇额度等值{limit}万美元，可在手机银行办理，{hours}点前提交当日到账。"]),
        (["理财产品可以提前赎回吗？", "{fund_name}能随时取出来吗？"],
         ["{fund_name}开放期内可赎回，资金T+{days}日到账，封闭期内不可赎回。"]),
        (["企业网银怎么开通？", "对公网银要收费吗？"],
         ["开立对公账户后可同时开通企业网银，{bank}对小微企业免收网银年费。"]),
    ],
}
_FOCUS = {"城东支行": "cards", "城西支行": "loans", "高新区支行": "wealth"}
_CARDS = ("本土白金卡", "本土青春卡", "本土商旅卡", "本土车主卡")
_LOANS = ("本土快贷", "本土e贷", "本土装修贷")
_FUNDS = ("本土稳盈30天", "本土安享90天", "本土季季盈", "本土现金宝")

# how a customer's question carries personal information
_CUSTOMER = (
    "我叫{PERSON}，",
    "我是{PERSON}，手机号{CN_PHONE}，",
    "我的身份证号是{CN_ID_CARD}，",
    "卡号{BANK_CARD}，",
    "我叫{PERSON}，身份证{CN_ID_CARD}，",
)
_MANAGER = "如需协助，请联系客户经理{PERSON}，电话{CN_PHONE}。"


def _slots(rng: random.Random, branch: str) -> dict:
    return {
        "bank": BANK, "branch": branch, "card_name": rng.choice(_CARDS), "loan_name": rng.choice(_LOANS),
        "fund_name": rng.choice(_FUNDS), "n_swipe": rng.choice((5, 6, 10, 12)), "hotline": rng.choice(("588", "566")),
        "hours": rng.choice((24, 48, 15, 16)), "months": rng.choice((3, 6, 12)), "days": rng.choice((3, 5, 7, 30)),
        "days2": rng.choice((2, 3, 5)), "pct": rng.choice((5, 10)), "rate5": 5, "n_free": rng.choice((3, 5)),
        "fee": rng.choice((2, 4)), "limit": rng.choice((5, 20, 30, 50)), "limit2": rng.choice((50, 100, 200)),
        "bp": rng.choice((20, 30, 45)), "rate": rng.choice(("2.85", "3.05", "3.15", "3.45", "2.60")),
        "years": rng.choice((1, 3, 5)), "risk": rng.choice((1, 2)),
    }


def _fill(template: str, rng: random.Random, planted: list[dict], record: int) -> str:
    out = template
    for kind in ("PERSON", "CN_PHONE", "CN_ID_CARD", "BANK_CARD"):
        while "{" + kind + "}" in out:
            value = make_value(kind, rng) if kind != "CN_PHONE" else rng.choice(("138", "139", "186", "158")) + \
                "".join(rng.choice("0123456789") for _ in range(8))
            if kind == "CN_ID_CARD":
                value = value.replace(" ", "").upper()
            planted.append({"record": record, "type": kind, "value": value})
            out = out.replace("{" + kind + "}", value, 1)
    return out


def generate_bank_faq(n: int = 360, seed: int = 0, *, pii_rate: float = 0.25) -> tuple[list[dict], list[dict]]:
    """``n`` question/answer records of three branches and the personal information planted in them.

    Returns
    -------
    records : list of dict
        ``{"id", "institution", "topic", "prompt", "answer"}``; each branch asks mostly (70 %) about
        its own topic.
    planted : list of dict
        ``{"record", "type", "value"}`` for every planted value, as written in the text.
    """
    rng = random.Random(seed)
    records, planted = [], []
    for i in range(n):
        branch = BRANCHES[i % len(BRANCHES)]
        topic = _FOCUS[branch] if rng.random() < 0.7 else rng.choice(sorted(_TOPICS))
        questions, answers = rng.choice(_TOPICS[topic])
        slots = _slots(rng, branch)
        q = rng.choice(questions).format(**slots)
        a = rng.choice(answers).format(**slots)
        if rng.random() < pii_rate:
            q = _fill(rng.choice(_CUSTOMER), rng, planted, i) + q
        if rng.random() < pii_rate / 3:
            a = a + _fill(_MANAGER, rng, planted, i)
        records.append({"id": f"faq-{i:04d}", "institution": branch, "topic": topic, "prompt": q, "answer": a})
    return records, planted
