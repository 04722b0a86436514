"""A real case in the browser: a caseworker applies, investigates and posts the notice, the
township head reviews, the county approves, and the household is on next month's payment sheet.
And a rejection with its written reasons."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import Application, PublicNotice
from lowbao.core.workdays import first_of_next_month
from tests.e2e.navigation import open_menu
from tests.lowbao.people.factories import make_id_number

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _act(
    page, action: str, fields: dict[str, str] | None = None, selects: dict[str, str] | None = None
):
    form = f"#form-{action}"
    for name, value in (fields or {}).items():
        page.fill(f"{form} [name={action}-{name}]", value)
    for name, value in (selects or {}).items():
        page.select_option(f"{form} [name={action}-{name}]", value)
    page.click(f"{form} button[type=submit]")
    page.wait_for_load_state()


def _apply(page, live_server, id_number: str) -> Application:
    open_menu(page, "申请登记")
    page.fill("#id_applicant_name", "乌云")
    page.check("#id_authorisation_signed")
    page.fill("[name=members-0-name]", "乌云")
    page.fill("[name=members-0-id_number]", id_number)
    page.select_option("[name=members-0-relation]", "01")
    page.fill("[name=members-0-wages]", "120")
    page.click("#application-form button[type=submit]")
    page.wait_for_selector("#application-status")
    assert page.inner_text("#application-status") == "已申请"
    return Application.objects.get()


def _to_county(open_as, live_server, screenshot=None) -> Application:
    caseworker = open_as("cw")
    application = _apply(
        caseworker, live_server, make_id_number(birth_date=timezone.localdate().replace(year=1970))
    )
    _act(caseworker, "accept")
    assert caseworker.inner_text("#application-status") == "已受理（待调查）"
    _act(
        caseworker,
        "investigate",
        {
            "on": timezone.localdate().isoformat(),
            "investigators": "王一，李二",
            "home_visit_record": "住房为土坯房，无劳动力收入",
        },
    )
    assert caseworker.inner_text("#application-status") == "已入户调查"
    assert caseworker.inner_text("#proposed-amount") == "340.00"

    head = open_as("th")
    head.goto(f"{live_server.url}/cases/applications/{application.pk}/")
    _act(head, "township_review", {"comment": "经审核符合条件"}, {"opinion": "recommend"})
    assert head.inner_text("#application-status") == "乡镇已审核"

    caseworker.reload()
    _act(caseworker, "start_notice", {"location": "嘎查村务公开栏"})
    assert caseworker.inner_text("#application-status") == "公示中"
    # Seven days pass: move the notice into the past instead of waiting.
    week_ago = timezone.localdate() - timedelta(days=8)
    PublicNotice.objects.filter(application=application).update(
        starts_on=week_ago, ends_on=week_ago + timedelta(days=6)
    )
    caseworker.reload()
    _act(caseworker, "end_notice")
    assert caseworker.inner_text("#application-status") == "县级审核中"
    if screenshot:
        screenshot("application-county-review", caseworker)
    return application


def test_caseworker_carries_a_case_to_next_months_payment_sheet(
    open_as, live_server, areas, case_users, county_standard, screenshot, verified
):
    application = _to_county(open_as, live_server, screenshot)
    verified(application)  # the verification platform's reports (逢救必核)

    county = open_as("ca")
    county.goto(f"{live_server.url}/cases/applications/{application.pk}/")
    _act(county, "approve", {"certificate_number": "土左低保-2026-001"})
    assert county.inner_text("#application-status") == "已批准"
    county.click("text=打印批准通知书")
    assert "月保障金额 340.00 元" in county.inner_text("#decision")

    caseworker = open_as("cw")
    open_menu(caseworker, "发放花名册")
    month = first_of_next_month(timezone.localdate())
    caseworker.select_option("#generate-form select[name=township]", areas.township.code)
    caseworker.fill("#generate-form input[name=month]", month.strftime("%Y-%m"))
    caseworker.click("#generate-form button[type=submit]")
    caseworker.wait_for_selector("#lines")
    lines = caseworker.inner_text("#lines")
    assert application.household.number in lines
    assert "340.00" in lines
    screenshot("payment-sheet", caseworker)


def test_county_rejects_with_written_reasons(
    open_as, live_server, areas, case_users, county_standard
):
    application = _to_county(open_as, live_server)

    county = open_as("ca")
    county.goto(f"{live_server.url}/cases/applications/{application.pk}/")
    _act(county, "reject")
    assert "不予批准须书面说明理由" in county.inner_text("main")
    _act(county, "reject", {"comment": "家庭有经营性车辆，财产超过规定"})
    assert county.inner_text("#application-status") == "不予批准"
    county.click("text=打印不予批准通知书")
    assert "理由：家庭有经营性车辆，财产超过规定" in county.inner_text("#decision")
