"""The second factor (quality.md S3): TOTP devices (django-otp) and one-time recovery codes.

Who must pass it at login (``second_factor_required_at_login``):
- a user with a confirmed TOTP device, always (they opted in, or were made to);
- while ``LOWBAO_OTP_ENFORCED`` is on, also every holder of a role listed in
  ``LOWBAO_OTP_REQUIRED_ROLES`` and every superuser or staff user — they enrol first;
- never a service account (they cannot log in to pages; API tokens are not affected).
Sign-offs ask again through ``lowbao.accounts.reauth``.

Every change of devices goes through the services below, which keep
``User.second_factor_enrolled`` in step and write the audit trail (``second_factor.*``).

Secrets rest protected (``lowbao.accounts.otp_protection``): the TOTP secret is AES-GCM
encrypted (``EncryptedTOTPDevice.key_ciphertext``, rotated by ``rotate_field_keys``) and decrypted
only in memory; recovery codes are stored as keyed hashes and checked by hashing what is typed.
A secret that cannot be decrypted (its key is no longer configured, or the token was altered)
fails closed: the code is refused with ``second_factor_key_unreadable``, not counted as a wrong
code, and logged for the operators; a recovery code or a security admin's reset gets the user in.

Wrong codes are counted per user in the default cache (Redis in production, shared by every
process): ``LOWBAO_OTP_FAILURE_LIMIT`` wrong codes within ``LOWBAO_OTP_LOCKOUT_SECONDS`` shut the
verify step for that long, like django-axes does for passwords; a correct code clears the count.
django-otp's own per-device back-off (1, 2, 4 … seconds between tries) applies on top.
"""

import logging
import math
import re
from base64 import b32encode
from dataclasses import dataclass
from enum import StrEnum

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import verify_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from lowbao.accounts.errors import SecondFactorErrorCode
from lowbao.accounts.models import EncryptedTOTPDevice, User
from lowbao.accounts.otp_protection import new_totp_key_ciphertext, recovery_code_digest
from lowbao.accounts.selectors import managed_account_by_id
from lowbao.areas.scoping import all_assignments
from lowbao.audit.services import record
from lowbao.core.errors import DomainError
from lowbao.people.protection import ProtectionError, key_id_of

TOTP_DEVICE_NAME = "身份验证器"
RECOVERY_DEVICE_NAME = "恢复码"
REASON_MAX_LENGTH = 200
_TOTP_TOKEN = re.compile(r"\d{6}")
_RECOVERY_TOKEN = re.compile(r"[a-z2-7]{8}")
_FAILURES_KEY = "lowbao:second-factor:failures:{user_id}"
KEY_UNREADABLE_MESSAGE = (
    "身份验证器密钥无法解密（加密密钥未配置或密文已损坏），暂不能用动态口令验证。"
    "请输入一个恢复码，或联系安全管理员重置两步验证。"
)

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    TOTP = "totp"
    RECOVERY_CODE = "recovery_code"


# WHO NEEDS IT
# ------------------------------------------------------------------------------
def role_requires_second_factor(user: User) -> bool:
    """True for superusers, staff and holders of a role in ``LOWBAO_OTP_REQUIRED_ROLES``."""
    if user.is_superuser or user.is_staff:
        return True
    required = settings.LOWBAO_OTP_REQUIRED_ROLES
    return any(assignment.role in required for assignment in all_assignments(user))


def second_factor_required_at_login(user: object) -> bool:
    """Whether this signed-in user's session must be verified before any page is shown.

    Costs no query unless enforcement is on (the role check reads the assignments, which the
    navigation loads for the request anyway).
    """
    if not getattr(user, "is_authenticated", False) or getattr(user, "is_service_account", False):
        return False
    if user.second_factor_enrolled:  # type: ignore[attr-defined]
        return True
    return bool(settings.LOWBAO_OTP_ENFORCED) and role_requires_second_factor(user)  # type: ignore[arg-type]


def session_is_verified(user: object) -> bool:
    """``user.is_verified()`` as installed by django-otp's ``OTPMiddleware`` (False without)."""
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified is not None and is_verified())


def confirmed_totp_device(user: User) -> EncryptedTOTPDevice | None:
    return EncryptedTOTPDevice.objects.filter(user=user, confirmed=True).order_by("-id").first()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# ENROLMENT
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class EnrolmentSheet:
    """What the enrolment page shows: the secret (grouped base32) and a QR code drawn locally."""

    secret: str
    config_url: str
    qr_view_box: str
    qr_path: str


@dataclass(frozen=True)
class Enrolled:
    device: EncryptedTOTPDevice
    recovery_codes: list[str]


def _secret_readable(device: EncryptedTOTPDevice) -> bool:
    try:
        device.bin_key  # noqa: B018 (decrypts; the value is dropped at once)
    except ProtectionError:
        return False
    return True


def totp_enrolment_start(*, actor: User) -> EncryptedTOTPDevice:
    """The actor's pending (unconfirmed) device, created on the first call.

    Reloading the page keeps the same secret, so a code from an app that already scanned it
    still works. The pending device verifies nothing until it is confirmed. A pending device
    whose secret can no longer be decrypted is replaced by a fresh one.
    """
    device = EncryptedTOTPDevice.objects.filter(user=actor, confirmed=False).order_by("-id").first()
    if device is not None and not _secret_readable(device):
        device.delete()
        device = None
    if device is None:
        device = EncryptedTOTPDevice.objects.create(
            user=actor,
            name=TOTP_DEVICE_NAME,
            confirmed=False,
            key_ciphertext=new_totp_key_ciphertext(),
        )
    return device


def enrolment_sheet(device: EncryptedTOTPDevice) -> EnrolmentSheet:
    """The QR code is an SVG path made by ``qrcode`` here — no image service, no internet."""
    secret = b32encode(device.bin_key).decode("ascii").rstrip("=")
    image = qrcode.make(
        device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2
    )
    return EnrolmentSheet(
        secret=" ".join(secret[index : index + 4] for index in range(0, len(secret), 4)),
        config_url=device.config_url,
        qr_view_box=str(image.get_image().get("viewBox")),
        qr_path=str(image.path.get("d")) if image.path is not None else "",
    )


@transaction.atomic
def totp_enrolment_confirm(
    *, actor: User, token: str, request: HttpRequest | None = None
) -> Enrolled:
    """Confirm the pending device with a code from the app; replaces any earlier device.

    Issues a fresh set of recovery codes, returned once for display (django-otp keeps them
    as one-time tokens of the user's static device).
    """
    device = (
        EncryptedTOTPDevice.objects.select_for_update()
        .filter(user=actor, confirmed=False)
        .order_by("-id")
        .first()
    )
    if device is None:
        raise DomainError(
            code=SecondFactorErrorCode.NOT_ENROLLED,
            message="绑定已失效，请刷新页面后重新扫描二维码。",
        )
    token = normalise_token(token)
    if not _TOTP_TOKEN.fullmatch(token) or not _verify_totp(device, token):
        raise DomainError(
            code=SecondFactorErrorCode.INVALID,
            message="动态口令不正确：请核对手机时间，输入应用中当前显示的 6 位数字。",
            fields={"token": ["动态口令不正确"]},
        )
    replaced = EncryptedTOTPDevice.objects.filter(user=actor).exclude(pk=device.pk)
    had_device = replaced.filter(confirmed=True).exists()
    replaced.delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _issue_recovery_codes(actor)
    actor.second_factor_enrolled = True
    actor.save(update_fields=["second_factor_enrolled"])
    clear_failures(actor)
    record(
        actor=actor,
        action="second_factor.enrol",
        obj=actor,
        changes={"replaced_device": had_device, "recovery_codes": len(codes)},
        request=request,
    )
    return Enrolled(device=device, recovery_codes=codes)


def _verify_totp(device: EncryptedTOTPDevice, token: str) -> bool:
    """django-otp's check of a pending device; an undecryptable secret fails closed."""
    try:
        return bool(device.verify_token(token))
    except ProtectionError as exc:
        raise _key_unreadable(device, exc) from None


def _key_unreadable(device: EncryptedTOTPDevice, exc: ProtectionError) -> DomainError:
    try:
        key_id = key_id_of(device.key_ciphertext)
    except ProtectionError:
        key_id = "(格式错误)"
    logger.error(
        "TOTP secret of user %s (device %s, key id %r) cannot be decrypted: %s",
        device.user_id,
        device.pk,
        key_id,
        exc,
    )
    return DomainError(code=SecondFactorErrorCode.KEY_UNREADABLE, message=KEY_UNREADABLE_MESSAGE)


def _issue_recovery_codes(user: User) -> list[str]:
    """New one-time codes on the user's (single) static device; the old ones stop working.

    The device itself is kept, so a session verified with a recovery code stays verified.
    Only the codes' keyed hashes are stored; the codes are returned once, for display.
    """
    device = StaticDevice.objects.filter(user=user).order_by("id").first()
    if device is None:
        device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    elif not device.confirmed:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    StaticDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.token_set.all().delete()
    codes: set[str] = set()
    while len(codes) < settings.LOWBAO_OTP_RECOVERY_CODE_COUNT:
        codes.add(StaticToken.random_token())
    ordered = sorted(codes)
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=recovery_code_digest(user.pk, code)) for code in ordered
    )
    return ordered


@transaction.atomic
def recovery_codes_regenerate(*, actor: User, request: HttpRequest | None = None) -> list[str]:
    if confirmed_totp_device(actor) is None:
        raise DomainError(
            code=SecondFactorErrorCode.NOT_ENROLLED,
            message="尚未绑定身份验证器，不能生成恢复码。",
        )
    codes = _issue_recovery_codes(actor)
    record(
        actor=actor,
        action="second_factor.recovery_codes_regenerate",
        obj=actor,
        changes={"recovery_codes": len(codes)},
        request=request,
    )
    return codes


# VERIFICATION
# ------------------------------------------------------------------------------
def normalise_token(token: object) -> str:
    """Codes as typed: spaces and dashes dropped (``123 456``, ``abcd-efgh``), lower case."""
    return re.sub(r"[\s-]", "", str(token or "")).lower()


def match_token(user: User, token: str) -> tuple[Device, Outcome] | None:
    """The device that accepts ``token`` (and consumes it), or None.

    Six digits are tried against the TOTP device, eight base32 letters against the recovery
    codes (by their keyed hash; a used code is deleted). A device still in django-otp's back-off
    refuses with ``second_factor_wait`` without counting as a failure; so does a TOTP device
    whose secret cannot be decrypted (``second_factor_key_unreadable``).
    """
    token = normalise_token(token)
    if _TOTP_TOKEN.fullmatch(token):
        device: Device | None = confirmed_totp_device(user)
        outcome = Outcome.TOTP
    elif _RECOVERY_TOKEN.fullmatch(token):
        device = StaticDevice.objects.filter(user=user, confirmed=True).first()
        outcome = Outcome.RECOVERY_CODE
        token = recovery_code_digest(user.pk, token)
    else:
        return None
    if device is None:
        return None
    allowed, details = device.verify_is_allowed()
    if not allowed:
        locked_until = (details or {}).get("locked_until")
        seconds = (locked_until - timezone.now()).total_seconds() if locked_until else 1
        raise DomainError(
            code=SecondFactorErrorCode.WAIT,
            message=f"尝试过于频繁，请 {max(1, math.ceil(seconds))} 秒后再试。",
        )
    try:
        verified = verify_token(user, device.persistent_id, token)
    except ProtectionError as exc:
        raise _key_unreadable(device, exc) from None  # type: ignore[arg-type]
    return (verified, outcome) if verified is not None else None


def failure_count(user: User) -> int:
    return int(cache.get(_FAILURES_KEY.format(user_id=user.pk), 0))


def second_factor_locked(user: User) -> bool:
    return failure_count(user) >= settings.LOWBAO_OTP_FAILURE_LIMIT


def register_failure(user: User) -> int:
    """Count one wrong code; the window starts at the first failure (``add`` sets the expiry)."""
    key = _FAILURES_KEY.format(user_id=user.pk)
    cache.add(key, 0, timeout=settings.LOWBAO_OTP_LOCKOUT_SECONDS)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.LOWBAO_OTP_LOCKOUT_SECONDS)
        return 1


def clear_failures(user: User) -> None:
    cache.delete(_FAILURES_KEY.format(user_id=user.pk))


def lockout_minutes() -> int:
    return max(1, settings.LOWBAO_OTP_LOCKOUT_SECONDS // 60)


def second_factor_verify(*, actor: User, token: str, request: HttpRequest | None = None) -> Device:
    """Check a login's second factor. Failures are audited (and committed: no transaction
    here), the ``LOWBAO_OTP_FAILURE_LIMIT``-th one as a lockout; the caller logs out on
    ``second_factor_locked``."""
    limit = settings.LOWBAO_OTP_FAILURE_LIMIT
    locked_message = (
        f"动态口令连续错误 {limit} 次，已退出登录。请 {lockout_minutes()} 分钟后再试，"
        "或联系安全管理员。"
    )
    if second_factor_locked(actor):
        raise DomainError(code=SecondFactorErrorCode.LOCKED, message=locked_message, status=403)
    matched = match_token(actor, token)
    if matched is None:
        failures = register_failure(actor)
        record(
            actor=actor,
            action="second_factor.verify_failed",
            obj=actor,
            changes={"failures": failures},
            request=request,
        )
        if failures >= limit:
            record(
                actor=actor,
                action="second_factor.lockout",
                obj=actor,
                changes={"failures": failures, "minutes": lockout_minutes()},
                request=request,
            )
            raise DomainError(code=SecondFactorErrorCode.LOCKED, message=locked_message, status=403)
        raise DomainError(
            code=SecondFactorErrorCode.INVALID,
            message=f"动态口令或恢复码不正确，还可再试 {limit - failures} 次。",
            fields={"token": ["动态口令或恢复码不正确"]},
        )
    device, outcome = matched
    clear_failures(actor)
    if outcome == Outcome.RECOVERY_CODE:
        record(
            actor=actor,
            action="second_factor.recovery_code_used",
            obj=actor,
            changes={"recovery_codes_left": recovery_codes_left(actor)},
            request=request,
        )
    return device


# RESET BY A SECURITY ADMIN
# ------------------------------------------------------------------------------
@transaction.atomic
def second_factor_reset(
    *, actor: User, user_id: int, reason: str, request: HttpRequest | None = None
) -> User:
    """Delete the user's devices (lost phone): they enrol again at their next login.

    Only for accounts in the actor's ``ACCOUNT_MANAGE`` scope (404 otherwise), never the
    actor's own, always with a reason, always audited.
    """
    account = managed_account_by_id(actor=actor, user_id=user_id)
    target = account.user
    if target.pk == actor.pk:
        raise DomainError(
            code=SecondFactorErrorCode.RESET_SELF,
            message="不能重置自己的两步验证，请联系另一位安全管理员。",
            status=403,
        )
    reason = " ".join(str(reason or "").split())
    if len(reason) < 2 or len(reason) > REASON_MAX_LENGTH:
        raise DomainError(
            code=SecondFactorErrorCode.REASON_REQUIRED,
            message=f"请填写重置原因（2–{REASON_MAX_LENGTH} 个字，如“手机丢失”）。",
            fields={"reason": ["请填写重置原因"]},
            status=400,
        )
    totp_devices = EncryptedTOTPDevice.objects.filter(user=target, confirmed=True).count()
    EncryptedTOTPDevice.objects.filter(user=target).delete()
    StaticDevice.objects.filter(user=target).delete()
    target.second_factor_enrolled = False
    target.save(update_fields=["second_factor_enrolled"])
    clear_failures(target)
    record(
        actor=actor,
        action="second_factor.reset",
        obj=target,
        area=account.assignments[0].area if account.assignments else None,
        changes={"username": target.username, "reason": reason, "devices": totp_devices},
        request=request,
    )
    return target
