"""Data-quality rules of the registry (domain.md §9, the last list), run on every snapshot.

Only the rules that the stored fields support are here. ID length and check digit cannot fail
after validation (``poverty.validation``), and 务工时间 outside 0–12 is refused there and by a
database constraint; the rule is still evaluated so that a bad row written any other way shows.
Not implemented for lack of data: 文化程度 empty for non-students (文化程度 is free text in the
export), a disabled person without a certificate (残疾证号 is optional in the export), someone paid
both 低保金 and 五保金 and zero payments (the registry's income detail is not imported), a helper
who is registered as poor (only the helper's name is known), relation inconsistent with sex
beyond head/spouse, and farmland/forest per person (areas are not imported).

Each failed rule is one ``DataQualityIssue`` with the household's township, the rule code and a
Chinese message (never an ID number). Re-running a snapshot's check replaces its issues.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import models, transaction
from django.db.models import Prefetch

from cases.choices import Health, LabourCapacity, Programme, Relation, SchoolStatus
from cases.models import HouseholdMember
from lowbao.people.id_numbers import age_on
from poverty.choices import PovertyAttribute, PovertyCause
from poverty.models import (
    DataQualityIssue,
    RegistryHousehold,
    RegistryMember,
    RegistrySnapshot,
)

WORKING_AGE = (16, 65)
SCHOOL_AGE = (6, 23)
INCOME_CEILING = Decimal("100000")
WORK_MONTHS_RANGE = (0, 12)
ILL = (Health.CHRONIC, Health.SERIOUS_ILLNESS)
ABLE_TO_WORK = (LabourCapacity.ORDINARY, LabourCapacity.SKILLED)
DIBAO_ATTRIBUTES = (PovertyAttribute.DIBAO, PovertyAttribute.DIBAO_ONLY)


class QualityRule(models.TextChoices):
    NO_HEAD = "no_head", "无户主"
    LABOUR_CAPACITY_MISSING = "labour_capacity_missing", "16–65岁劳动能力为空"
    SCHOOL_STATUS_MISSING = "school_status_missing", "6–23岁在校生状况为空"
    ILLNESS_BUT_HEALTHY = "cause_illness_all_healthy", "因病致贫但无患病成员"
    SCHOOLING_BUT_NO_STUDENT = "cause_schooling_no_student", "因学致贫但无在校生"
    DISABILITY_BUT_NOBODY_DISABLED = "cause_disability_nobody_disabled", "因残致贫但无残疾成员"
    DIBAO_NOT_PAID = "dibao_attribute_not_paid", "低保贫困户无成员享受低保"
    GENERAL_BUT_PAID = "general_attribute_paid", "一般贫困户有成员享受低保或特困供养"
    TEKUN_MEMBER_CAN_WORK = "tekun_member_can_work", "特困供养贫困户有16–65岁有劳动能力成员"
    NO_HELPER = "no_helper", "无帮扶责任人"
    INCOME_OUT_OF_RANGE = "income_out_of_range", "人均纯收入不大于0或超过10万元"
    WORK_MONTHS_OUT_OF_RANGE = "work_months_out_of_range", "务工时间不在0–12个月之间"
    WORK_WITHOUT_LOCATION = "work_months_without_location", "有务工时间但无务工地点"
    HEAD_SPOUSE_SAME_SEX = "head_spouse_same_sex", "户主与配偶性别相同"
    DUPLICATE_PERSON = "duplicate_person", "同一人在多个建档立卡户"


@dataclass(frozen=True)
class _OtherHousehold:
    household_id: int
    number: str
    county_name: str


def _within(value: int, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= value <= bounds[1]


class _Checker:
    def __init__(self, snapshot: RegistrySnapshot) -> None:
        self.snapshot = snapshot
        self.on = snapshot.snapshot_date
        self.issues: list[DataQualityIssue] = []
        persons = RegistryMember.objects.filter(
            household__snapshot_entries__snapshot=snapshot
        ).values("person_id")
        self.paid: dict[int, set[str]] = defaultdict(set)
        for person_id, programme in HouseholdMember.objects.filter(
            in_payment=True, person_id__in=persons
        ).values_list("person_id", "household__programme"):
            self.paid[person_id].add(programme)
        self.memberships: dict[int, list[_OtherHousehold]] = defaultdict(list)
        for person_id, household_id, number, county_name in (
            RegistryMember.objects.filter(person_id__in=persons, household__in_registry=True)
            .values_list(
                "person_id", "household_id", "household__number", "household__county__name"
            )
            .order_by("household__county__code", "household__number")
        ):
            self.memberships[person_id].append(_OtherHousehold(household_id, number, county_name))

    def add(
        self,
        household: RegistryHousehold,
        rule: QualityRule,
        message: str,
        member: RegistryMember | None = None,
    ) -> None:
        self.issues.append(
            DataQualityIssue(
                snapshot=self.snapshot,
                household=household,
                person_id=member.person_id if member else None,
                township_id=household.area.parent_id,
                rule=rule.value,
                message=f"户编号{household.number}：{message}"[:300],
            )
        )

    def check(self, household: RegistryHousehold) -> None:
        members = list(household.members.all())
        heads = [m for m in members if m.relation == Relation.HEAD]
        if not heads:
            self.add(household, QualityRule.NO_HEAD, "没有户主")
        for member in members:
            self.check_member(household, member)
        self.check_causes(household, members)
        self.check_attribute(household, members)
        if not household.helper_name:
            self.add(household, QualityRule.NO_HELPER, "没有帮扶责任人")
        income = household.annual_income_per_capita
        if income <= 0 or income > INCOME_CEILING:
            message = f"家庭年人均纯收入{income}元，应大于0且不超过100000元"
            self.add(household, QualityRule.INCOME_OUT_OF_RANGE, message)
        for head in heads[:1]:
            for spouse in (m for m in members if m.relation == Relation.SPOUSE):
                if spouse.person.sex == head.person.sex:
                    message = f"户主{head.person.name}与配偶{spouse.person.name}性别相同"
                    self.add(household, QualityRule.HEAD_SPOUSE_SAME_SEX, message, spouse)

    def check_member(self, household: RegistryHousehold, member: RegistryMember) -> None:
        name = member.person.name
        age = age_on(member.person.birth_date, self.on)
        if _within(age, WORKING_AGE) and not member.labour_capacity:
            message = f"{name}（{age}岁）劳动能力为空"
            self.add(household, QualityRule.LABOUR_CAPACITY_MISSING, message, member)
        if _within(age, SCHOOL_AGE) and not member.school_status:
            message = f"{name}（{age}岁）在校生状况为空"
            self.add(household, QualityRule.SCHOOL_STATUS_MISSING, message, member)
        months = member.work_months
        if months is not None and not _within(months, WORK_MONTHS_RANGE):
            message = f"{name}务工时间{months}个月，应在0–12个月之间"
            self.add(household, QualityRule.WORK_MONTHS_OUT_OF_RANGE, message, member)
        if months and not member.work_status:
            message = f"{name}务工{months}个月，但没有填写务工状况（务工地点）"
            self.add(household, QualityRule.WORK_WITHOUT_LOCATION, message, member)
        for other in self.memberships.get(member.person_id, []):
            if other.household_id != household.pk:
                message = f"{name}同时是{other.county_name}建档立卡户{other.number}的成员"
                self.add(household, QualityRule.DUPLICATE_PERSON, message, member)

    def check_causes(self, household: RegistryHousehold, members: list[RegistryMember]) -> None:
        cause = household.main_cause
        if cause == PovertyCause.ILLNESS and not any(m.health in ILL for m in members):
            message = "主要致贫原因为因病，但没有患长期慢性病或大病的成员"
            self.add(household, QualityRule.ILLNESS_BUT_HEALTHY, message)
        students = [
            m for m in members if m.school_status and m.school_status != SchoolStatus.NOT_IN_SCHOOL
        ]
        if cause == PovertyCause.SCHOOLING and not students:
            self.add(
                household, QualityRule.SCHOOLING_BUT_NO_STUDENT, "主要致贫原因为因学，但没有在校生"
            )
        disabled = [m for m in members if m.health == Health.DISABLED or m.disability_certificate]
        if cause == PovertyCause.DISABILITY and not disabled:
            message = "主要致贫原因为因残，但没有残疾成员"
            self.add(household, QualityRule.DISABILITY_BUT_NOBODY_DISABLED, message)

    def check_attribute(self, household: RegistryHousehold, members: list[RegistryMember]) -> None:
        attribute = household.attribute
        if attribute in DIBAO_ATTRIBUTES and not any(
            Programme.DIBAO in self.paid.get(m.person_id, ()) for m in members
        ):
            message = f"贫困户属性为{household.get_attribute_display()}，但没有成员在享受低保"
            self.add(household, QualityRule.DIBAO_NOT_PAID, message)
        if attribute == PovertyAttribute.GENERAL:
            paid = [m for m in members if self.paid.get(m.person_id)]
            if paid:
                names = "、".join(m.person.name for m in paid)
                message = f"一般贫困户，但{names}在享受低保或特困供养"
                self.add(household, QualityRule.GENERAL_BUT_PAID, message)
        if attribute == PovertyAttribute.TEKUN:
            for member in members:
                age = age_on(member.person.birth_date, self.on)
                if _within(age, WORKING_AGE) and member.labour_capacity in ABLE_TO_WORK:
                    message = (
                        f"特困供养贫困户，但{member.person.name}（{age}岁）为"
                        f"{member.get_labour_capacity_display()}"
                    )
                    self.add(household, QualityRule.TEKUN_MEMBER_CAN_WORK, message, member)


def quality_check_snapshot(*, snapshot: RegistrySnapshot) -> int:
    """Evaluate every rule on the households of ``snapshot``; returns the number of issues.

    Uses the households' current values (equal to the snapshot's right after it is applied) and
    the ages on the snapshot date. A fixed number of queries whatever the snapshot's size.
    """
    households = (
        RegistryHousehold.objects.filter(snapshot_entries__snapshot=snapshot)
        .select_related("area")
        .prefetch_related(
            Prefetch(
                "members",
                queryset=RegistryMember.objects.select_related("person").order_by("relation", "id"),
            )
        )
        .order_by("number")
    )
    with transaction.atomic():
        DataQualityIssue.objects.filter(snapshot=snapshot).delete()
        checker = _Checker(snapshot)
        for household in households:
            checker.check(household)
        DataQualityIssue.objects.bulk_create(checker.issues, batch_size=1000)
    return len(checker.issues)
