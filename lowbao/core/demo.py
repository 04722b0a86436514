"""Demo data for trying lowbao (``seed_demo``). Only in demo mode; idempotent.

Township and village names below are demo data in the real county, not an authoritative list;
production loads townships and villages from the NBS code table (``import_ledger areas``).
"""

import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from lowbao.accounts.models import User
from lowbao.accounts.services import user_create
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Role
from lowbao.areas.services import AreaRow, area_load_rows, area_load_shipped, role_assign
from lowbao.core.errors import DomainError

DEFAULT_DEMO_COUNTY = "150121000000"  # 土默特左旗
_DEMO_TOWNSHIPS = ["察素齐镇", "毕克齐镇", "善岱镇", "台阁牧镇", "白庙子镇", "北什轴乡"]
_DEMO_VILLAGE_SUFFIXES = ["一村", "二村", "三村", "嘎查"]


# Domain apps register seeders here (in their AppConfig.ready); each gets the DemoResult and the
# number of households asked for, is idempotent, and returns a line for the command's output.
DEMO_SEEDERS: list[Callable[..., str]] = []


@dataclass
class DemoLogin:
    username: str
    role_label: str
    area_name: str
    password: str | None


@dataclass
class DemoResult:
    county: Area
    townships: list[Area]
    logins: list[DemoLogin] = field(default_factory=list)
    users: dict[str, User] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _demo_password() -> str:
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"Lb{body}#7"


def _demo_area_rows(county: Area) -> list[AreaRow]:
    prefix = county.code[:6]
    rows = []
    for index, township_name in enumerate(_DEMO_TOWNSHIPS):
        township_code = f"{prefix}{100 + index:03d}000" if index < 5 else f"{prefix}200000"
        rows.append(AreaRow(township_code, township_name, AreaLevel.TOWNSHIP, county.code))
        stem = township_name[:-1]
        for number, suffix in enumerate(_DEMO_VILLAGE_SUFFIXES, start=1):
            rows.append(
                AreaRow(
                    f"{township_code[:9]}{200 + number:03d}",
                    f"{stem}{suffix}",
                    AreaLevel.VILLAGE,
                    township_code,
                )
            )
    return rows


def _login(
    *,
    username: str,
    display_name: str,
    role: str,
    area: Area,
    reset_passwords: bool,
    extra: list[tuple[str, Area]] = (),
) -> DemoLogin:
    user = User.objects.filter(username=username).first()
    password: str | None = None
    if user is None:
        password = _demo_password()
        user = user_create(
            actor=None,
            username=username,
            password=password,
            display_name=display_name,
            must_change_password=False,
        )
    elif reset_passwords:
        password = _demo_password()
        user.set_password(password)
        user.save(update_fields=["password"])
    for assigned_role, assigned_area in [(role, area), *extra]:
        role_assign(actor=None, user=user, role=assigned_role, area=assigned_area)
    return DemoLogin(username, Role(role).label, area.name, password)


@transaction.atomic
def demo_seed(
    *, county_code: str = DEFAULT_DEMO_COUNTY, reset_passwords: bool = False, households: int = 60
) -> DemoResult:
    if not settings.LOWBAO_DEMO_MODE:
        raise DomainError(
            code="invalid", message="演示数据只能在演示模式（LOWBAO_DEMO_MODE=1）下生成"
        )
    if not Area.objects.filter(level=AreaLevel.REGION).exists():
        area_load_shipped()
    county = Area.objects.filter(code=county_code, level=AreaLevel.COUNTY).first()
    if county is None:
        raise DomainError(code="invalid", message=f"旗县代码不存在：{county_code}")
    area_load_rows(actor=None, rows=_demo_area_rows(county), source="seed_demo")
    townships = list(Area.objects.filter(parent=county, level=AreaLevel.TOWNSHIP).order_by("code"))
    first, second = townships[0], townships[1]
    first_village = Area.objects.filter(parent=first).order_by("code").first()
    league, region = county.parent, county.parent.parent
    plan = [
        ("demo_village", "演示协理员", Role.VILLAGE_ASSISTANT, first_village, []),
        ("demo_caseworker", "演示经办人", Role.TOWNSHIP_CASEWORKER, first, []),
        ("demo_caseworker2", "演示经办人（二）", Role.TOWNSHIP_CASEWORKER, second, []),
        ("demo_township_head", "演示乡镇负责人", Role.TOWNSHIP_HEAD, first, []),
        ("demo_township_head2", "演示乡镇负责人（二）", Role.TOWNSHIP_HEAD, second, []),
        ("demo_service_org", "演示购买服务机构", Role.SERVICE_ORG, county, []),
        ("demo_civil_affairs", "演示民政局", Role.COUNTY_CIVIL_AFFAIRS, county, []),
        ("demo_poverty_office", "演示扶贫办", Role.COUNTY_POVERTY_OFFICE, county, []),
        ("demo_county_leader", "演示旗县领导", Role.COUNTY_LEADER, county, []),
        ("demo_league", "演示盟市", Role.LEAGUE_OFFICER, league, []),
        ("demo_region", "演示自治区", Role.REGION_OFFICER, region, []),
        ("demo_data_admin", "演示数据管理员", Role.DATA_ADMIN, county, []),
        ("demo_security_admin", "演示安全管理员", Role.SECURITY_ADMIN, region, []),
        ("demo_audit_admin", "演示审计管理员", Role.AUDIT_ADMIN, region, []),
        (
            "demo_multi",
            "演示多区域经办人",
            Role.TOWNSHIP_CASEWORKER,
            first,
            [(Role.TOWNSHIP_CASEWORKER, second)],
        ),
    ]
    result = DemoResult(county=county, townships=townships)
    for username, display_name, role, area, extra in plan:
        result.logins.append(
            _login(
                username=username,
                display_name=display_name,
                role=role,
                area=area,
                reset_passwords=reset_passwords,
                extra=extra,
            )
        )
        result.users[username] = User.objects.get(username=username)
    for seeder in DEMO_SEEDERS:
        result.notes.append(seeder(result=result, households=households))
    return result
