"""Demo households for ``seed_demo``: real households taken through the real workflow, in every
state, in the demo county's first two townships. Deterministic (seeded by the county code) and
idempotent (nothing is added when the county already has households)."""

import random
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from cases.choices import ApplicationAction as A
from cases.choices import (
    ChangeKind,
    ChangeOutcome,
    HouseholdStatus,
    IncomeCategory,
    LabourCapacity,
    Programme,
    Relation,
)
from cases.hooks import DEMO_BEFORE_DECISION
from cases.models import GuaranteeStandard, Household
from cases.services.applications import StepData, application_register, application_transition
from cases.services.households import IncomeData, MemberData
from cases.services.management import change_assess, change_decide, change_report
from cases.services.payments import payment_sheet_generate
from lowbao.areas.models import Area, AreaLevel
from lowbao.core.errors import DomainError
from lowbao.core.workdays import first_of_next_month
from lowbao.people.id_numbers import compute_check_char

_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史"
    "顾侯邵孟龙万段漕钱汤尹黎易常武乔贺赖龚文"
)
_GIVEN = [
    "建国",
    "秀英",
    "桂兰",
    "玉珍",
    "海军",
    "志强",
    "丽娟",
    "卫东",
    "淑珍",
    "春花",
    "宝音",
    "乌云",
    "其其格",
    "巴特尔",
    "斯琴",
    "那日苏",
    "额尔敦",
    "萨仁",
    "图雅",
    "明",
    "磊",
    "静",
]
# Where each demo application stops: (share of households, last action taken).
_PLAN = [
    (0.55, A.APPROVE),
    (0.06, A.REJECT),
    (0.05, None),
    (0.05, A.ACCEPT),
    (0.06, A.INVESTIGATE),
    (0.05, A.TOWNSHIP_REVIEW),
    (0.08, A.START_NOTICE),
    (0.10, A.END_NOTICE),
]
_STEPS = [A.ACCEPT, A.INVESTIGATE, A.TOWNSHIP_REVIEW, A.START_NOTICE, A.END_NOTICE, A.APPROVE]


def _id_number(rng: random.Random, used: set[str], *, prefix: str, birth: date) -> str:
    while True:
        body = f"{prefix}{birth:%Y%m%d}{rng.randint(1, 999):03d}"
        number = body + compute_check_char(body)
        if number not in used:
            used.add(number)
            return number


def _household(rng: random.Random, used: set[str], *, prefix: str, today: date) -> list[MemberData]:
    size = rng.choice([1, 1, 2, 2, 3, 3, 4, 5])
    head_age = rng.randint(28, 86)
    head_birth = today.replace(year=today.year - head_age) - timedelta(days=rng.randint(0, 300))
    surname = rng.choice(_SURNAMES)
    members = [
        MemberData(
            id_number=_id_number(rng, used, prefix=prefix, birth=head_birth),
            name=surname + rng.choice(_GIVEN),
            relation=Relation.HEAD,
            labour_capacity=rng.choice(
                [LabourCapacity.LOST, LabourCapacity.WEAK, LabourCapacity.ORDINARY]
            ),
            health=rng.choice(["healthy", "chronic", "disabled", "serious_illness"]),
            incomes=(
                IncomeData(
                    category=IncomeCategory.BUSINESS,
                    amount_monthly=Decimal(rng.randint(0, 40) * 10),
                ),
            ),
        )
    ]
    for index in range(1, size):
        relation = Relation.SPOUSE if index == 1 else rng.choice([Relation.SON, Relation.DAUGHTER])
        age = head_age - rng.randint(-3, 3) if relation == Relation.SPOUSE else rng.randint(3, 30)
        birth = today.replace(year=today.year - max(age, 1)) - timedelta(days=rng.randint(0, 300))
        members.append(
            MemberData(
                id_number=_id_number(rng, used, prefix=prefix, birth=birth),
                name=(surname if relation != Relation.SPOUSE else rng.choice(_SURNAMES))
                + rng.choice(_GIVEN),
                relation=relation,
                incomes=(
                    IncomeData(
                        category=IncomeCategory.WAGES,
                        amount_monthly=Decimal(rng.randint(0, 30) * 10),
                    ),
                )
                if rng.random() < 0.4
                else (),
            )
        )
    return members


def _step_data(action: str, day: date) -> StepData:
    return StepData(
        on=day,
        investigators=["演示调查员甲", "演示调查员乙"],
        home_visit_record="入户核实家庭成员、住房和收入情况",
        opinion="recommend",
        comment="演示数据" if action != A.REJECT else "家庭人均收入高于保障标准",
        location="嘎查村务公开栏",
    )


def seed_demo_households(*, result: object, households: int) -> str:
    county = result.county
    if Household.objects.filter(county=county).exists():
        return f"保障户：已有 {Household.objects.filter(county=county).count()} 户（未重复生成）"
    today = timezone.localdate()
    GuaranteeStandard.objects.get_or_create(
        area=county,
        effective_from=date(today.year, 1, 1),
        defaults={
            "rural_dibao_monthly": Decimal("460.00"),
            "tekun_basic_monthly": Decimal("760.00"),
            "source": "演示数据（非正式标准）",
            "is_confirmed": False,
        },
    )
    rng = random.Random(county.code)  # noqa: S311 (demo data)
    used: set[str] = set()
    users = result.users
    townships = result.townships[:2]
    crews = [
        {"cw": users["demo_caseworker"], "head": users["demo_township_head"]},
        {"cw": users["demo_caseworker2"], "head": users["demo_township_head2"]},
    ]
    county_user = users["demo_civil_affairs"]
    targets = [last for share, last in _PLAN for _ in range(max(1, round(share * households)))]
    start = today - timedelta(days=75)
    for index, last in enumerate(targets[:households]):
        township_index = index % 2
        villages = list(
            Area.objects.filter(parent=townships[township_index], level=AreaLevel.VILLAGE)
        )
        crew = crews[township_index]
        day = start + timedelta(days=index % 20)
        application = application_register(
            actor=crew["cw"],
            area=rng.choice(villages),
            programme=Programme.TEKUN if index % 17 == 5 else Programme.DIBAO,
            members=_household(rng, used, prefix=county.code[:6], today=today),
            applied_on=day,
            applicant_name="",
            authorisation_signed=True,
        )
        head = application.household.members.get(relation=Relation.HEAD)
        application.applicant_name = head.person.name
        application.save(update_fields=["applicant_name"])
        if last is None:
            continue
        for action in _STEPS:
            actor = {A.TOWNSHIP_REVIEW: crew["head"], A.APPROVE: county_user}.get(
                action, crew["cw"]
            )
            if action == A.END_NOTICE:
                day += timedelta(days=8)
            elif action == A.APPROVE and last == A.REJECT:
                action, actor = A.REJECT, county_user
            if action == A.APPROVE:
                for prepare in DEMO_BEFORE_DECISION:
                    prepare(application, day)
            try:
                application_transition(
                    application_id=application.pk,
                    action=action,
                    actor=actor,
                    data=_step_data(action, day),
                    today=day,
                )
            except DomainError:  # an ineligible demo household stops where the rules stop it
                break
            if action == last or (last == A.REJECT and action == A.REJECT):
                break
            day += timedelta(days=1)
    _demo_dynamic_management(county=county, crews=crews, county_user=county_user, today=today)
    month = first_of_next_month(today - timedelta(days=today.day))  # this month's 1st
    for township, crew in zip(townships, crews, strict=True):
        payment_sheet_generate(actor=crew["cw"], township=township, month=month)
    count = Household.objects.filter(county=county).count()
    return (
        f"保障户：生成 {count} 户演示保障户（覆盖申请各环节、在保、不予批准），并生成本月发放花名册"
    )


def _demo_dynamic_management(
    *, county: Area, crews: list[dict], county_user: object, today: date
) -> None:
    """A few paid households through the real change procedure: 渐退, 暂停, 停发, 减发."""
    paid = list(
        Household.objects.filter(
            county=county,
            status=HouseholdStatus.IN_PAYMENT,
            area__parent=crews[0]["cw"].area_roles.first().area,
        ).order_by("number")[:4]
    )
    plans = [
        (ChangeOutcome.GRADUAL_EXIT, "家庭成员外出务工，收入超过保障标准"),
        (ChangeOutcome.SUSPEND, "户主长期外出，待核实"),
        (ChangeOutcome.STOP, "家庭成员经营收入大幅增加，不再符合条件"),
        (ChangeOutcome.DECREASE, "子女就业，家庭收入增加"),
    ]
    for household, (outcome, reason) in zip(paid, plans, strict=False):
        change = change_report(
            actor=crews[0]["cw"],
            household=household,
            kind=ChangeKind.INCOME,
            description=reason,
            reported_on=today,
        )
        change_assess(actor=crews[0]["cw"], change_id=change.pk)
        amount = None
        if outcome == ChangeOutcome.DECREASE:
            amount = max(household.monthly_amount - Decimal("100"), Decimal("50"))
        try:
            change_decide(
                actor=county_user,
                change_id=change.pk,
                outcome=outcome,
                reasons=reason,
                new_amount=amount,
            )
        except DomainError:  # the rules refused this demo decision; leave it assessed
            continue
