import hashlib
from binascii import unhexlify

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.plugins.otp_totp.models import TOTPDevice

from lowbao.people.protection import decrypt


class User(AbstractUser):
    """A person or another office's system. Data access comes only from role assignments.

    ``second_factor_enrolled`` mirrors "has a confirmed TOTP device" so that the middleware can
    decide on every request, without a query, whether the session needs a second factor. Only
    the services of ``lowbao.accounts.second_factor`` change it, together with the devices.
    """

    display_name = models.CharField("姓名", max_length=50, blank=True)
    must_change_password = models.BooleanField(
        "下次登录须修改密码",
        default=True,
        help_text="新账号和管理员重置密码后为真；修改密码后清除。",
    )
    password_changed_at = models.DateTimeField("密码修改时间", null=True, blank=True)
    is_service_account = models.BooleanField(
        "接口服务账号", default=False, help_text="其他部门系统使用的账号，只能用令牌访问接口。"
    )
    second_factor_enrolled = models.BooleanField(
        "已绑定动态口令",
        default=False,
        help_text="绑定身份验证器后为真，安全管理员重置后清除；登录时据此要求输入动态口令。",
    )

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    def __str__(self) -> str:
        return self.display_name or self.username


def hash_api_token(key: str) -> str:
    """Tokens are stored as a SHA-256 digest only; the key itself is shown once at creation."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """An API token for a service account (``Authorization: Token <key>``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name="用户",
    )
    key_hash = models.CharField("令牌摘要", max_length=64, unique=True)
    prefix = models.CharField("令牌前缀", max_length=8, help_text="用于辨认，不足以登录。")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)

    class Meta:
        verbose_name = "接口令牌"
        verbose_name_plural = "接口令牌"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class EncryptedTOTPDevice(TimestampMixin, ThrottlingMixin, Device):
    """A TOTP authenticator whose secret is stored encrypted (quality.md S3, S4).

    It replaces django-otp's ``otp_totp.TOTPDevice``, which keeps the secret as plain hex: whoever
    reads that table (a backup, a replica, a SQL dump) can mint valid codes. Here the hex secret
    is an AES-GCM token of ``lowbao.people.protection`` under the field-protection keys, in a
    ``*_ciphertext`` column, so ``rotate_field_keys`` moves it to a new key like every other
    protected column. It is decrypted only in memory, by ``bin_key``, when a code is checked or
    the enrolment page draws the QR code; a token whose key is not configured (or that was
    tampered with) raises ``lowbao.people.protection.ProtectionError`` — never a guessable
    fallback — and ``lowbao.accounts.second_factor`` turns that into a clear refusal.

    Everything else is django-otp's TOTP logic, taken over unchanged below: the same fields,
    the same verification (tolerance, drift, no step used twice), the same exponential back-off
    (``ThrottlingMixin``, ``OTP_TOTP_THROTTLE_FACTOR``) and the same ``otpauth://`` URL.
    Devices change only through the services of ``lowbao.accounts.second_factor``.
    """

    key_ciphertext = models.TextField(
        "密钥密文", help_text="身份验证器密钥（十六进制）的 AES-GCM 密文，带密钥编号前缀。"
    )
    step = models.PositiveSmallIntegerField(default=30, help_text="The time step in seconds.")
    t0 = models.BigIntegerField(
        default=0, help_text="The Unix time at which to begin counting steps."
    )
    digits = models.PositiveSmallIntegerField(
        choices=[(6, 6), (8, 8)], default=6, help_text="The number of digits to expect in a token."
    )
    tolerance = models.PositiveSmallIntegerField(
        default=1, help_text="The number of time steps in the past or future to allow."
    )
    drift = models.SmallIntegerField(
        default=0,
        help_text="The number of time steps the prover is known to deviate from our clock.",
    )
    last_t = models.BigIntegerField(
        default=-1,
        help_text="The t value of the latest verified token. "
        "The next token must be at a higher time step.",
    )

    class Meta(Device.Meta):
        verbose_name = "身份验证器"
        verbose_name_plural = "身份验证器"

    @property
    def bin_key(self) -> bytes:
        """The secret as bytes, decrypted now and kept nowhere (raises ``ProtectionError``)."""
        return unhexlify(decrypt(self.key_ciphertext).encode("ascii"))

    # django-otp's TOTPDevice logic, which reads the secret only through ``bin_key``.
    verify_token = TOTPDevice.verify_token
    get_throttle_factor = TOTPDevice.get_throttle_factor
    config_url = TOTPDevice.config_url
    _read_str_from_settings = TOTPDevice._read_str_from_settings
