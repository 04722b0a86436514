"""The poverty office and a township caseworker run the survey and a referral in the browser,
and the county cannot approve a case without the verification reports (逢救必核)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cases.models import Application
from lowbao.people.services import person_upsert
from poverty.models import (
    Referral,
    RegistryHousehold,
    RegistryMember,
    RegistrySnapshot,
)
from tests.e2e.navigation import open_menu
from tests.e2e.test_case_main_path import _act, _to_county
from tests.lowbao.people.factories import make_id_number

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _registry_household(areas) -> RegistryHousehold:
    snapshot = RegistrySnapshot.objects.create(
        county=areas.county,
        snapshot_date=timezone.localdate() - timedelta(days=1),
        source="import",
        content_hash="e2e",
    )
    household = RegistryHousehold.objects.create(
        county=areas.county,
        area=areas.village,
        number="1501210001",
        attribute="general",
        main_cause="02",
        poverty_status="not_out",
        annual_income_per_capita=Decimal("3600"),
        first_snapshot=snapshot,
        last_snapshot=snapshot,
    )
    person, _ = person_upsert(actor=None, id_number=make_id_number(), name="孟和")
    RegistryMember.objects.create(
        household=household, person=person, relation="01", labour_capacity="lost"
    )
    return household


def test_survey_and_referral_between_poverty_office_and_township(
    open_as, live_server, areas, case_users, county_standard
):
    household = _registry_household(areas)

    office = open_as("po")
    open_menu(office, "摸底")
    office.fill("#survey-open-form [name=title]", "2026年劳动能力摸底")
    office.fill(
        "#survey-open-form [name=deadline]", (timezone.localdate() + timedelta(days=20)).isoformat()
    )
    office.click("#survey-open-form button[type=submit]")
    office.wait_for_selector("#survey-progress")
    assert "已发起摸底“2026年劳动能力摸底”：共 1 户待摸底。" in office.inner_text("main")

    township = open_as("cw")
    open_menu(township, "摸底")
    township.click("#surveys >> text=2026年劳动能力摸底")
    row = township.locator("#survey-items tbody tr").filter(has_text=household.number)
    row.locator("select[name=outcome]").select_option("not_eligible")
    row.locator("input[name=reason]").fill("家庭有稳定的务工收入")
    row.locator(".assess-form button").click()
    township.wait_for_load_state()
    assert "不符合条件" in township.inner_text("#survey-items")

    referral = Referral.objects.get(registry_household=household)
    open_menu(office, "移交")
    office.click(f"#referral-{referral.pk} .receive-form button")
    office.wait_for_load_state()
    office.fill(f"#referral-{referral.pk} input[name=measure]", "纳入产业扶持和公益岗位")
    office.click(f"#referral-{referral.pk} .complete-form button")
    office.wait_for_load_state()

    assert "已落实帮扶措施" in office.inner_text(f"#referral-{referral.pk}")
    referral.refresh_from_db()
    assert referral.measure == "纳入产业扶持和公益岗位"


def test_county_cannot_approve_without_verification_reports(
    open_as, live_server, areas, case_users, county_standard
):
    application = _to_county(open_as, live_server)

    county = open_as("ca")
    county.goto(f"{live_server.url}/cases/applications/{application.pk}/")
    _act(county, "approve")

    assert "缺少" in county.inner_text("main")
    assert "核对结果" in county.inner_text("main")
    assert Application.objects.get(pk=application.pk).status == "county_review"
