"""Word lists used by the detectors: surnames, places, context and title words."""

from __future__ import annotations

# The most frequent single-character surnames (about 90 % of people), then rarer ones.
SINGLE_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃"
    "武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒"
    "阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓"
    "古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣"
    "巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满"
    "闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙"
    "浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干"
)
COMPOUND_SURNAMES = (
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 端木 西门 南宫 独孤 "
    "百里 呼延 万俟 闻人 赫连 澹台 公冶 宗政 濮阳 淳于 单于 太叔 申屠 仲孙 乐正 亓官 司空 拓跋 第五 梁丘 "
    "左丘 东郭 微生 公羊 谷梁 羊舌 段干 巫马 漆雕 壤驷 公良 子车 颛孙 司寇 太史 鲜于 闾丘 夹谷 宰父 "
    "即墨 城池 锺离"
).split()

# Characters common in given names (used to repair jieba's split of a three-character name).
GIVEN_NAME_CHARS = frozenset(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红鹏辉建国文斌宇浩凯婷雪琳晨欣怡佳子涵"
    "梓轩博睿思雨嘉俊泽晓丹宁新志海亮林波飞峰云春兰梅莉倩颖慧鑫昊然诗琪萱瑶悦彤一宸铭楠翔毅健婉"
    "清晴阳薇莹璐瑞琦航远安可馨蕾玲燕琴雯洁珍凤兵成龙福生荣秋菊梦琳露旭东彬昕茜淑惠晶灵岚璇舒婕"
    "冰蓉芬宏光永豪振伦国庆建军立德民华忠诚信义礼智勤俭卫红育才学良天宇嘉豪子墨一诺浩然梓萱"
    "若汐依诺沐辰昱锦程景皓煜奕歆妍沁语桐钰涵紫蕊凡帆哲鸿博恒峻崇楷栋锋锐骏驰"
    "宝贵祥喜雅婧媛娇姗嫣菲芸芝蓓萌霖霏虹彩鹤腾跃越卓彦斐琛瑾瑜珊珂玮琰珏润洪沛泓渊源鸣"
    "仁孝廷耀晖炎焱烨武森松柏竹莲荷茂昌隆兴旺冬山川江河岩坤培基奎元贞祯禄寿康泰顺功坚家"
    "邦星月曦淼禄喜祺祎祎炜烽焕熙霄震霆雷露霜青靖静韵顺颂飒馨驹骁鹏鹰麟黛"
    "丰乾亿仪伊佑俐倩傲儒允光克兆全凌凝刚利勋华卉卿友古可叶吉君启咏唯善嘉园坤培"
    "增墨多大天奇娅娥娴婉媚子孜学宁安定宜宣宽富寒尧屹岚峥川州巍帆希帅常平年广庆康"
    "弘强彤彪征德志忠思怡恩悦惠慈慧成才振敏文斐斯新方旭昂昆明易昕星春昭晋晗晟晨景"
    "智曼望朗木杉李杨杰松林枫柔柯栋树桂桐梁梅梦森楚榕欢正武毅民永江池沐沛沫泉法泰"
    "洁津洋洲浩海涛润涵淑清渝湘源溪滢漫潇澜灏炎灿焱煜照燕爽玥玮环珍珠琦琪琳琴瑄瑶"
    "璇璐瓒甜生田男皓盈真睿知硕碧磊祖祥福秀秋程穆竹笑筱米素紫红纯绍维缘美羽翔翠翰"
    "耀聪肖胜艺芊芝芬芮花芳苗若英茂茜茹荣莉莎莲莹菁菲萌萍萱蓉蓓蔚蕊蕾薇虹蝶行衡裕"
    "西言诗诚谦豪贝贞财贤赛超越跃轩辉达迎运进远迪逸遥邦郁金鑫钊钦钰铭银锋锐锦镇长"
    "闯阳隆雁雄雅雨雪霖露韬音韶頔颖颜飞香骏鸣鸿鹤鹏黎"
)
# Placeholder names common in examples and test data.
PLACEHOLDER_NAMES = ("张三", "李四", "王五", "赵六", "钱七", "孙八", "周九", "吴十")
# Words that introduce a person's name (before it) ...
PERSON_PREFIXES = (
    "姓名 名字 联系人 紧急联系人 患者 病人 客户 申请人 借款人 贷款人 持卡人 户主 收件人 寄件人 收货人 "
    "经办人 负责人 法定代表人 法人代表 法人 被保险人 投保人 受益人 家属 监护人 担保人 保证人 学生 "
    "教师 员工 职工 用户 当事人 委托人 代理人 签字人 主治医生 主治医师 医生 医师 护士 老师 同学 "
    "甲方 乙方 联系 我叫 名叫 叫做 我是 本人 签名 署名 姓名为 持有人 开户人 开户名 账户名 户名 "
    "记录人 审核人 审批人 报告人 检查者 就诊人 父亲 母亲 丈夫 妻子 儿子 女儿 配偶 原告 被告 嫌疑人 "
    "复核人 复核 审核 审批 经办 客户经理 业务员 柜员 操作员 授权人 核保人 调查人 推荐人 介绍人 "
    "陪护人 陪同人 经治医生 经治医师 上级医师 住院医师 责任护士 主管护士 护士长 签收人 领取人 "
    "共同借款人 主借款人 抵押人 出质人 家长 班主任 学生姓名 宾客 住客 旅客 乘客 前台 被询问人 "
    "询问人 报案人 证人 户主姓名 收款人 付款人 汇款人 开户名称 租客 房东 业主 承租人 出租人 "
    "验收人 制表人 填表人 录入人 值班人 值班员 负责医生 主诊医生 接诊医生 送检医生 "
    "联系人姓名".split()
)
# Words that follow a person word (客户来电, 患者主诉) and begin with a surname character, yet
# are not names.
NOT_NAMES = frozenset(
    "来电 来访 来函 来信 来人 反映 表示 要求 咨询 投诉 同意 签字 确认 本人 主诉 自述 家属 方面 "
    "信息 资料 经理 姓名 名称 编号 代表 服务 满意 于是 向我 常规 安全 金额 明确 高兴 方便 马上 "
    "王府 黄金 周末 白天 何时 任何 程序 成功 简单 关于 连续 车辆 包装 宁愿 华为 江边 路过 石材 钱包 "
    "高风 管理 正常 逾期 结清".split())
# ... and titles that follow it (not part of the span).
PERSON_TITLES = (
    "先生 女士 小姐 经理 总经理 主任 医生 医师 大夫 护士 老师 教授 同学 同志 律师 院长 校长 "
    "董事长 总监 主管 科长 处长 局长 部长 书记 工程师 会计 师傅 阿姨 叔叔 大爷 大妈 博士 "
    "副主任 副经理 行长 女士们 先生们 总 夫妇"
).split()
# Clause patterns right after a name that confirm it (e.g. "张三，男，").
PERSON_SUFFIX_CUES = ("，男", "，女", ",男", ",女", "（男", "（女", "(男", "(女", " 男", " 女",
                      "的身份证", "的手机", "的电话", "的银行卡", "的账户", "的地址", "的邮箱", "身份证号")

PROVINCES = (
    "北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 "
    "广东 海南 四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门"
).split()
PROVINCE_FULL = (
    "北京市 天津市 上海市 重庆市 河北省 山西省 辽宁省 吉林省 黑龙江省 江苏省 浙江省 安徽省 福建省 "
    "江西省 山东省 河南省 湖北省 湖南省 广东省 海南省 四川省 贵州省 云南省 陕西省 甘肃省 青海省 "
    "台湾省 内蒙古自治区 广西壮族自治区 西藏自治区 宁夏回族自治区 新疆维吾尔自治区 "
    "香港特别行政区 澳门特别行政区"
).split()
# Prefecture-level cities most often written without their province.
CITIES = (
    "石家庄 唐山 秦皇岛 邯郸 保定 张家口 承德 沧州 廊坊 衡水 太原 大同 阳泉 长治 晋城 朔州 晋中 运城 "
    "临汾 吕梁 呼和浩特 包头 鄂尔多斯 赤峰 沈阳 大连 鞍山 抚顺 本溪 丹东 锦州 营口 阜新 辽阳 盘锦 "
    "铁岭 朝阳 葫芦岛 长春 吉林 四平 通化 白山 松原 延边 哈尔滨 齐齐哈尔 牡丹江 佳木斯 大庆 鸡西 "
    "南京 无锡 徐州 常州 苏州 南通 连云港 淮安 盐城 扬州 镇江 泰州 宿迁 杭州 宁波 温州 嘉兴 湖州 "
    "绍兴 金华 衢州 舟山 台州 丽水 合肥 芜湖 蚌埠 淮南 马鞍山 淮北 铜陵 安庆 黄山 滁州 阜阳 宿州 "
    "六安 亳州 池州 宣城 福州 厦门 莆田 三明 泉州 漳州 南平 龙岩 宁德 南昌 景德镇 萍乡 九江 新余 "
    "鹰潭 赣州 吉安 宜春 抚州 上饶 济南 青岛 淄博 枣庄 东营 烟台 潍坊 济宁 泰安 威海 日照 临沂 德州 "
    "聊城 滨州 菏泽 郑州 开封 洛阳 平顶山 安阳 鹤壁 新乡 焦作 濮阳 许昌 漯河 三门峡 南阳 商丘 信阳 "
    "周口 驻马店 武汉 黄石 十堰 宜昌 襄阳 鄂州 荆门 孝感 荆州 黄冈 咸宁 随州 恩施 长沙 株洲 湘潭 "
    "衡阳 邵阳 岳阳 常德 张家界 益阳 郴州 永州 怀化 娄底 广州 韶关 深圳 珠海 汕头 佛山 江门 湛江 "
    "茂名 肇庆 惠州 梅州 汕尾 河源 阳江 清远 东莞 中山 潮州 揭阳 云浮 南宁 柳州 桂林 梧州 北海 "
    "防城港 钦州 贵港 玉林 百色 海口 三亚 成都 自贡 攀枝花 泸州 德阳 绵阳 广元 遂宁 内江 乐山 南充 "
    "眉山 宜宾 广安 达州 雅安 巴中 资阳 贵阳 六盘水 遵义 安顺 毕节 铜仁 昆明 曲靖 玉溪 保山 昭通 "
    "丽江 普洱 临沧 大理 拉萨 西安 铜川 宝鸡 咸阳 渭南 延安 汉中 榆林 安康 商洛 兰州 嘉峪关 金昌 "
    "白银 天水 武威 张掖 平凉 酒泉 庆阳 定西 西宁 银川 石嘴山 吴忠 固原 中卫 乌鲁木齐 克拉玛依 "
    "吐鲁番 哈密 喀什 伊犁 昌吉 义乌 昆山 江阴 常熟 张家港 晋江 慈溪 余姚"
).split()

# Words that, right before a number, say what kind of number it is.
POSITIVE_CONTEXT = {
    "CN_ID_CARD": "身份证 身份证号 证件号 公民身份号码 身份号码 身份证号码 证件号码 ID",
    "CN_PHONE": "手机 手机号 电话 联系电话 联系方式 致电 来电 拨打 短信 微信 tel Tel TEL",
    "CN_LANDLINE": ("电话 座机 固话 办公电话 联系电话 传真 热线 tel Tel TEL 拨打 致电 来电 "
                    "客服电话 咨询电话 单位电话 固定电话 联系方式"),
    "BANK_CARD": "卡号 银行卡 信用卡 借记卡 储蓄卡 账号 帐号 账户 帐户 收款账号 还款账户 尾号",
    "CN_USCC": "统一社会信用代码 代码 信用代码 社会信用代码 税号 纳税人识别号 营业执照",
    "CN_PASSPORT": "护照 护照号 护照号码 passport Passport PASSPORT 出入境证件 旅行证件 证照号码 签证",
    "CN_LICENSE_PLATE": "车牌 车牌号 号牌",
    "IP_ADDRESS": "IP ip 地址 服务器 登录",
}
# Words that say a number is NOT a personal identifier (order, tracking, record numbers ...).
NEGATIVE_CONTEXT = (
    "订单 单号 订单号 流水 流水号 运单 快递 物流 交易号 交易编号 发票 合同号 合同编号 编号 工号 学号 "
    "批号 批次 序列号 住院号 病案号 门诊号 病历号 检验号 票号 凭证号 金额 余额 价格 型号 版本 条码 "
    "货号 商品编码 验证码 密码 工单 案号 文号 邮编 邮政编码 时间戳 trace 会员号 会员编号 积分 "
    "保单号 报案号 申请号 专利号 编码 序号 UUID uuid "
    "故障 故障码 故障代码 错误码 错误代码 报错 error Error ERROR 固件 版本号 软件版本 批次号 "
    "批次 设备 机型 产品 零件号 料号 SKU sku 单据 工单号 参考号 订单编号 发票号码 发票代码 发票号"
).split()
# Units that make a number an amount or a count.
AMOUNT_AFTER = tuple("元块万亿角分円%％个件次台股份吨米克")
AMOUNT_BEFORE = tuple("¥￥$€£")


def trie_pattern(words) -> str:
    """A regular expression source matching any of ``words``, longest first.

    The words are folded into a prefix tree (``北京|北海`` → ``北(?:京|海)``), so that the regex
    engine chooses a branch by one character at each step instead of trying every word in turn.
    At any position it matches what the alternation of the words sorted longest first would
    match, and backtracks through the shorter ones in the same order.
    """
    import re

    root: dict = {}
    for w in set(words):
        if not w:
            continue
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        end = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if end:
            # Shorter words end here: the children are optional (greedy, so longest first).
            return body + "?" if len(branches) == 1 and len(body) == 1 else f"(?:{body})?"
        return body

    return build(root)


def pair_filter(words):
    """A compiled regex that matches one character wherever one of ``words`` (each at least two
    characters long) may begin: its first character, followed by a possible second one.

    Much cheaper to search than a large alternation, whose every first character costs a test
    at each candidate position; see :func:`finditer_filtered`.
    """
    import re

    if min(map(len, words)) < 2:
        raise ValueError("pair_filter needs words of two characters or more")
    firsts = "".join(sorted({re.escape(w[0]) for w in words}))
    seconds = "".join(sorted({re.escape(w[1]) for w in words}))
    return re.compile(f"[{firsts}](?=[{seconds}])")


def finditer_filtered(pattern, prefilter, text: str, pos: int = 0, endpos: int | None = None):
    """``pattern.finditer(text, pos, endpos)`` for a pattern whose every match begins with two
    characters that ``prefilter`` (from :func:`pair_filter`) accepts: ``pattern`` is only tried
    where the filter matches, and like ``finditer`` the next match starts at or after the end
    of the previous one.  ``pattern`` must not match the empty string."""
    end = len(text) if endpos is None else endpos
    match = pattern.match
    after = pos
    for c in prefilter.finditer(text, pos, end):
        at = c.start()
        if at >= after:
            m = match(text, at, end)
            if m is not None:
                after = m.end()
                yield m
