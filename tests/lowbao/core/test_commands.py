"""Management commands of contracts.md: load_areas, seed_demo, create_api_client."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from cases.models import Household
from lowbao.accounts.models import ApiToken, User
from lowbao.areas.models import Area, AreaLevel, UserAreaRole
from lowbao.areas.services import SHIPPED_AREAS_CSV, area_load_shipped
from lowbao.audit.models import AuditEvent
from poverty.models import RegistryHousehold, RegistrySnapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped_areas(db):
    if not Area.objects.filter(code="150000000000").exists():
        area_load_shipped()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "areas.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_file_has_the_region_twelve_leagues_and_103_counties(shipped_areas):
    assert Area.objects.filter(level=AreaLevel.REGION).count() == 1
    assert Area.objects.filter(level=AreaLevel.LEAGUE).count() == 12
    assert Area.objects.filter(level=AreaLevel.COUNTY).count() == 103
    assert Area.objects.get(code="150121000000").path == "150000000000/150100000000/150121000000/"


def test_load_areas_adds_townships_and_is_idempotent(shipped_areas, tmp_path):
    path = _write(
        tmp_path,
        "code,name,level,parent_code\n"
        "150121100000,察素齐镇,township,150121000000\n"
        "150121100201,察素齐一村,village,150121100000\n",
    )
    out = StringIO()

    call_command("load_areas", str(path), stdout=out)
    call_command("load_areas", str(path), stdout=out)

    assert out.getvalue().splitlines() == [
        "区划导入完成：新增 2，更新 0，未变 0",
        "区划导入完成：新增 0，更新 0，未变 2",
    ]
    village = Area.objects.get(code="150121100201")
    assert village.path == "150000000000/150100000000/150121000000/150121100000/150121100201/"


def test_load_areas_renames_without_duplicating(shipped_areas, tmp_path):
    call_command(
        "load_areas",
        str(
            _write(
                tmp_path,
                "code,name,level,parent_code\n150121100000,察素齐镇,township,150121000000\n",
            )
        ),
        stdout=StringIO(),
    )

    call_command(
        "load_areas",
        str(
            _write(
                tmp_path,
                "code,name,level,parent_code\n150121100000,察素齐镇（新）,township,150121000000\n",
            )
        ),
        stdout=StringIO(),
    )

    assert list(Area.objects.filter(code="150121100000").values_list("name", flat=True)) == [
        "察素齐镇（新）"
    ]


@pytest.mark.parametrize(
    ("_case", "body", "message"),
    [
        (
            "bad_header",
            "code,name\n150121100000,x\n",
            "区划文件表头应为 code,name,level,parent_code，实际为 code,name",
        ),
        (
            "short_code",
            "code,name,level,parent_code\n1501211,x,township,150121000000\n",
            "第 2 行：区划代码“1501211”不是 12 位数字",
        ),
        (
            "unknown_parent",
            "code,name,level,parent_code\n150999100000,x,township,150999000000\n",
            "第 2 行：上级代码“150999000000”不存在",
        ),
        (
            "level_gap",
            "code,name,level,parent_code\n150121100201,x,village,150121000000\n",
            "第 2 行：上级“150121000000”的级别与“village”不相接",
        ),
        (
            "bad_level",
            "code,name,level,parent_code\n150121100000,x,town,150121000000\n",
            "第 2 行：级别“town”无效",
        ),
    ],
)
def test_load_areas_refuses_bad_files_and_writes_nothing(
    shipped_areas, tmp_path, _case, body, message
):
    before = Area.objects.count()

    with pytest.raises(CommandError) as error:
        call_command("load_areas", str(_write(tmp_path, body)))

    assert str(error.value) == message
    assert error.value.returncode == 1
    assert Area.objects.count() == before


def test_load_areas_missing_file_is_exit_code_2(tmp_path):
    with pytest.raises(CommandError) as error:
        call_command("load_areas", str(tmp_path / "nope.csv"))

    assert error.value.returncode == 2


def test_seed_demo_creates_one_login_per_role_and_is_idempotent(shipped_areas):
    first, second = StringIO(), StringIO()

    call_command("seed_demo", "--households", "12", stdout=first)
    users, roles = User.objects.count(), UserAreaRole.objects.count()
    households = Household.objects.count()
    call_command("seed_demo", "--households", "12", stdout=second)

    assert (User.objects.count(), UserAreaRole.objects.count()) == (users, roles)
    assert users == 15
    assert households == 12
    assert Household.objects.count() == 12
    assert "保障户：已有 12 户（未重复生成）" in second.getvalue()
    assert "建档立卡：已有快照（未重复生成）" in second.getvalue()
    assert RegistrySnapshot.objects.count() == 1
    assert RegistryHousehold.objects.filter(in_registry=True).count() >= 3
    assert set(Household.objects.values_list("status", flat=True)) == {
        "in_payment",
        "not_covered",
        "applying",
        "gradual_exit",
        "suspended",
        "stopped",
    }
    assert "demo_caseworker" in first.getvalue()
    assert "已存在，密码见首次生成时的输出" in second.getvalue()
    caseworker_line = next(
        line for line in first.getvalue().splitlines() if "demo_caseworker " in line
    )
    password = caseworker_line.split()[-1]
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "demo_caseworker", "password": password}
    )
    assert response.status_code == 302


def test_seed_demo_refuses_outside_demo_mode(shipped_areas, settings):
    settings.LOWBAO_DEMO_MODE = False

    with pytest.raises(CommandError) as error:
        call_command("seed_demo", stdout=StringIO())

    assert str(error.value) == "演示数据只能在演示模式（LOWBAO_DEMO_MODE=1）下生成"
    assert User.objects.count() == 0


def test_create_api_client_prints_a_token_that_authenticates(shipped_areas):
    out = StringIO()

    call_command(
        "create_api_client",
        "script1",
        "--role",
        "county_civil_affairs",
        "--area",
        "150121000000",
        stdout=out,
    )

    token = out.getvalue().splitlines()[-1].split("：", 1)[1]
    assert ApiToken.objects.get().key_hash != token
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    body = client.get("/api/v1/areas/?level=county").json()
    assert [row["code"] for row in body["results"]] == ["150121000000"]
    assert client.get("/api/v1/areas/150122000000/").status_code == 404
    assert AuditEvent.objects.filter(action="api_token.create").count() == 1


def test_revoked_or_wrong_token_is_refused(shipped_areas):
    out = StringIO()
    call_command(
        "create_api_client",
        "script2",
        "--role",
        "county_civil_affairs",
        "--area",
        "150121000000",
        stdout=out,
    )
    token = out.getvalue().splitlines()[-1].split("：", 1)[1]

    wrong = Client(HTTP_AUTHORIZATION="Token not-a-token").get("/api/v1/areas/")
    ApiToken.objects.update(revoked_at="2026-01-01T00:00:00Z")
    revoked = Client(HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/areas/")

    assert wrong.status_code == 401
    assert wrong.json() == {
        "code": "authentication_failed",
        "message": "令牌无效或已吊销",
        "fields": {},
    }
    assert revoked.status_code == 401


def test_create_api_client_refuses_an_unknown_area_and_a_misfit_level(shipped_areas):
    with pytest.raises(CommandError) as unknown:
        call_command(
            "create_api_client", "x", "--role", "county_civil_affairs", "--area", "159999000000"
        )
    with pytest.raises(CommandError) as misfit:
        call_command(
            "create_api_client", "y", "--role", "township_caseworker", "--area", "150121000000"
        )

    assert unknown.value.returncode == 2
    assert str(misfit.value) == "“苏木乡镇经办人”不能分配在旗县级区划（土默特左旗）"
    assert User.objects.filter(username__in=["x", "y"]).count() == 0


def test_shipped_csv_is_inside_the_project():
    assert SHIPPED_AREAS_CSV.is_file()
    assert SHIPPED_AREAS_CSV.read_text(encoding="utf-8").count("\n") == 117
