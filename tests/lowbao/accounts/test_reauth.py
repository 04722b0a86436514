"""Step-up re-authentication for sign-offs: ``reauthenticate(*, user, password, otp_token)``."""

import inspect

import pytest
from django.core.cache import cache
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticToken

from lowbao.accounts.forms import ReauthenticationForm
from lowbao.accounts.otp_protection import recovery_code_digest
from lowbao.accounts.reauth import reauthenticate
from lowbao.areas.roles import Role
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from tests.fixtures.accounts import PASSWORD
from tests.lowbao.accounts.second_factor_helpers import enrol, totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def township_head(areas, make_user):
    return make_user(role=Role.TOWNSHIP_HEAD, area=areas.township)


@pytest.fixture
def county_leader(areas, make_user):
    return make_user(role=Role.COUNTY_LEADER, area=areas.county)


def _refusal(**kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        reauthenticate(**kwargs)
    return caught.value


def test_signature_is_keyword_only_user_password_otp_token():
    parameters = inspect.signature(reauthenticate).parameters

    assert list(parameters) == ["user", "password", "otp_token"]
    assert {p.kind for p in parameters.values()} == {inspect.Parameter.KEYWORD_ONLY}
    assert inspect.signature(reauthenticate).return_annotation in {None, "None"}


def test_wrong_password_is_refused_with_403(township_head):
    error = _refusal(user=township_head, password="wrong", otp_token="")

    assert (error.code, error.status) == ("reauth_password", 403)
    assert error.message == "登录密码不正确，签批未完成。"
    assert error.fields == {"password": ["登录密码不正确，签批未完成。"]}


def test_password_alone_is_enough_without_a_device_while_not_enforced(settings, county_leader):
    settings.LOWBAO_OTP_ENFORCED = False

    assert reauthenticate(user=county_leader, password=PASSWORD, otp_token="") is None


def test_a_user_with_a_device_must_give_a_code_even_while_not_enforced(settings, township_head):
    settings.LOWBAO_OTP_ENFORCED = False
    enrolled = enrol(township_head)

    missing = _refusal(user=township_head, password=PASSWORD, otp_token="")
    wrong = _refusal(user=township_head, password=PASSWORD, otp_token="12345")

    assert (missing.code, missing.message) == ("reauth_otp", "请输入动态口令（或一个恢复码）。")
    assert (wrong.code, wrong.status) == ("reauth_otp", 403)
    assert wrong.message == "动态口令或恢复码不正确，签批未完成。"
    code = totp_code(enrolled.device, steps_ahead=1)
    assert reauthenticate(user=township_head, password=PASSWORD, otp_token=code) is None


def test_a_code_is_not_accepted_twice(township_head):
    enrolled = enrol(township_head)
    code = totp_code(enrolled.device, steps_ahead=1)
    reauthenticate(user=township_head, password=PASSWORD, otp_token=code)

    assert _refusal(user=township_head, password=PASSWORD, otp_token=code).code == "reauth_otp"


def test_a_recovery_code_is_accepted_once_and_audited(township_head):
    enrolled = enrol(township_head)
    code = enrolled.recovery_codes[3]

    reauthenticate(user=township_head, password=PASSWORD, otp_token=code)

    assert not StaticToken.objects.filter(
        token=recovery_code_digest(township_head.pk, code)
    ).exists()
    event = AuditEvent.objects.get(action="second_factor.recovery_code_used")
    assert event.changes == {"recovery_codes_left": 9, "for": "reauthentication"}
    assert _refusal(user=township_head, password=PASSWORD, otp_token=code).code == "reauth_otp"


def test_every_signoff_needs_a_device_while_enforced(settings, township_head):
    settings.LOWBAO_OTP_ENFORCED = True

    error = _refusal(user=township_head, password=PASSWORD, otp_token="")

    assert (error.code, error.status) == ("reauth_otp_required", 403)
    assert error.message == "签批须验证动态口令：请先在“两步验证”页面绑定身份验证器。"


@pytest.mark.parametrize(
    ("_case", "role_fixture", "refused"),
    [("township_head", "township_head", False), ("county_leader", "county_leader", True)],
)
def test_without_the_signoff_rule_only_required_roles_need_a_device(
    settings, request, _case, role_fixture, refused
):
    settings.LOWBAO_OTP_ENFORCED = True
    settings.LOWBAO_OTP_REQUIRED_FOR_SIGNOFF = False
    user = request.getfixturevalue(role_fixture)

    if refused:
        assert _refusal(user=user, password=PASSWORD, otp_token="").code == "reauth_otp_required"
    else:
        assert reauthenticate(user=user, password=PASSWORD, otp_token="") is None


def test_wrong_password_is_checked_before_the_code(township_head):
    enrolled = enrol(township_head)

    error = _refusal(
        user=township_head, password="wrong", otp_token=totp_code(enrolled.device, steps_ahead=1)
    )

    assert error.code == "reauth_password"


def test_five_wrong_codes_shut_reauthentication_even_inside_a_rolled_back_signoff(township_head):
    enrolled = enrol(township_head)
    wrong = f"{(int(totp_code(enrolled.device)) + 500_000) % 1_000_000:06d}"
    for _ in range(5):
        with pytest.raises(DomainError), transaction.atomic():  # the sign-off rolls back
            reauthenticate(user=township_head, password=PASSWORD, otp_token=wrong)

    error = _refusal(
        user=township_head, password=PASSWORD, otp_token=totp_code(enrolled.device, steps_ahead=1)
    )

    assert error.code == "reauth_otp"
    assert error.message == "动态口令连续错误次数过多，请 15 分钟后再签批。"


def test_five_wrong_passwords_shut_reauthentication(township_head):
    for _ in range(5):
        _refusal(user=township_head, password="wrong", otp_token="")

    error = _refusal(user=township_head, password=PASSWORD, otp_token="")

    assert error.code == "reauth_password"
    assert error.message == "密码连续错误 5 次，请 15 分钟后再签批。"


def test_a_correct_password_clears_the_password_count(settings, township_head):
    settings.LOWBAO_OTP_ENFORCED = False
    for _ in range(4):
        _refusal(user=township_head, password="wrong", otp_token="")
    reauthenticate(user=township_head, password=PASSWORD, otp_token="")

    for _ in range(4):
        _refusal(user=township_head, password="wrong", otp_token="")

    assert reauthenticate(user=township_head, password=PASSWORD, otp_token="") is None


class SignoffForm(ReauthenticationForm):
    """How a sign-off form mixes the fields in."""


def test_form_collects_the_credentials_and_shows_refusals_under_their_field(township_head):
    enrol(township_head)
    form = SignoffForm({"reauth_password": PASSWORD, "reauth_otp_token": "000 000"})
    assert form.is_valid()

    assert form.reauth_credentials() == {"password": PASSWORD, "otp_token": "000 000"}
    checked = form.check_reauthentication(township_head)

    assert checked is False
    assert form.errors == {"reauth_otp_token": ["动态口令或恢复码不正确，签批未完成。"]}


def test_form_requires_the_password_field():
    form = SignoffForm({"reauth_otp_token": ""})

    assert form.is_valid() is False
    assert list(form.errors) == ["reauth_password"]


def test_form_leaves_other_errors_to_the_caller():
    form = SignoffForm({"reauth_password": "x"})
    form.is_valid()

    assert form.add_reauth_error(DomainError(code="conflict", message="已签批")) is False
    assert form.add_reauth_error(DomainError(code="reauth_password", message="密码不对")) is True
    assert form.errors["reauth_password"] == ["密码不对"]
