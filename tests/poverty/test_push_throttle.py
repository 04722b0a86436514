"""The data-exchange pushes are rate-limited (contracts.md "Data exchange", quality.md S7): the
``push`` rate of ``LOWBAO_THROTTLE_RATES`` per service account; over it a push gets the API's
Chinese 429 and writes nothing. GET on the same URLs does not count."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from itertools import count

import pytest
from django.core.cache import cache
from django.test import Client

from lowbao.accounts.services import api_client_create
from lowbao.areas.roles import Role
from lowbao.audit.models import AuditEvent
from lowbao.settings import base
from poverty.models import DisabilityRecord, RegistrySnapshot, VerificationReport
from tests.lowbao.people.factories import make_id_number
from tests.poverty.registry.conftest import household_rows

pytestmark = pytest.mark.django_db

_households = count(1)
_days = count(1)


@pytest.fixture(autouse=True)
def _rates(settings):
    settings.LOWBAO_THROTTLE_RATES = {
        **settings.LOWBAO_THROTTLE_RATES,
        "push": "2/min",
    }
    cache.clear()
    yield
    cache.clear()


def _registry_body() -> dict:
    """A valid push of one new household, on a later snapshot date each time."""
    return {
        "county": "150121000000",
        "snapshot_date": f"2026-01-{next(_days):02d}",
        "partial": True,
        "households": household_rows(f"15012100{next(_households):02d}"),
    }


def _report_body() -> dict:
    row = {
        "身份证号": make_id_number(),
        "姓名": "张三",
        "核对项目": "车辆",
        "核对结果": "无",
        "核对日期": "2026-11-20",
    }
    return {"reports": [row]}


def _disability_body() -> dict:
    id_number = make_id_number()
    row = {
        "姓名": "张三",
        "身份证号": id_number,
        "残疾证号": f"{id_number}42",
        "残疾类别": "肢体",
        "残疾等级": "2级",
    }
    return {"records": [row]}


@dataclass(frozen=True)
class Endpoint:
    url: str
    role: str
    body: Callable[[], dict]
    written: Callable[[], int]
    area: str = "region"


ENDPOINTS = {
    "poverty_households": Endpoint(
        "/api/v1/poverty/households/",
        Role.POVERTY_OFFICE_SYSTEM,
        _registry_body,
        RegistrySnapshot.objects.count,
        area="county",
    ),
    "verification_reports": Endpoint(
        "/api/v1/verification/reports/",
        Role.VERIFICATION_PLATFORM_SYSTEM,
        _report_body,
        VerificationReport.objects.count,
    ),
    "disability_records": Endpoint(
        "/api/v1/disability/records/",
        Role.DISABILITY_FEDERATION_SYSTEM,
        _disability_body,
        DisabilityRecord.objects.count,
    ),
}


def _system(areas, endpoint: Endpoint, name: str = "") -> Client:
    created = api_client_create(
        actor=None,
        name=name or f"sys-{endpoint.role}",
        role=endpoint.role,
        area=getattr(areas, endpoint.area),
    )
    return Client(HTTP_AUTHORIZATION=f"Token {created.token}")


def _push(client: Client, endpoint: Endpoint):
    return client.post(
        endpoint.url, data=json.dumps(endpoint.body()), content_type="application/json"
    )


def test_the_default_push_rate_is_configurable_per_environment():
    assert base.LOWBAO_THROTTLE_RATES["push"] == "60/min"


@pytest.mark.parametrize("endpoint_name", list(ENDPOINTS))
def test_a_push_over_the_rate_gets_a_chinese_429_and_writes_nothing(areas, endpoint_name):
    endpoint = ENDPOINTS[endpoint_name]
    client = _system(areas, endpoint)
    first = _push(client, endpoint)
    second = _push(client, endpoint)
    written, audited = endpoint.written(), AuditEvent.objects.count()

    third = _push(client, endpoint)

    assert (first.status_code, second.status_code) == (200, 200), first.content.decode()
    assert written == 2
    assert third.status_code == 429
    wait = int(third["Retry-After"])
    assert 0 < wait <= 60
    assert third.json() == {
        "code": "throttled",
        "message": f"请求已被限流。 预计 {wait} 秒后可用。",
        "fields": {},
    }
    assert endpoint.written() == written
    assert AuditEvent.objects.count() == audited


@pytest.mark.parametrize("endpoint_name", list(ENDPOINTS))
def test_each_service_account_has_its_own_bucket(areas, endpoint_name):
    endpoint = ENDPOINTS[endpoint_name]
    busy = _system(areas, endpoint, name="busy")
    _push(busy, endpoint)
    _push(busy, endpoint)

    response = _push(_system(areas, endpoint, name="quiet"), endpoint)

    assert _push(busy, endpoint).status_code == 429
    assert response.status_code == 200


def test_a_refused_push_does_not_use_up_the_rate(areas, case_users, login_client):
    endpoint = ENDPOINTS["verification_reports"]
    caseworker = login_client(case_users.caseworker)
    for _ in range(3):
        assert _push(caseworker, endpoint).status_code == 403

    client = _system(areas, endpoint)
    responses = [_push(client, endpoint).status_code for _ in range(2)]

    assert responses == [200, 200]


@pytest.mark.parametrize(
    ("read_url", "expected"),
    [
        ("/api/v1/poverty/households/", 200),
        ("/api/v1/verification/reports/?application=987654", 404),
    ],
)
def test_reading_a_push_url_is_not_counted(case_users, login_client, read_url, expected):
    reader = login_client(case_users.caseworker)

    statuses = [reader.get(read_url).status_code for _ in range(4)]

    assert statuses == [expected] * 4
