"""Demo registry for ``seed_demo``: a snapshot of the demo county's 建档立卡 registry that
overlaps the dibao roster the way real ledgers do — linked households, attribute and amount
mismatches, households already out of poverty, registry-only households that lost their labour
capacity (survey and 应保尽保 candidates). Built as ledger rows and run through the same
validator and snapshot service as the push API. Idempotent."""

import random
from datetime import date, timedelta

from django.utils import timezone

from cases.choices import PAYING_STATUSES, Relation
from cases.models import Household
from lowbao.people.id_numbers import compute_check_char
from poverty.models import RegistrySnapshot
from poverty.services.registry import registry_snapshot_apply
from poverty.validation import validate_registry_rows

_LABOUR = {
    "ordinary": "普通劳动力",
    "skilled": "技能劳动力",
    "weak": "弱劳动力",
    "lost": "丧失劳动力",
    "none": "无劳动力",
    "": "丧失劳动力",
}
_HEALTH = {
    "healthy": "健康",
    "chronic": "长期慢性病",
    "serious_illness": "患有大病",
    "disabled": "残疾",
    "": "健康",
}


def _row(
    number: str,
    village: str,
    name: str,
    id_number: str,
    relation: str,
    *,
    labour: str,
    health: str,
    attribute: str,
    cause: str,
    status: str,
    income: int,
    dibao_amount: str = "",
) -> dict[str, object]:
    return {
        "户编号": number,
        "嘎查村代码": village,
        "姓名": name,
        "证件号码": id_number,
        "与户主关系": relation,
        "劳动能力": labour,
        "健康状况": health,
        "贫困户属性": attribute,
        "主要致贫原因": cause,
        "脱贫状态": status,
        "家庭年人均纯收入": income,
        "享受低保金额": dibao_amount,
        "帮扶责任人": "演示帮扶干部",
    }


def seed_demo_registry(*, result: object, households: int) -> str:
    county = result.county
    if RegistrySnapshot.objects.filter(county=county).exists():
        return "建档立卡：已有快照（未重复生成）"
    rng = random.Random(f"registry-{county.code}")  # noqa: S311 (demo data)
    today = timezone.localdate()
    rows: list[dict[str, object]] = []
    paid = list(
        Household.objects.filter(county=county, status__in=PAYING_STATUSES)
        .select_related("area")
        .prefetch_related("members__person")
        .order_by("number")
    )
    for index, household in enumerate(paid):
        if index % 5 == 4:
            continue  # dibao only: a candidate for 应扶尽扶
        attribute, status, amount = "低保贫困户", "未脱贫", str(household.monthly_amount)
        if index % 7 == 1:
            attribute = "一般贫困户"  # attribute mismatch
        if index % 7 == 2:
            amount = str(household.monthly_amount + 30)  # amount mismatch
        if index % 7 == 3:
            status = "已脱贫"  # 应退则退 review
        number = f"{county.code[:6]}{index + 1:04d}"
        for member in household.members.all():
            rows.append(
                _row(
                    number,
                    household.area.code,
                    member.person.name,
                    member.person.id_number,
                    member.get_relation_display(),
                    labour=_LABOUR[member.labour_capacity],
                    health=_HEALTH[member.health],
                    attribute=attribute,
                    cause="因病",
                    status=status,
                    income=int(household.per_capita_income_monthly * 12) + 200,
                    dibao_amount=amount,
                )
            )
    villages = sorted({h.area.code for h in paid}) or [county.code]
    used = set()
    for extra in range(max(3, households // 6)):
        number = f"{county.code[:6]}9{extra + 1:03d}"
        birth = date(today.year - rng.randint(45, 80), rng.randint(1, 12), rng.randint(1, 28))
        while True:
            body = f"{county.code[:6]}{birth:%Y%m%d}{rng.randint(1, 999):03d}"
            id_number = body + compute_check_char(body)
            if id_number not in used:
                used.add(id_number)
                break
        rows.append(
            _row(
                number,
                rng.choice(villages),
                f"演示{extra + 1}号户主",
                id_number,
                Relation.HEAD.label,
                labour="丧失劳动力",
                health="患有大病",
                attribute="一般贫困户",
                cause="因病",
                status="未脱贫",
                income=rng.randint(2400, 4800),
            )
        )
    checked = validate_registry_rows(rows, county=county)
    if checked.errors:
        return f"建档立卡：演示快照未生成（{checked.errors[0]['message']}）"
    snapshot = registry_snapshot_apply(
        actor=result.users.get("demo_data_admin"),
        county=county,
        households=checked.households,
        snapshot_date=today - timedelta(days=1),
        source="import",
        source_name="演示数据",
    )
    return (
        f"建档立卡：生成演示快照 {snapshot.household_count} 户 {snapshot.person_count} 人"
        f"（与低保户部分重叠）"
    )
