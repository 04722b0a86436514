import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


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
