"""Error codes of the accounts app (``DomainError(code=...)``)."""

from enum import StrEnum


class SecondFactorErrorCode(StrEnum):
    INVALID = "second_factor_invalid"
    LOCKED = "second_factor_locked"
    WAIT = "second_factor_wait"
    NOT_ENROLLED = "second_factor_not_enrolled"
    RESET_SELF = "second_factor_reset_self"
    REASON_REQUIRED = "second_factor_reason_required"
    # The TOTP secret cannot be decrypted (key not configured, token damaged): fails closed.
    KEY_UNREADABLE = "second_factor_key_unreadable"


class ReauthErrorCode(StrEnum):
    """Refusals of ``lowbao.accounts.reauth.reauthenticate`` (all HTTP 403)."""

    PASSWORD = "reauth_password"  # noqa: S105 (an error code, not a secret)
    OTP = "reauth_otp"
    OTP_REQUIRED = "reauth_otp_required"
