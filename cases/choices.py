"""Enumerations of the cases app. Values are English codes; labels are what users see."""

from django.db import models


class Programme(models.TextChoices):
    DIBAO = "dibao", "低保"
    TEKUN = "tekun", "特困供养"


class CoverageScope(models.TextChoices):
    WHOLE_HOUSEHOLD = "whole_household", "整户保障"
    SINGLE_PERSON = "single_person", "单人保"


class HouseholdStatus(models.TextChoices):
    APPLYING = "applying", "申请中"
    IN_PAYMENT = "in_payment", "保障中"
    GRADUAL_EXIT = "gradual_exit", "渐退期"
    SUSPENDED = "suspended", "暂停发放"
    STOPPED = "stopped", "已停保"
    NOT_COVERED = "not_covered", "未纳入"


# Households whose benefit is paid (the dibao roster of reconciliation.md includes gradual exit).
PAYING_STATUSES = (HouseholdStatus.IN_PAYMENT, HouseholdStatus.GRADUAL_EXIT)


class Relation(models.TextChoices):
    """与户主关系: codes of domain.md §2, plus 兄弟姐妹 (30) used by the ledgers."""

    HEAD = "01", "户主"
    SPOUSE = "02", "配偶"
    SON = "03", "子"
    DAUGHTER = "04", "女"
    DAUGHTER_IN_LAW = "05", "儿媳"
    SON_IN_LAW = "06", "女婿"
    GRANDSON = "07", "孙子"
    GRANDDAUGHTER = "08", "孙女"
    DAUGHTERS_SON = "09", "外孙子"
    DAUGHTERS_DAUGHTER = "10", "外孙女"
    FATHER = "11", "父亲"
    MOTHER = "12", "母亲"
    WIFES_FATHER = "13", "岳父"
    WIFES_MOTHER = "14", "岳母"
    HUSBANDS_FATHER = "15", "公公"
    HUSBANDS_MOTHER = "16", "婆婆"
    GRANDFATHER = "17", "祖父"
    GRANDMOTHER = "18", "祖母"
    MATERNAL_GRANDFATHER = "19", "外祖父"
    MATERNAL_GRANDMOTHER = "20", "外祖母"
    SIBLING = "30", "兄弟姐妹"
    OTHER = "99", "其他"


# Spellings found in real ledgers and in the means-test API → Relation.
RELATION_ALIASES: dict[str, str] = {
    **{label: value for value, label in Relation.choices},
    "本人": Relation.HEAD,
    "之子": Relation.SON,
    "长子": Relation.SON,
    "次子": Relation.SON,
    "儿子": Relation.SON,
    "之女": Relation.DAUGHTER,
    "长女": Relation.DAUGHTER,
    "次女": Relation.DAUGHTER,
    "女儿": Relation.DAUGHTER,
    "之儿媳": Relation.DAUGHTER_IN_LAW,
    "之女婿": Relation.SON_IN_LAW,
    "之孙子": Relation.GRANDSON,
    "之孙女": Relation.GRANDDAUGHTER,
    "之外孙子": Relation.DAUGHTERS_SON,
    "之外孙女": Relation.DAUGHTERS_DAUGHTER,
    "之父": Relation.FATHER,
    "父": Relation.FATHER,
    "之母": Relation.MOTHER,
    "母": Relation.MOTHER,
    "兄": Relation.SIBLING,
    "弟": Relation.SIBLING,
    "姐": Relation.SIBLING,
    "妹": Relation.SIBLING,
    "父母": Relation.OTHER,
}


class LabourCapacity(models.TextChoices):
    ORDINARY = "ordinary", "普通劳动力"
    SKILLED = "skilled", "技能劳动力"
    WEAK = "weak", "弱劳动力"
    LOST = "lost", "丧失劳动力"
    NONE = "none", "无劳动力"


# The 70号 group "完全或部分丧失劳动能力".
LOST_LABOUR = (LabourCapacity.WEAK, LabourCapacity.LOST, LabourCapacity.NONE)


class Health(models.TextChoices):
    HEALTHY = "healthy", "健康"
    CHRONIC = "chronic", "长期慢性病"
    SERIOUS_ILLNESS = "serious_illness", "患有大病"
    DISABLED = "disabled", "残疾"


HEALTH_ALIASES = {
    **{label: value for value, label in Health.choices},
    "大病": Health.SERIOUS_ILLNESS,
}


class DisabilityType(models.TextChoices):
    VISUAL = "visual", "视力"
    HEARING = "hearing", "听力"
    SPEECH = "speech", "言语"
    PHYSICAL = "physical", "肢体"
    INTELLECTUAL = "intellectual", "智力"
    MENTAL = "mental", "精神"
    MULTIPLE = "multiple", "多重"


class SchoolStatus(models.TextChoices):
    NOT_IN_SCHOOL = "none", "非在校生"
    PRESCHOOL = "preschool", "学前教育"
    PRIMARY = "primary", "小学"
    JUNIOR = "junior", "7-9年级"
    SENIOR = "senior", "高中1-3"
    VOCATIONAL = "vocational", "中职1-3"
    HIGHER_VOCATIONAL = "higher_vocational", "高职1-3"
    COLLEGE = "college", "大专及以上"


class ExclusionReason(models.TextChoices):
    """Why a member of the household is not counted (domain.md §2)."""

    PRISON = "prison", "服刑"
    DRUG_REHAB = "drug_rehab", "强制隔离戒毒"
    MISSING = "missing", "宣告失踪"
    CLERGY = "clergy", "出家三年以上的宗教教职人员"
    OTHER = "other", "其他（旗县规定）"


class IncomeCategory(models.TextChoices):
    WAGES = "wages", "工资性收入"
    BUSINESS = "business", "经营净收入"
    PROPERTY = "property", "财产净收入"
    TRANSFER = "transfer", "转移净收入"


class AssetKind(models.TextChoices):
    DEPOSITS = "deposits", "存款"
    SECURITIES = "securities", "证券、基金"
    INSURANCE = "insurance", "商业保险"
    VEHICLE = "vehicle", "机动车辆"
    HOUSE = "house", "房产"
    BUSINESS = "business", "工商登记"
    MACHINERY = "machinery", "大型农牧机械"
    LIVESTOCK = "livestock", "牲畜"
    OTHER = "other", "其他"


class DeductionKind(models.TextChoices):
    MEDICAL = "medical", "医疗刚性支出"
    EDUCATION = "education", "教育刚性支出"
    EMPLOYMENT = "employment", "就业成本"
    DISABILITY = "disability", "残疾刚性支出"


class ProcedureProfile(models.TextChoices):
    TRIAL_2012 = "2012_trial", "2012 审核审批办法（试行）"
    RULES_2021 = "2021", "2021 审核确认办法"


class RoundingRule(models.TextChoices):
    YUAN_HALF_UP = "yuan_half_up", "取整到元（四舍五入）"
    JIAO_HALF_UP = "jiao_half_up", "取整到角（四舍五入）"
    FEN = "fen", "保留到分"
    YUAN_UP = "yuan_up", "取整到元（进位）"


class PaymentFrequency(models.TextChoices):
    MONTHLY = "monthly", "按月"
    QUARTERLY = "quarterly", "按季"


class UpliftCategory(models.TextChoices):
    """分类施保 categories (domain.md §4); amounts are policy data, not code."""

    ELDERLY = "elderly", "老年人"
    MINOR = "minor", "未成年人"
    SEVERE_DISABILITY = "severe_disability", "重度残疾"
    SERIOUS_ILLNESS = "serious_illness", "重病患者"


class UpliftMode(models.TextChoices):
    PERCENT_OF_STANDARD = "percent", "按保障标准的百分比"
    FIXED = "fixed", "固定金额"


class ApplicationStatus(models.TextChoices):
    """States of the application procedure (domain.md §5); the table is in cases/workflow.py."""

    APPLIED = "applied", "已申请"
    ACCEPTED = "accepted", "已受理（待调查）"
    INVESTIGATED = "investigated", "已入户调查"
    APPRAISED = "appraised", "已民主评议"
    TOWNSHIP_REVIEWED = "township_reviewed", "乡镇已审核"
    IN_NOTICE = "in_notice", "公示中"
    COUNTY_REVIEW = "county_review", "县级审核中"
    IN_APPROVAL_NOTICE = "in_approval_notice", "审批公示中"
    APPROVED = "approved", "已批准"
    REJECTED = "rejected", "不予批准"
    WITHDRAWN = "withdrawn", "已撤回"
    TERMINATED = "terminated", "已终止"


CLOSED_APPLICATION_STATUSES = (
    ApplicationStatus.APPROVED,
    ApplicationStatus.REJECTED,
    ApplicationStatus.WITHDRAWN,
    ApplicationStatus.TERMINATED,
)


class ApplicationAction(models.TextChoices):
    ACCEPT = "accept", "受理"
    INVESTIGATE = "investigate", "登记入户调查"
    APPRAISE = "appraise", "登记民主评议"
    REINVESTIGATE = "reinvestigate", "重新调查"
    TOWNSHIP_REVIEW = "township_review", "乡镇审核"
    SUBMIT_TO_COUNTY = "submit_to_county", "报县审批（乡镇不建议纳入）"
    START_NOTICE = "start_notice", "开始公示"
    OBJECT = "object", "登记公示异议"
    END_NOTICE = "end_notice", "公示期满报县"
    APPROVE = "approve", "批准"
    REJECT = "reject", "不予批准"
    SEND_BACK = "send_back", "退回重新调查"
    FINALISE = "finalise", "审批公示期满"
    WITHDRAW = "withdraw", "申请人撤回"
    TERMINATE = "terminate", "终止（拒不配合调查）"


class NoticeStage(models.TextChoices):
    INITIAL = "initial", "初审公示"
    APPROVAL = "approval", "审批公示"


class TownshipOpinion(models.TextChoices):
    RECOMMEND = "recommend", "建议纳入"
    NOT_RECOMMEND = "not_recommend", "建议不予纳入"


class AppraisalOutcome(models.TextChoices):
    AGREE = "agree", "同意"
    DISAGREE = "disagree", "不同意"
    DIVIDED = "divided", "意见分歧较大（需重新调查）"


class CountyVisitReason(models.TextChoices):
    RANDOM_SAMPLE = "random", "随机抽查"
    CLOSE_RELATIVE = "close_relative", "近亲属备案"
    OBJECTION = "objection", "有异议或举报"


class PaymentSheetStatus(models.TextChoices):
    GENERATED = "generated", "已生成"
    CHECKED = "checked", "已核对"
    SENT_TO_BANK = "sent_to_bank", "已报送银行"
    PAID = "paid", "已发放"


class BenefitKind(models.TextChoices):
    NORMAL = "normal", "正常发放"
    GRADUAL_EXIT = "gradual_exit", "渐退期发放"


class ChangeKind(models.TextChoices):
    MEMBERS = "members", "家庭成员变化"
    INCOME = "income", "收入变化"
    ASSETS = "assets", "财产变化"
    DEATH = "death", "成员死亡"
    OTHER = "other", "其他"


class ChangeOutcome(models.TextChoices):
    UNCHANGED = "unchanged", "金额不变"
    INCREASE = "increase", "增发"
    DECREASE = "decrease", "减发"
    SUSPEND = "suspend", "暂停发放"
    STOP = "stop", "停发（退出）"
    GRADUAL_EXIT = "gradual_exit", "进入渐退期"


class ChangeStatus(models.TextChoices):
    REPORTED = "reported", "已登记"
    ASSESSED = "assessed", "已重新核算"
    DECIDED = "decided", "已决定"
