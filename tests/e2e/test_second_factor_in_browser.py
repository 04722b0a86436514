"""The second factor in a real browser, under the real Content-Security-Policy.

A county officer enrols (QR code drawn locally, secret typed into "the app"), keeps the recovery
codes, logs out and back in through the verify step; the area switcher (a script from
static/js) still works. The browser reports every CSP violation; there must be none.
"""

import pytest

from lowbao.accounts.models import EncryptedTOTPDevice
from lowbao.areas.roles import Role
from tests.fixtures.accounts import PASSWORD
from tests.lowbao.accounts.second_factor_helpers import totp_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

_WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def _violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


def _login(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def test_county_officer_enrols_and_verifies_without_csp_violations(
    live_server, browser, areas, make_user, settings, screenshot
):
    settings.LOWBAO_OTP_ENFORCED = True
    user = make_user(
        role=Role.COUNTY_CIVIL_AFFAIRS,
        area=areas.county,
        username="officer_e2e",
        extra=((Role.COUNTY_POVERTY_OFFICE, areas.county),),
    )
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    context.add_init_script(_WATCH_CSP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    seen: list[str] = []

    _login(page, live_server, "officer_e2e")
    page.wait_for_selector("#otp-qr-code path")
    assert page.locator("#enrolment-required").count() == 1
    screenshot("second-factor-enrolment", page)
    device = EncryptedTOTPDevice.objects.get(user=user, confirmed=False)
    page.fill("#id_token", totp_code(device))
    page.click("#confirm-enrolment")
    page.wait_for_selector("#recovery-codes")
    assert page.locator("#recovery-codes li").count() == 10
    seen += _violations(page)
    page.click("#recovery-codes-continue")
    page.wait_for_selector("#my-assignments")
    seen += _violations(page)

    # The area switcher submits on change through static/js/lowbao.js (no inline handler).
    chosen = page.locator("#area-switcher option").nth(1).get_attribute("value")
    with page.expect_navigation():
        page.select_option("#area-switcher select", index=1)
    assert page.input_value("#area-switcher select") == chosen
    seen += _violations(page)

    page.click("text=退出")
    _login(page, live_server, "officer_e2e")
    page.wait_for_selector("#verify-second-factor")
    device.refresh_from_db()
    page.fill("#id_token", totp_code(device, steps_ahead=1))
    page.click("#verify-second-factor")
    page.wait_for_selector("#my-assignments")
    seen += _violations(page)

    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info")
    seen += _violations(page)
    context.close()

    assert seen == []
