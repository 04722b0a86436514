"""Re-authentication for sign-offs (step-up, quality.md S3).

A sign-off service calls ``reauthenticate(user=actor, password=..., otp_token=...)`` first, inside
its transaction: a refusal raises ``DomainError`` (HTTP 403) and the sign-off does not happen.

The password is always checked. The second factor (a TOTP code, or one recovery code, which is
then used up) is checked when the user has a confirmed TOTP device, or — while
``LOWBAO_OTP_ENFORCED`` is on — when their role requires a second factor or
``LOWBAO_OTP_REQUIRED_FOR_SIGNOFF`` is set (every sign-off); a user who then has no device is
told to enrol (``reauth_otp_required``). With enforcement off only users with a device are asked.

Wrong passwords and wrong codes are counted per user in the default cache, not in the database,
so the count survives the caller's rollback: ``LOWBAO_OTP_FAILURE_LIMIT`` wrong answers shut
re-authentication for ``LOWBAO_OTP_LOCKOUT_SECONDS``. Wrong codes share the login verify step's
count. Refusals are not audited here (the caller's transaction rolls back, and the sign-off is
the audited event); a recovery code used up is, in the caller's transaction, like its deletion.
"""

from django.conf import settings
from django.core.cache import cache

from lowbao.accounts.errors import ReauthErrorCode
from lowbao.accounts.models import User
from lowbao.accounts.second_factor import (
    Outcome,
    clear_failures,
    confirmed_totp_device,
    lockout_minutes,
    match_token,
    recovery_codes_left,
    register_failure,
    role_requires_second_factor,
    second_factor_locked,
)
from lowbao.audit.services import record
from lowbao.core.errors import DomainError

_REAUTH_FAILURE_COUNT_KEY = "lowbao:reauth:failures:{user_id}"
_STATUS = 403


def second_factor_required_for_signoff(user: User) -> bool:
    if confirmed_totp_device(user) is not None:
        return True
    if not settings.LOWBAO_OTP_ENFORCED:
        return False
    return bool(settings.LOWBAO_OTP_REQUIRED_FOR_SIGNOFF) or role_requires_second_factor(user)


def _refuse(code: ReauthErrorCode, message: str) -> DomainError:
    field = "password" if code == ReauthErrorCode.PASSWORD else "otp_token"
    return DomainError(code=code, message=message, fields={field: [message]}, status=_STATUS)


def _check_password(user: User, password: str) -> None:
    key = _REAUTH_FAILURE_COUNT_KEY.format(user_id=user.pk)
    limit = settings.LOWBAO_OTP_FAILURE_LIMIT
    if int(cache.get(key, 0)) >= limit:
        raise _refuse(
            ReauthErrorCode.PASSWORD,
            f"密码连续错误 {limit} 次，请 {lockout_minutes()} 分钟后再签批。",
        )
    if password and user.has_usable_password() and user.check_password(password):
        cache.delete(key)
        return
    cache.add(key, 0, timeout=settings.LOWBAO_OTP_LOCKOUT_SECONDS)
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=settings.LOWBAO_OTP_LOCKOUT_SECONDS)
    raise _refuse(ReauthErrorCode.PASSWORD, "登录密码不正确，签批未完成。")


def reauthenticate(*, user: User, password: str, otp_token: str) -> None:
    """Confirm that the person at the keyboard is ``user``; raise ``DomainError`` otherwise.

    Codes: ``reauth_password`` (wrong password), ``reauth_otp`` (missing or wrong code, or too
    many wrong codes), ``reauth_otp_required`` (a code is required but no device is enrolled).
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        raise _refuse(ReauthErrorCode.PASSWORD, "请先登录。")
    _check_password(user, password)
    if not second_factor_required_for_signoff(user):
        return
    if confirmed_totp_device(user) is None:
        raise _refuse(
            ReauthErrorCode.OTP_REQUIRED,
            "签批须验证动态口令：请先在“两步验证”页面绑定身份验证器。",
        )
    if second_factor_locked(user):
        raise _refuse(
            ReauthErrorCode.OTP,
            f"动态口令连续错误次数过多，请 {lockout_minutes()} 分钟后再签批。",
        )
    if not str(otp_token or "").strip():
        raise _refuse(ReauthErrorCode.OTP, "请输入动态口令（或一个恢复码）。")
    try:
        matched = match_token(user, otp_token)
    except DomainError as exc:  # django-otp's back-off after a wrong code
        raise _refuse(ReauthErrorCode.OTP, exc.message) from exc
    if matched is None:
        register_failure(user)
        raise _refuse(ReauthErrorCode.OTP, "动态口令或恢复码不正确，签批未完成。")
    clear_failures(user)
    _device, outcome = matched
    if outcome == Outcome.RECOVERY_CODE:
        record(
            actor=user,
            action="second_factor.recovery_code_used",
            obj=user,
            changes={"recovery_codes_left": recovery_codes_left(user), "for": "reauthentication"},
        )
