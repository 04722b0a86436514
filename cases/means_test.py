"""The means test (家庭经济状况核算, 补差): the ONE calculation used by the application workflow,
the annual review, the 试算 page, the 算账单 and ``POST /api/v1/means-test/``.

``means_test_run`` is pure: it reads the policy and the standard in force for the area on the
date (``cases.policy``) and stores nothing. ``means_test_for_household`` builds its input from a
stored household. Arithmetic follows contracts.md (``POST /api/v1/means-test/``) and domain.md
§2–§4, §7:

- ``household_income_monthly`` = Σ income of the counted members (excluded members' income is
  not household income, domain.md §2);
- each declared deduction is capped by the policy (``None`` cap = uncapped);
- ``per_capita_income_monthly`` = max(0, income − deductions) ÷ members counted, rounded to the
  fen (half up). Every later step uses this rounded value, so each line of the 算账单 can be
  checked by hand;
- eligible iff the income condition holds and every asset rule passes; ``reasons`` lists every
  failed rule;
- ``base_benefit_monthly`` = (standard − per capita) × members covered (补差);
- 分类施保: each covered member gets the LARGEST applicable uplift only — uplifts never stack;
- ``monthly_benefit`` = round(base + Σ uplifts) by the policy's rounding rule, and not below the
  policy minimum per covered person; 0 when not eligible;
- ``edge_family`` (低保边缘家庭): not eligible, per capita < factor × the dibao standard, and the
  assets within the rules (domain.md §2: S4 art. 8 requires the asset test too).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Prefetch, Q

from cases.choices import (
    AssetKind,
    CoverageScope,
    DeductionKind,
    DisabilityType,
    Health,
    LabourCapacity,
    Programme,
    Relation,
    RoundingRule,
    UpliftCategory,
    UpliftMode,
)
from cases.errors import CaseErrorCode
from cases.models import (
    ClassifiedUplift,
    GuaranteeStandard,
    Household,
    HouseholdAsset,
    HouseholdMember,
    MemberIncome,
    PolicySetting,
)
from cases.policy import policy_for, standard_for
from lowbao.areas.models import Area
from lowbao.core.errors import DomainError
from lowbao.people.id_numbers import IdNumberError, age_on, parse_id_number
from lowbao.people.masking import mask_id_number

ZERO = Decimal("0")
FEN = Decimal("0.01")
HUNDRED = Decimal("100")

COVERAGE_HOUSEHOLD = "household"
COVERAGE_SINGLE_PERSON = "single_person"
COVERAGES = (COVERAGE_HOUSEHOLD, COVERAGE_SINGLE_PERSON)
_COVERAGE_ALIASES = {
    COVERAGE_HOUSEHOLD: COVERAGE_HOUSEHOLD,
    CoverageScope.WHOLE_HOUSEHOLD.value: COVERAGE_HOUSEHOLD,
    COVERAGE_SINGLE_PERSON: COVERAGE_SINGLE_PERSON,
}

MINOR_AGE = 18
# Used when an 老年人 uplift row has no ``elderly_min_age`` (老年人权益保障法: 60 and over).
DEFAULT_ELDERLY_MIN_AGE = 60
# On equal amounts the more specific category wins, so the line on the 算账单 is stable.
_UPLIFT_PRIORITY = (
    UpliftCategory.SEVERE_DISABILITY,
    UpliftCategory.SERIOUS_ILLNESS,
    UpliftCategory.ELDERLY,
    UpliftCategory.MINOR,
)
_ROUNDING_STEP = {
    RoundingRule.YUAN_HALF_UP: (Decimal("1"), ROUND_HALF_UP),
    RoundingRule.JIAO_HALF_UP: (Decimal("0.1"), ROUND_HALF_UP),
    RoundingRule.FEN: (FEN, ROUND_HALF_UP),
    RoundingRule.YUAN_UP: (Decimal("1"), ROUND_CEILING),
}
_DEDUCTION_CAP_FIELD = {
    DeductionKind.MEDICAL: "medical_deduction_cap",
    DeductionKind.EDUCATION: "education_deduction_cap",
    DeductionKind.EMPLOYMENT: "employment_deduction_cap",
    DeductionKind.DISABILITY: "disability_deduction_cap",
}
_DEDUCTION_SHORT_LABEL = {
    DeductionKind.MEDICAL: "医疗",
    DeductionKind.EDUCATION: "教育",
    DeductionKind.EMPLOYMENT: "就业成本",
    DeductionKind.DISABILITY: "残疾",
}
_FINANCIAL_ASSETS = (AssetKind.DEPOSITS, AssetKind.SECURITIES, AssetKind.INSURANCE)

SINGLE_PERSON_REASON = "单人保须为低保边缘家庭中的重度残疾人或重病患者"
NO_COUNTED_MEMBER = "没有计入的家庭成员"


def _invalid(message: str, *, fields: dict[str, Any] | None = None) -> DomainError:
    return DomainError(code=CaseErrorCode.MEANS_TEST_INVALID, message=message, fields=fields)


def _to_decimal(value: object, *, name: str) -> Decimal:
    if isinstance(value, bool):
        raise _invalid(f"{name}应为金额", fields={name: "应为金额"})
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError:
        raise _invalid(f"{name}应为金额", fields={name: "应为金额"}) from None
    if not amount.is_finite():
        raise _invalid(f"{name}应为金额", fields={name: "应为金额"})
    if amount < 0:
        raise _invalid(f"{name}不能为负数", fields={name: "不能为负数"})
    return amount


def _fen(amount: Decimal) -> Decimal:
    """To the fen, halves up: every amount in a result has exactly two decimals."""
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def _yuan(amount: Decimal) -> str:
    """Two decimals, halves up (``format`` would round half-even)."""
    return str(_fen(amount))


def _plain(number: Decimal) -> str:
    """``10.00`` → ``10``, ``1.50`` → ``1.5`` (percentages and factors in lines)."""
    text = f"{number.normalize():f}"
    return text


@dataclass(frozen=True)
class MemberInput:
    """One member of the household as the means test sees them.

    ``id_number`` is normalised (any accepted spelling in, 18 characters out) and ``birth_date`` is
    derived from it. ``covered`` matters only for single-person coverage; with whole-household
    coverage every counted member is covered. ``labour_capacity`` and ``in_school`` are carried
    for the record (domain.md §2, §4) but change no amount: no 劳动力系数 is configured.
    """

    id_number: str
    relation: str
    counted: bool = True
    covered: bool | None = None
    income_monthly: Decimal = ZERO
    labour_capacity: str = ""
    health: str = ""
    disability_grade: int | None = None
    disability_type: str = ""
    in_school: bool = False
    birth_date: date = field(init=False)

    def __post_init__(self) -> None:
        try:
            parsed = parse_id_number(self.id_number)
        except IdNumberError as exc:
            raise _invalid(exc.message, fields={"id_number": exc.message}) from None
        object.__setattr__(self, "id_number", parsed.value)
        object.__setattr__(self, "birth_date", parsed.birth_date)
        object.__setattr__(
            self, "income_monthly", _to_decimal(self.income_monthly, name="income_monthly")
        )
        if self.relation not in Relation.values:
            raise _invalid("与户主关系无效", fields={"relation": "与户主关系无效"})
        if self.labour_capacity and self.labour_capacity not in LabourCapacity.values:
            raise _invalid("劳动能力无效", fields={"labour_capacity": "劳动能力无效"})
        if self.health and self.health not in Health.values:
            raise _invalid("健康状况无效", fields={"health": "健康状况无效"})
        if self.disability_type and self.disability_type not in DisabilityType.values:
            raise _invalid("残疾类别无效", fields={"disability_type": "残疾类别无效"})
        if self.disability_grade is not None and not 1 <= self.disability_grade <= 4:
            raise _invalid("残疾等级应为 1–4 级", fields={"disability_grade": "应为 1–4 级"})

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    def age_on(self, on: date) -> int:
        return age_on(self.birth_date, on)

    @property
    def is_severely_disabled(self) -> bool:
        """残疾等级 1–2 级 (重度残疾)."""
        return self.disability_grade in (1, 2)

    @property
    def may_be_covered_alone(self) -> bool:
        """单人保 (domain.md §2, S4 art. 8): grade 1–2, grade 3 intellectual/mental, or 重病."""
        grade_3_mental = self.disability_grade == 3 and self.disability_type in (
            DisabilityType.INTELLECTUAL,
            DisabilityType.MENTAL,
        )
        return self.is_severely_disabled or grade_3_mental or self.health == Health.SERIOUS_ILLNESS


@dataclass(frozen=True)
class AssetsInput:
    """家庭财产 relevant to the asset rules: deposits, securities and insurance sum to
    ``deposits``. Assets without a configured rule (machinery, livestock) are not tested."""

    deposits: Decimal = ZERO
    vehicles: int = 0
    houses: int = 0
    business_registered: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "deposits", _to_decimal(self.deposits, name="deposits"))
        for name in ("vehicles", "houses"):
            if getattr(self, name) < 0:
                raise _invalid(f"{name}不能为负数", fields={name: "不能为负数"})


@dataclass(frozen=True)
class MeansTestInput:
    """Everything ``means_test_run`` needs, as one value (for callers that pass it around)."""

    area: Area
    on: date
    members: tuple[MemberInput, ...]
    deductions: dict[str, Decimal]
    assets: AssetsInput
    coverage: str = COVERAGE_HOUSEHOLD
    programme: str = Programme.DIBAO

    def run(self) -> "MeansTestResult":
        return means_test_run(
            area=self.area,
            on=self.on,
            members=list(self.members),
            deductions=self.deductions,
            assets=self.assets,
            coverage=self.coverage,
            programme=self.programme,
        )


@dataclass(frozen=True)
class Uplift:
    """分类施保 for one covered member; ``id_number`` is the full number (masked on output)."""

    id_number: str
    category: str
    amount: Decimal

    @property
    def label(self) -> str:
        return UpliftCategory(self.category).label


@dataclass(frozen=True)
class MeansTestResult:
    """The contract response (Decimals inside) plus where the numbers came from."""

    eligible: bool
    reasons: tuple[str, ...]
    edge_family: bool
    standard_monthly: Decimal
    household_income_monthly: Decimal
    deductions_allowed_monthly: Decimal
    members_counted: int
    members_covered: int
    per_capita_income_monthly: Decimal
    base_benefit_monthly: Decimal
    uplifts: tuple[Uplift, ...]
    monthly_benefit: Decimal
    lines: tuple[str, ...]
    programme: str
    policy_id: int
    standard_id: int
    coverage: str = COVERAGE_HOUSEHOLD
    on: date | None = None
    area_code: str = ""

    def _body(self, amount: Any) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "reasons": list(self.reasons),
            "edge_family": self.edge_family,
            "standard_monthly": amount(self.standard_monthly),
            "household_income_monthly": amount(self.household_income_monthly),
            "deductions_allowed_monthly": amount(self.deductions_allowed_monthly),
            "members_counted": self.members_counted,
            "members_covered": self.members_covered,
            "per_capita_income_monthly": amount(self.per_capita_income_monthly),
            "base_benefit_monthly": amount(self.base_benefit_monthly),
            "uplifts": [
                {
                    "id_number": mask_id_number(uplift.id_number),
                    "category": uplift.label,
                    "amount": amount(uplift.amount),
                }
                for uplift in self.uplifts
            ],
            "monthly_benefit": amount(self.monthly_benefit),
            "lines": list(self.lines),
        }

    def to_json(self) -> dict[str, Any]:
        """Exactly the contracts.md response: amounts as floats, ID numbers masked."""
        return self._body(float)

    def to_snapshot(self) -> dict[str, Any]:
        """What an application stores: the contract keys with amounts as exact strings
        (``"186.00"``), masked ID numbers, and the policy/standard rows and inputs used."""
        return {
            **self._body(_yuan),
            "programme": self.programme,
            "coverage": self.coverage,
            "date": self.on.isoformat() if self.on else None,
            "area": self.area_code,
            "policy_id": self.policy_id,
            "standard_id": self.standard_id,
        }


def _normalise_coverage(coverage: str) -> str:
    try:
        return _COVERAGE_ALIASES[coverage]
    except KeyError:
        raise _invalid("保障范围应为整户保障或单人保", fields={"coverage": "无效"}) from None


def _capped_deductions(
    *, policy: PolicySetting, deductions: dict[str, Decimal]
) -> tuple[Decimal, list[str]]:
    unknown = sorted(set(deductions) - set(DeductionKind.values))
    if unknown:
        raise _invalid(
            f"未知的扣减项目：{'、'.join(unknown)}", fields={"deductions": "未知的扣减项目"}
        )
    total = ZERO
    parts: list[str] = []
    for kind in DeductionKind:
        declared = _to_decimal(deductions.get(kind.value, ZERO), name=kind.value)
        if declared == 0:
            continue
        cap = getattr(policy, _DEDUCTION_CAP_FIELD[kind])
        allowed = declared if cap is None or declared <= cap else cap
        total += allowed
        label = _DEDUCTION_SHORT_LABEL[kind]
        if allowed < declared:
            parts.append(
                f"{label} {_yuan(allowed)} 元（申报 {_yuan(declared)} 元，上限 {_yuan(cap)} 元）"
            )
        else:
            parts.append(f"{label} {_yuan(allowed)} 元")
    return _fen(total), parts


def _asset_failures(
    *, policy: PolicySetting, assets: AssetsInput, members_counted: int
) -> list[str]:
    """Every failed asset rule, in a fixed order (deposits, vehicles, houses, business)."""
    failures = []
    limit = policy.deposit_limit_per_person
    if limit is not None and assets.deposits > limit * members_counted:
        per_person = assets.deposits / members_counted
        failures.append(f"人均存款等金融资产 {_yuan(per_person)} 元，超过限额 {_yuan(limit)} 元")
    if policy.vehicle_limit is not None and assets.vehicles > policy.vehicle_limit:
        failures.append(f"机动车辆 {assets.vehicles} 辆，超过限额 {policy.vehicle_limit} 辆")
    if policy.house_limit is not None and assets.houses > policy.house_limit:
        failures.append(f"房产 {assets.houses} 套，超过限额 {policy.house_limit} 套")
    if assets.business_registered and policy.business_registration_disqualifies:
        failures.append("家庭成员有工商登记（正常经营）")
    return failures


def _uplift_amount(row: ClassifiedUplift, *, standard: Decimal) -> Decimal:
    if row.mode == UpliftMode.PERCENT_OF_STANDARD:
        return (standard * row.value / HUNDRED).quantize(FEN, rounding=ROUND_HALF_UP)
    return row.value.quantize(FEN, rounding=ROUND_HALF_UP)


def _applies(row: ClassifiedUplift, member: MemberInput, on: date) -> bool:
    if row.category == UpliftCategory.SEVERE_DISABILITY:
        return member.is_severely_disabled
    if row.category == UpliftCategory.SERIOUS_ILLNESS:
        return member.health == Health.SERIOUS_ILLNESS
    if row.category == UpliftCategory.ELDERLY:
        return member.age_on(on) >= (row.elderly_min_age or DEFAULT_ELDERLY_MIN_AGE)
    if row.category == UpliftCategory.MINOR:
        return member.age_on(on) < MINOR_AGE
    return False


def _uplift_line(row: ClassifiedUplift, amount: Decimal, *, standard: Decimal) -> str:
    if row.mode == UpliftMode.PERCENT_OF_STANDARD:
        return f"{_yuan(standard)} × {_plain(row.value)}% = {_yuan(amount)} 元"
    return f"定额 {_yuan(amount)} 元"


def _uplifts_for(
    *, rows: list[ClassifiedUplift], covered: list[MemberInput], on: date, standard: Decimal
) -> tuple[list[Uplift], list[str]]:
    """The largest applicable uplift per covered member (never more than one: no stacking)."""
    uplifts: list[Uplift] = []
    lines: list[str] = []
    for member in covered:
        applicable = [row for row in rows if _applies(row, member, on)]
        if not applicable:
            continue
        best = max(
            applicable,
            key=lambda row: (
                _uplift_amount(row, standard=standard),
                -_UPLIFT_PRIORITY.index(UpliftCategory(row.category)),
            ),
        )
        amount = _uplift_amount(best, standard=standard)
        uplifts.append(Uplift(id_number=member.id_number, category=best.category, amount=amount))
        line = (
            f"{member.id_number_masked} {UpliftCategory(best.category).label} "
            f"{_uplift_line(best, amount, standard=standard)}"
        )
        others = [
            UpliftCategory(row.category).label
            for row in sorted(applicable, key=lambda row: _UPLIFT_PRIORITY.index(row.category))
            if row is not best
        ]
        if others:
            line += f"（同时符合{'、'.join(others)}，不叠加，取最高一项）"
        lines.append(line)
    return uplifts, lines


def _round(amount: Decimal, rule: str) -> Decimal:
    step, mode = _ROUNDING_STEP.get(RoundingRule(rule), _ROUNDING_STEP[RoundingRule.FEN])
    return amount.quantize(step, rounding=mode).quantize(FEN)


def _standards(
    *, area: Area, on: date, programme: Programme
) -> tuple[GuaranteeStandard, Decimal, Decimal]:
    """(row, standard used for the gap, the dibao standard used for the income tests)."""
    row = standard_for(area, on)
    dibao_standard = _fen(row.rural_dibao_monthly)
    if programme == Programme.DIBAO:
        return row, dibao_standard, dibao_standard
    if row.tekun_basic_monthly is None:
        raise DomainError(
            code=CaseErrorCode.STANDARD_MISSING,
            message=f"{area.name}在 {on:%Y-%m-%d} 没有特困人员基本生活标准，请先导入保障标准",
        )
    return row, _fen(row.tekun_basic_monthly), dibao_standard


def _per_capita(
    *,
    members: list[MemberInput],
    counted: list[MemberInput],
    policy: PolicySetting,
    deductions: dict[str, Decimal],
    lines: list[str],
) -> tuple[Decimal, Decimal, Decimal]:
    """(household income, deductions allowed, per capita rounded to the fen)."""
    household_income = _fen(sum((member.income_monthly for member in counted), ZERO))
    lines.append(f"家庭月收入 {_yuan(household_income)} 元（计入 {len(counted)} 人）")
    excluded = len(members) - len(counted)
    if excluded:
        lines.append(f"不计入共同生活家庭成员 {excluded} 人，其收入不计入家庭收入")
    allowed, parts = _capped_deductions(policy=policy, deductions=deductions)
    detail = f"（{'；'.join(parts)}）" if parts else ""
    lines.append(f"扣减刚性支出及就业成本 {_yuan(allowed)} 元{detail}")
    per_capita = _fen(max(ZERO, household_income - allowed) / len(counted))
    floor_note = "（收入低于扣减额，按 0 计）" if household_income < allowed else ""
    lines.append(
        f"家庭月人均收入 = ({_yuan(household_income)} − {_yuan(allowed)}) ÷ "
        f"{len(counted)} = {_yuan(per_capita)} 元{floor_note}"
    )
    return household_income, allowed, per_capita


def _assets_step(
    *, policy: PolicySetting, assets: AssetsInput, members_counted: int, lines: list[str]
) -> list[str]:
    lines.append(
        f"家庭财产：存款等金融资产 {_yuan(assets.deposits)} 元，机动车辆 {assets.vehicles} 辆，"
        f"房产 {assets.houses} 套，{'有' if assets.business_registered else '无'}工商登记"
    )
    failures = _asset_failures(policy=policy, assets=assets, members_counted=members_counted)
    lines.append("；".join(failures) if failures else "家庭财产符合规定")
    return failures


def _benefit(
    *,
    policy: PolicySetting,
    covered: list[MemberInput],
    gaps: list[Decimal],
    base_line: str,
    on: date,
    standard: Decimal,
    lines: list[str],
) -> tuple[Decimal, list[Uplift], Decimal]:
    """(base, uplifts, monthly benefit) of an eligible household, explained in ``lines``."""
    base = _fen(sum(gaps, ZERO))
    lines.append(f"{base_line}{_yuan(base)} 元")
    uplifts, uplift_lines = _uplifts_for(
        rows=list(policy.uplifts.all()), covered=covered, on=on, standard=standard
    )
    if uplift_lines:
        lines.append("分类施保（每人只享受最高一项，不叠加）：")
        lines.extend(uplift_lines)
    else:
        lines.append("分类施保：无")
    uplift_total = sum((uplift.amount for uplift in uplifts), ZERO)
    total = base + uplift_total
    benefit = _round(total, policy.rounding)
    lines.append(
        f"合计 {_yuan(base)} + {_yuan(uplift_total)} = {_yuan(total)} 元，"
        f"{RoundingRule(policy.rounding).label}为 {_yuan(benefit)} 元"
    )
    minimum = _fen(policy.minimum_per_person_monthly * len(covered))
    if benefit < minimum:
        benefit = minimum
        lines.append(
            f"低于最低保障金 {_yuan(policy.minimum_per_person_monthly)} 元 × {len(covered)} 人 "
            f"= {_yuan(minimum)} 元，按 {_yuan(minimum)} 元"
        )
    lines.append(f"月保障金 {_yuan(benefit)} 元")
    return base, uplifts, benefit


def means_test_run(
    *,
    area: Area,
    on: date,
    members: list[MemberInput],
    deductions: dict[str, Decimal],
    assets: AssetsInput,
    coverage: str = COVERAGE_HOUSEHOLD,
    programme: str = Programme.DIBAO,
) -> MeansTestResult:
    """Calculate eligibility and the monthly benefit; store nothing.

    Reads the policy and standard in force for ``area`` on ``on`` (the most specific row on the
    area's path, ``cases.policy``). Raises ``DomainError``: ``MEANS_TEST_INVALID`` for input that
    cannot be calculated (no counted member, negative amounts, unknown codes), ``POLICY_MISSING``
    / ``STANDARD_MISSING`` when the data is not there (特困 needs ``tekun_basic_monthly``).

    Rules beyond contracts.md, each stated in ``lines``:

    - 分类施保: a covered member gets only the LARGEST applicable uplift (no stacking); equal
      amounts go to 重度残疾, then 重病, 老年人, 未成年人.
    - 特困 (domain.md §7): ``standard_monthly`` is the 特困 basic standard, but the income
      condition is "below the local dibao standard" (S6 art. 4).
    - 单人保 (``coverage="single_person"``, S4 art. 8): allowed only for members marked
      ``covered`` who are counted and hold disability grade 1–2, grade 3 intellectual/mental, or
      a serious illness, in a household with per capita < factor × dibao standard (低保边缘家庭),
      assets within the rules. The person is treated as a one-person household (参照单人户): their
      gap is standard − their own income, which must be below the standard. Nothing grants
      coverage by age or by a village quota.
    """
    coverage = _normalise_coverage(coverage)
    if programme not in Programme.values:
        raise _invalid("救助类型应为低保或特困供养", fields={"programme": "无效"})
    programme = Programme(programme)
    if not isinstance(assets, AssetsInput):
        raise _invalid("缺少家庭财产信息", fields={"assets": "必填"})
    counted = [member for member in members if member.counted]
    if not counted:
        raise _invalid(NO_COUNTED_MEMBER, fields={"members": NO_COUNTED_MEMBER})

    policy = policy_for(area, on)
    standard_row, standard, dibao_standard = _standards(area=area, on=on, programme=programme)
    lines: list[str] = []
    if programme == Programme.DIBAO:
        lines.append(f"保障标准 {_yuan(standard)} 元/人·月")
    else:
        lines.append(f"保障标准 {_yuan(standard)} 元/人·月（特困人员基本生活标准）")
        lines.append(f"当地低保标准 {_yuan(dibao_standard)} 元/人·月（特困人员收入条件）")
    household_income, deductions_allowed, per_capita = _per_capita(
        members=members, counted=counted, policy=policy, deductions=deductions, lines=lines
    )
    asset_failures = _assets_step(
        policy=policy, assets=assets, members_counted=len(counted), lines=lines
    )
    factor = _plain(policy.edge_family_factor)
    edge_line = _fen(policy.edge_family_factor * dibao_standard)

    reasons: list[str] = []
    if coverage == COVERAGE_HOUSEHOLD:
        covered = counted
        label = "保障标准" if programme == Programme.DIBAO else "低保标准"
        if per_capita < dibao_standard:
            lines.append(f"月人均收入 {_yuan(per_capita)} 元低于{label} {_yuan(dibao_standard)} 元")
        else:
            reasons.append(
                f"家庭月人均收入 {_yuan(per_capita)} 元不低于{label} {_yuan(dibao_standard)} 元"
            )
        gaps = [standard - per_capita for _member in covered]
        base_line = f"补差 = ({_yuan(standard)} − {_yuan(per_capita)}) × {len(covered)} 人 = "
    else:
        covered, single_reasons = _single_person_check(
            members=members,
            per_capita=per_capita,
            edge_line=edge_line,
            factor=policy.edge_family_factor,
            standard=standard,
        )
        reasons.extend(single_reasons)
        gaps = [standard - member.income_monthly for member in covered]
        base_line = "补差合计 = "
    reasons.extend(asset_failures)

    shared: dict[str, Any] = {
        "standard_monthly": standard,
        "household_income_monthly": household_income,
        "deductions_allowed_monthly": deductions_allowed,
        "members_counted": len(counted),
        "members_covered": len(covered),
        "per_capita_income_monthly": per_capita,
        "programme": programme.value,
        "policy_id": policy.pk,
        "standard_id": standard_row.pk,
        "coverage": coverage,
        "on": on,
        "area_code": area.code,
    }
    programme_label = "低保" if programme == Programme.DIBAO else "特困供养"
    if reasons:
        lines.append(f"结论：不符合{programme_label}条件（{'；'.join(reasons)}）")
        lines.append(f"月保障金 {_yuan(ZERO)} 元")
        edge_family = not asset_failures and per_capita < edge_line
        if edge_family:
            lines.append(
                f"低保边缘家庭：月人均收入 {_yuan(per_capita)} 元低于 "
                f"{factor} × {_yuan(dibao_standard)} = {_yuan(edge_line)} 元"
            )
        return MeansTestResult(
            eligible=False,
            reasons=tuple(reasons),
            edge_family=edge_family,
            base_benefit_monthly=_fen(ZERO),
            uplifts=(),
            monthly_benefit=_fen(ZERO),
            lines=tuple(lines),
            **shared,
        )

    lines.append(f"结论：符合{programme_label}条件")
    if coverage == COVERAGE_SINGLE_PERSON:
        lines.append(
            f"单人保：家庭月人均收入 {_yuan(per_capita)} 元低于低保边缘家庭标准 "
            f"{factor} × {_yuan(dibao_standard)} = {_yuan(edge_line)} 元，参照单人户计算"
        )
        for member, gap in zip(covered, gaps, strict=True):
            lines.append(
                f"{member.id_number_masked} 补差 = {_yuan(standard)} − "
                f"{_yuan(member.income_monthly)} = {_yuan(gap)} 元"
            )
    base, uplifts, benefit = _benefit(
        policy=policy,
        covered=covered,
        gaps=gaps,
        base_line=base_line,
        on=on,
        standard=standard,
        lines=lines,
    )
    return MeansTestResult(
        eligible=True,
        reasons=(),
        edge_family=False,
        base_benefit_monthly=base,
        uplifts=tuple(uplifts),
        monthly_benefit=benefit,
        lines=tuple(lines),
        **shared,
    )


def _single_person_check(
    *,
    members: list[MemberInput],
    per_capita: Decimal,
    edge_line: Decimal,
    factor: Decimal,
    standard: Decimal,
) -> tuple[list[MemberInput], list[str]]:
    """The members covered alone, and every reason 单人保 is refused (empty when allowed)."""
    marked = [member for member in members if member.covered]
    qualifying = [member for member in marked if member.counted and member.may_be_covered_alone]
    details: list[str] = []
    if not marked:
        details.append("未指定单人保对象")
    for member in marked:
        if not member.counted:
            details.append(f"{member.id_number_masked} 不是计入的共同生活家庭成员")
        elif not member.may_be_covered_alone:
            details.append(
                f"{member.id_number_masked} 不是 1–2 级残疾、3 级智力或精神残疾或重病患者"
            )
    if per_capita >= edge_line:
        details.append(
            f"家庭月人均收入 {_yuan(per_capita)} 元不低于低保边缘家庭标准 {_yuan(edge_line)} 元"
            f"（{_plain(factor)} 倍低保标准）"
        )
    reasons = [SINGLE_PERSON_REASON, *details] if details else []
    for member in qualifying:
        if member.income_monthly >= standard:
            reasons.append(
                f"{member.id_number_masked} 本人月收入 {_yuan(member.income_monthly)} 元"
                f"不低于保障标准 {_yuan(standard)} 元"
            )
    return qualifying, reasons


# --- stored households -------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRow:
    """A member as printed on the 算账单 (masked ID number only)."""

    name: str
    id_number_masked: str
    relation_label: str
    counted: bool
    covered: bool
    income_monthly: Decimal
    exclusion_reason_label: str


@dataclass(frozen=True)
class CalculationSheet:
    """The 算账单 of a household: who was counted and the result."""

    household: Household
    on: date
    members: tuple[MemberRow, ...]
    result: MeansTestResult


def _current_members(*, household: Household, on: date) -> list[HouseholdMember]:
    """Members still in the household on ``on`` (``left_at`` unset or later), with their
    non-exempt incomes: three queries whatever the household's size."""
    return list(
        HouseholdMember.objects.filter(household=household)
        .filter(Q(left_at__isnull=True) | Q(left_at__gt=on))
        .select_related("person")
        .prefetch_related(
            Prefetch(
                "incomes",
                queryset=MemberIncome.objects.filter(is_exempt=False),
                to_attr="counted_incomes",
            )
        )
        .order_by("relation", "id")
    )


def _assets_of(household: Household) -> AssetsInput:
    deposits = ZERO
    vehicles = houses = 0
    business = False
    for asset in HouseholdAsset.objects.filter(household=household, is_exempt=False):
        if asset.kind in _FINANCIAL_ASSETS:
            deposits += asset.value
        elif asset.kind == AssetKind.VEHICLE:
            vehicles += asset.quantity
        elif asset.kind == AssetKind.HOUSE:
            houses += asset.quantity
        elif asset.kind == AssetKind.BUSINESS:
            business = True
    return AssetsInput(
        deposits=deposits, vehicles=vehicles, houses=houses, business_registered=business
    )


def _member_input(member: HouseholdMember) -> MemberInput:
    income = sum((row.amount_monthly for row in member.counted_incomes), ZERO)
    return MemberInput(
        id_number=member.person.id_number,
        relation=member.relation,
        counted=member.is_counted,
        covered=member.is_covered,
        income_monthly=income,
        labour_capacity=member.labour_capacity,
        health=member.health,
        disability_grade=member.disability_grade,
        disability_type=member.disability_type,
        in_school=member.school_status not in ("", "none"),
    )


def _run_for_members(
    *, household: Household, on: date, members: Iterable[HouseholdMember]
) -> MeansTestResult:
    coverage = (
        COVERAGE_SINGLE_PERSON
        if household.coverage_scope == CoverageScope.SINGLE_PERSON
        else COVERAGE_HOUSEHOLD
    )
    return means_test_run(
        area=household.area,
        on=on,
        members=[_member_input(member) for member in members],
        deductions={
            "medical": household.medical_expense_monthly,
            "education": household.education_expense_monthly,
            "employment": household.employment_cost_monthly,
            "disability": household.disability_expense_monthly,
        },
        assets=_assets_of(household),
        coverage=coverage,
        programme=household.programme,
    )


def means_test_for_household(*, household: Household, on: date) -> MeansTestResult:
    """The means test of a stored household on ``on``.

    Members who left on or before ``on`` are ignored; ``is_counted = False`` members are not
    counted; exempt incomes and exempt assets are left out. Deductions are the household's
    rigid spending (medical, education, employment, disability), capped by policy. A fixed
    number of queries whatever the number of members (members, incomes, assets, policy,
    uplifts, standard).
    """
    return _run_for_members(
        household=household, on=on, members=_current_members(household=household, on=on)
    )


def household_calculation_sheet(*, household: Household, on: date) -> CalculationSheet:
    """``means_test_for_household`` plus the member rows the printed 算账单 shows."""
    members = _current_members(household=household, on=on)
    result = _run_for_members(household=household, on=on, members=members)
    rows = tuple(
        MemberRow(
            name=member.person.name,
            id_number_masked=member.person.id_number_masked,
            relation_label=member.get_relation_display(),
            counted=member.is_counted,
            covered=member.is_covered
            if result.coverage == COVERAGE_SINGLE_PERSON
            else member.is_counted,
            income_monthly=sum((row.amount_monthly for row in member.counted_incomes), ZERO),
            exclusion_reason_label=member.get_exclusion_reason_display(),
        )
        for member in members
    )
    return CalculationSheet(household=household, on=on, members=rows, result=result)
