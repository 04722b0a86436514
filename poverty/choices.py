"""Enumerations of the poverty registry (domain.md §9) and of the linkage work (§10, §11)."""

from django.db import models


class PovertyAttribute(models.TextChoices):
    """贫困户属性; 五保贫困户 was renamed 特困供养贫困户 (alias accepted on import)."""

    GENERAL = "general", "一般贫困户"
    DIBAO = "dibao", "低保贫困户"
    TEKUN = "tekun", "特困供养贫困户"
    DIBAO_ONLY = "dibao_household", "低保户"


ATTRIBUTE_ALIASES = {
    **{label: value for value, label in PovertyAttribute.choices},
    "五保贫困户": PovertyAttribute.TEKUN,
    "五保户": PovertyAttribute.TEKUN,
    "特困户": PovertyAttribute.TEKUN,
}


class PovertyCause(models.TextChoices):
    ILLNESS = "01", "因病"
    DISABILITY = "02", "因残"
    SCHOOLING = "03", "因学"
    DISASTER = "04", "因灾"
    LAND = "05", "缺土地"
    WATER = "06", "缺水"
    SKILLS = "07", "缺技术"
    LABOUR = "08", "缺劳动力"
    CAPITAL = "09", "缺资金"
    TRANSPORT = "10", "交通条件落后"
    MOTIVATION = "11", "自身发展动力不足"
    MARRIAGE = "12", "因婚"
    OTHER = "99", "其他"


class PovertyStatus(models.TextChoices):
    NOT_OUT = "not_out", "未脱贫"
    OUT = "out", "已脱贫"
    RETURNED = "returned", "返贫"


POVERTY_STATUS_ALIASES = {
    **{label: value for value, label in PovertyStatus.choices},
    "新脱贫": PovertyStatus.OUT,
    "历史已脱贫": PovertyStatus.OUT,
    "稳定脱贫": PovertyStatus.OUT,
}


class WorkStatus(models.TextChoices):
    IN_TOWNSHIP = "in_township", "乡镇内"
    IN_COUNTY = "in_county", "乡镇外县内"
    IN_PROVINCE = "in_province", "县外省内"
    OUT_OF_PROVINCE = "out_of_province", "省外"


class SnapshotSource(models.TextChoices):
    IMPORT = "import", "台账导入"
    API = "api", "接口推送"


class SurveyOutcome(models.TextChoices):
    PENDING = "pending", "待摸底"
    APPLICATION_STARTED = "application_started", "已启动低保/特困申请"
    NOT_ELIGIBLE = "not_eligible", "不符合条件"
    ALREADY_COVERED = "already_covered", "已纳入保障"


class ReferralDirection(models.TextChoices):
    TO_POVERTY_OFFICE = "to_poverty_office", "移交扶贫部门（不符合低保/特困/临时救助）"
    PROPOSE_REGISTRY = "propose_registry", "建议纳入建档立卡（低保户疑似贫困）"


class ReferralStatus(models.TextChoices):
    PENDING = "pending", "待接收"
    RECEIVED = "received", "已接收"
    MEASURES_TAKEN = "measures_taken", "已落实帮扶措施"


class GuaranteeKind(models.TextChoices):
    EDUCATION = "education", "义务教育有保障"
    MEDICAL = "medical", "基本医疗有保障"
    HOUSING = "housing", "住房安全有保障"


class GuaranteeStatus(models.TextChoices):
    ASSURED = "assured", "有保障"
    GAP = "gap", "存在缺口"
    NOT_APPLICABLE = "not_applicable", "不适用"


class VerificationItem(models.TextChoices):
    """核对项目 (ledgers.md §5, domain.md §11)."""

    VEHICLE = "vehicle", "车辆"
    REAL_ESTATE = "real_estate", "房产"
    BUSINESS = "business", "工商登记"
    DEPOSITS = "deposits", "存款"
    SECURITIES = "securities", "证券"
    INSURANCE = "insurance", "商业保险"
    SOCIAL_INSURANCE = "social_insurance", "社保缴费"
    PENSION = "pension", "养老金"
    HOUSING_FUND = "housing_fund", "住房公积金"
    TAX = "tax", "纳税"
    OTHER = "other", "其他"


VERIFICATION_ITEM_ALIASES = {label: value for value, label in VerificationItem.choices}


class VerificationRequestStatus(models.TextChoices):
    REQUESTED = "requested", "已申请核对"
    REPORTED = "reported", "已返回结果"


class OfficialKind(models.TextChoices):
    CIVIL_AFFAIRS_STAFF = "civil_affairs_staff", "低保经办人员"
    VILLAGE_CADRE = "village_cadre", "村（居）委会成员"


class CloseRelation(models.TextChoices):
    """近亲属 (domain.md §2): spouse, parents, children, siblings, grandparents, grandchildren."""

    SPOUSE = "spouse", "配偶"
    PARENT = "parent", "父母"
    CHILD = "child", "子女"
    SIBLING = "sibling", "兄弟姐妹"
    GRANDPARENT = "grandparent", "祖父母、外祖父母"
    GRANDCHILD = "grandchild", "孙子女、外孙子女"
    SELF = "self", "本人"
