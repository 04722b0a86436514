"""Policy data is admin-editable, unconfirmed defaults are marked, and edits are audited."""

from datetime import date

import pytest
from django.utils import timezone

from cases.models import GuaranteeStandard, PolicySetting
from cases.policy import policy_for, standard_for
from lowbao.accounts.models import User
from lowbao.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, areas, policy_defaults):
    user = User.objects.create_superuser("root", password="Root-Passw0rd-2026")
    User.objects.filter(pk=user.pk).update(
        must_change_password=False, password_changed_at=timezone.now()
    )
    client.force_login(user)
    return client


def test_seeded_defaults_are_listed_as_unconfirmed(admin_client):
    html = admin_client.get("/admin/cases/policysetting/").content.decode()

    assert html.count("待核实") >= 2
    assert PolicySetting.objects.filter(is_confirmed=False).count() == 2


def test_editing_a_standard_is_audited(admin_client, areas):
    response = admin_client.post(
        "/admin/cases/guaranteestandard/add/",
        {
            "area": areas.county.pk,
            "effective_from": "2026-07-01",
            "rural_dibao_monthly": "480.00",
            "tekun_basic_monthly": "",
            "source": "土左旗民政局文件",
            "is_confirmed": "on",
        },
    )

    assert response.status_code == 302
    assert standard_for(areas.village, date(2026, 8, 1)).rural_dibao_monthly == 480
    event = AuditEvent.objects.filter(action="policy.create").get()
    assert event.changes["rural_dibao_monthly"] == "480.00"


def test_profile_switches_on_2021_07_01(areas, policy_defaults):
    assert policy_for(areas.village, date(2021, 6, 30)).procedure_profile == "2012_trial"
    assert policy_for(areas.village, date(2021, 7, 1)).procedure_profile == "2021"


def test_county_row_beats_the_region_from_its_date(areas, policy_defaults):
    GuaranteeStandard.objects.create(
        area=areas.county, effective_from=date(2026, 1, 1), rural_dibao_monthly=460
    )

    assert standard_for(areas.village, date(2025, 12, 31)).area == areas.region
    assert standard_for(areas.village, date(2026, 1, 1)).area == areas.county
    assert standard_for(areas.other_county_village, date(2026, 1, 1)).area == areas.region


def test_missing_standard_is_a_clear_error(areas, policy_defaults):
    from lowbao.core.errors import DomainError

    with pytest.raises(DomainError) as error:
        standard_for(areas.village, date(2017, 1, 1))

    assert error.value.message == "察素齐一村在 2017-01-01 没有适用的保障标准，请先导入保障标准"
