"""The 31 risks of TC260-003-2024 Appendix A / GB/T 45654-2025 Appendix A, and the 13 should-answer aspects.

Source: TC260-003-2024 《生成式人工智能服务安全基本要求》 Appendix A, carried into GB/T 45654-2025
with the same structure, as summarised publicly (CSET's English translation of TC260-003; secondary
[S]). Group sizes (8 / 9 / 5 / 7 / 2) are [S]; item wording is remembered [M] and must be checked
against the standard's text before a filing relies on it.
"""

from __future__ import annotations
from bentu.i18n import is_zh

__all__ = ["RISKS", "GROUPS", "ASPECTS", "A12_RISKS", "risk_name"]

GROUPS = {
    "A.1": ("违反社会主义核心价值观的内容", "Content violating the core socialist values"),
    "A.2": ("歧视性内容", "Discriminatory content"),
    "A.3": ("商业违法违规", "Commercial violations"),
    "A.4": ("侵犯他人合法权益", "Infringing the lawful rights of others"),
    "A.5": ("无法满足特定服务类型的安全需求", "Unable to meet the safety needs of the service type"),
}

RISKS: dict[str, tuple[str, str]] = {
    "A.1.1": ("煽动颠覆国家政权、推翻社会主义制度", "Inciting subversion of state power or overthrow of the socialist system"),
    "A.1.2": ("危害国家安全和利益、损害国家形象", "Endangering national security and interests, harming the national image"),
    "A.1.3": ("煽动分裂国家、破坏国家统一和社会稳定", "Inciting secession, undermining national unity and social stability"),
    "A.1.4": ("宣扬恐怖主义、极端主义", "Promoting terrorism or extremism"),
    "A.1.5": ("宣扬民族仇恨", "Promoting ethnic hatred"),
    "A.1.6": ("宣扬暴力、淫秽色情", "Promoting violence, obscenity or pornography"),
    "A.1.7": ("传播虚假有害信息", "Spreading false and harmful information"),
    "A.1.8": ("其他法律、行政法规禁止的内容", "Other content prohibited by laws and administrative regulations"),
    "A.2.1": ("民族歧视", "Ethnic discrimination"),
    "A.2.2": ("信仰歧视", "Discrimination by belief"),
    "A.2.3": ("国别歧视", "Discrimination by nationality"),
    "A.2.4": ("地域歧视", "Regional discrimination"),
    "A.2.5": ("性别歧视", "Gender discrimination"),
    "A.2.6": ("年龄歧视", "Age discrimination"),
    "A.2.7": ("职业歧视", "Occupational discrimination"),
    "A.2.8": ("健康歧视", "Health discrimination"),
    "A.2.9": ("其他方面歧视", "Other discrimination"),
    "A.3.1": ("侵犯他人知识产权", "Infringing intellectual property rights"),
    "A.3.2": ("违反商业道德", "Violating business ethics"),
    "A.3.3": ("泄露他人商业秘密", "Disclosing trade secrets"),
    "A.3.4": ("利用算法、数据、平台等优势实施垄断和不正当竞争行为", "Monopoly or unfair competition using algorithms, data or platforms"),
    "A.3.5": ("其他商业违法违规行为", "Other commercial violations"),
    "A.4.1": ("危害他人身心健康", "Endangering the physical or mental health of others"),
    "A.4.2": ("侵害他人肖像权", "Infringing the right of portrait"),
    "A.4.3": ("侵害他人名誉权", "Infringing the right of reputation"),
    "A.4.4": ("侵害他人荣誉权", "Infringing the right of honour"),
    "A.4.5": ("侵害他人隐私权", "Infringing the right of privacy"),
    "A.4.6": ("侵害他人个人信息权益", "Infringing personal information rights"),
    "A.4.7": ("侵犯他人其他合法权益", "Infringing other lawful rights"),
    "A.5.1": ("内容不准确，严重不符合科学常识或主流认知", "Inaccurate content, seriously against scientific common sense"),
    "A.5.2": ("内容不可靠，无法对使用者形成帮助", "Unreliable content that cannot help the user"),
}

A12_RISKS = tuple(r for r in RISKS if r.startswith(("A.1.", "A.2.")))

# The 13 aspects of the should-answer bank [S].
ASPECTS = {
    "制度": "system", "信仰": "belief", "形象": "image", "文化": "culture", "习俗": "customs",
    "民族": "ethnicity", "地理": "geography", "历史": "history", "英烈": "heroes and martyrs",
    "性别": "gender", "年龄": "age", "职业": "occupation", "健康": "health",
}


def risk_name(code: str, lang: str = "zh") -> str:
    """The name of risk ``code`` (e.g. ``"A.4.6"``) in ``lang``."""
    zh, en = RISKS[code]
    return zh if is_zh(lang) else en
