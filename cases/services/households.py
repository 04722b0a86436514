"""Registering a household with its members, incomes and assets."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction

from cases.choices import (
    ExclusionReason,
    IncomeCategory,
    Programme,
    Relation,
)
from cases.errors import CaseErrorCode
from cases.hooks import AFTER_PERSON_JOINED
from cases.models import Household, HouseholdAsset, HouseholdMember, MemberIncome
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area
from lowbao.audit.services import record
from lowbao.core.errors import DomainError
from lowbao.people.masking import mask_id_number
from lowbao.people.protection import PURPOSE_BANK_ACCOUNT, blind_index, encrypt
from lowbao.people.services import person_upsert

_NUMBER_PREFIX = {Programme.DIBAO: "DB", Programme.TEKUN: "TK"}


@dataclass(frozen=True)
class IncomeData:
    category: str
    amount_monthly: Decimal
    is_exempt: bool = False
    note: str = ""


@dataclass(frozen=True)
class MemberData:
    id_number: str
    name: str
    relation: str
    is_counted: bool = True
    exclusion_reason: str = ""
    is_covered: bool = True
    labour_capacity: str = ""
    health: str = ""
    disability_type: str = ""
    disability_grade: int | None = None
    disability_certificate: str = ""
    school_status: str = ""
    ethnicity: str = ""
    incomes: tuple[IncomeData, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class AssetData:
    kind: str
    quantity: int = 1
    value: Decimal = Decimal("0")
    is_exempt: bool = False
    note: str = ""


def _validate_members(members: list[MemberData]) -> None:
    problems: dict[str, list[str]] = {}
    heads = [m for m in members if m.relation == Relation.HEAD]
    if not members:
        problems.setdefault("members", []).append("至少登记一名家庭成员")
    elif len(heads) != 1:
        problems.setdefault("members", []).append(f"每户须有且只有一名户主，现有 {len(heads)} 名")
    seen: set[str] = set()
    for index, member in enumerate(members, start=1):
        label = f"第 {index} 名成员"
        if member.id_number in seen:
            problems.setdefault("members", []).append(f"{label}的身份证号与前面的成员重复")
        seen.add(member.id_number)
        if member.relation not in Relation.values:
            problems.setdefault("members", []).append(f"{label}的与户主关系无效")
        if not member.is_counted and member.exclusion_reason not in ExclusionReason.values:
            problems.setdefault("members", []).append(f"{label}不计入家庭成员，须选择原因")
        if member.is_counted and member.exclusion_reason:
            problems.setdefault("members", []).append(f"{label}计入家庭成员，不应填写不计入原因")
        if member.disability_grade is not None and not 1 <= member.disability_grade <= 4:
            problems.setdefault("members", []).append(f"{label}的残疾等级应为 1–4 级")
        for income in member.incomes:
            if income.category not in IncomeCategory.values or income.amount_monthly < 0:
                problems.setdefault("members", []).append(f"{label}的收入类别或金额无效")
    if problems:
        raise DomainError(
            code=CaseErrorCode.HOUSEHOLD_INVALID,
            message="；".join(problems["members"]),
            fields=problems,
        )


def _next_number(county: Area, programme: str) -> str:
    prefix = f"{_NUMBER_PREFIX[programme]}{county.code[:6]}"
    last = (
        Household.objects.filter(county=county, number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    sequence = int(last[len(prefix) :]) + 1 if last and last[len(prefix) :].isdigit() else 1
    return f"{prefix}{sequence:05d}"


@transaction.atomic
def household_register(
    *,
    actor: object,
    area: Area,
    programme: str,
    members: list[MemberData],
    assets: list[AssetData] = (),
    address: str = "",
    coverage_scope: str = "whole_household",
    bank_name: str = "",
    bank_account: str = "",
    number: str = "",
    deductions: dict[str, Decimal] | None = None,
) -> Household:
    """A new household (status 申请中) in a village of the actor's scope.

    A person already in a paid household cannot be registered again; the database also refuses
    a second paid household when an application is approved.
    """
    if area.level != AreaLevel.VILLAGE:
        raise DomainError(code=CaseErrorCode.AREA_NOT_VILLAGE, message="请选择到嘎查村一级")
    if not actor_covers_area(actor, area, perm=Perm.CASE_APPLY):
        raise DomainError(code="area_out_of_scope", message="该嘎查村不在您的管辖范围内")
    if programme not in Programme.values:
        raise DomainError(code=CaseErrorCode.HOUSEHOLD_INVALID, message="救助类型无效")
    _validate_members(members)
    if bank_account and not (bank_account.isdigit() and 12 <= len(bank_account) <= 19):
        raise DomainError(
            code=CaseErrorCode.HOUSEHOLD_INVALID,
            message="银行账号应为 12–19 位数字",
            fields={"bank_account": ["银行账号应为 12–19 位数字"]},
        )
    county = Area.objects.get(code=area.code[:6] + "000000")
    persons = []
    for member in members:
        person, _ = person_upsert(
            actor=actor, id_number=member.id_number, name=member.name, ethnicity=member.ethnicity
        )
        covered_elsewhere = HouseholdMember.objects.filter(person=person, in_payment=True).first()
        if covered_elsewhere is not None:
            raise DomainError(
                code=CaseErrorCode.PERSON_ALREADY_COVERED,
                message=f"{member.name}（{mask_id_number(person.id_number)}）已在保障户"
                f"{covered_elsewhere.household.number}中享受保障，不能重复登记",
            )
        persons.append(person)
    deductions = deductions or {}
    if any(value < 0 for value in deductions.values()):
        raise DomainError(code=CaseErrorCode.HOUSEHOLD_INVALID, message="刚性支出不能为负数")
    household = Household(
        medical_expense_monthly=deductions.get("medical", Decimal("0")),
        education_expense_monthly=deductions.get("education", Decimal("0")),
        employment_cost_monthly=deductions.get("employment", Decimal("0")),
        disability_expense_monthly=deductions.get("disability", Decimal("0")),
        area=area,
        county=county,
        programme=programme,
        address=address,
        coverage_scope=coverage_scope,
        bank_name=bank_name,
    )
    if bank_account:
        household.bank_account_ciphertext = encrypt(bank_account)
        household.bank_account_hash = blind_index(bank_account, purpose=PURPOSE_BANK_ACCOUNT)
    for attempt in range(5):
        household.number = number or _next_number(county, programme)
        try:
            with transaction.atomic():
                household.save()
            break
        except IntegrityError as exc:
            if number or attempt == 4:
                raise DomainError(
                    code=CaseErrorCode.HOUSEHOLD_INVALID,
                    message=f"户编号“{household.number}”已存在",
                ) from exc
    for member, person in zip(members, persons, strict=True):
        row = HouseholdMember.objects.create(
            household=household,
            person=person,
            relation=member.relation,
            is_counted=member.is_counted,
            exclusion_reason=member.exclusion_reason,
            is_covered=member.is_covered,
            labour_capacity=member.labour_capacity,
            health=member.health,
            disability_type=member.disability_type,
            disability_grade=member.disability_grade,
            disability_certificate=member.disability_certificate,
            school_status=member.school_status,
        )
        MemberIncome.objects.bulk_create(
            MemberIncome(
                member=row,
                category=income.category,
                amount_monthly=income.amount_monthly,
                is_exempt=income.is_exempt,
                note=income.note,
            )
            for income in member.incomes
        )
    for person in persons:
        for hook in AFTER_PERSON_JOINED:
            hook(person)
    HouseholdAsset.objects.bulk_create(
        HouseholdAsset(
            household=household,
            kind=asset.kind,
            quantity=asset.quantity,
            value=asset.value,
            is_exempt=asset.is_exempt,
            note=asset.note,
        )
        for asset in assets
    )
    record(
        actor=actor,
        action="household.register",
        obj=household,
        area=area,
        changes={"number": household.number, "programme": programme, "members": len(members)},
    )
    return household
