from django import forms
from django.contrib.auth.forms import AuthenticationForm

from lowbao.accounts.reauth import reauthenticate
from lowbao.core.errors import DomainError


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "用户名或密码错误。连续失败 5 次将锁定 15 分钟。",
        "inactive": "该账号已停用。",
    }

    def confirm_login_allowed(self, user: object) -> None:
        super().confirm_login_allowed(user)
        if getattr(user, "is_service_account", False):
            raise forms.ValidationError("接口账号不能登录网页。", code="service_account")


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label="原密码", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    new_password1 = forms.CharField(
        label="新密码", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    new_password2 = forms.CharField(
        label="确认新密码", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, user: object, *args: object, **kwargs: object) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_old_password(self) -> str:
        value = self.cleaned_data["old_password"]
        if not self.user.check_password(value):  # type: ignore[attr-defined]
            raise forms.ValidationError("原密码不正确。", code="password_incorrect")
        return value

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        first, second = data.get("new_password1"), data.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", "两次输入的新密码不一致。")
        if first and data.get("old_password") == first:
            self.add_error("new_password1", "新密码不能与原密码相同。")
        return data


class TokenForm(forms.Form):
    """One code: six digits from the authenticator app, or an eight-letter recovery code."""

    token = forms.CharField(
        label="动态口令",
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


class SecondFactorResetForm(forms.Form):
    reason = forms.CharField(
        label="重置原因", max_length=200, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReauthenticationForm(forms.Form):
    """Password + 动态口令 for a sign-off (step-up). Mix into the sign-off form::

        class SignoffForm(ReauthenticationForm):
            comment = forms.CharField(...)

    then pass ``**form.reauth_credentials()`` to the service, which calls
    ``lowbao.accounts.reauth.reauthenticate(user=actor, ...)`` in its transaction, and on a
    ``DomainError`` call ``form.add_reauth_error(exc)`` (True when it was a re-authentication
    refusal, now shown under its field). ``templates/accounts/_reauth_fields.html`` renders the
    two fields.
    """

    reauth_password = forms.CharField(
        label="登录密码",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    reauth_otp_token = forms.CharField(
        label="动态口令",
        required=False,
        max_length=20,
        help_text="已绑定身份验证器的，填写应用中的 6 位数字（或一个恢复码）。",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false"}),
    )

    _REAUTH_FIELDS = {
        "reauth_password": "reauth_password",
        "reauth_otp": "reauth_otp_token",
        "reauth_otp_required": "reauth_otp_token",
    }

    def reauth_credentials(self) -> dict[str, str]:
        """``password`` and ``otp_token`` as ``reauthenticate`` takes them."""
        return {
            "password": self.cleaned_data.get("reauth_password", ""),
            "otp_token": self.cleaned_data.get("reauth_otp_token", ""),
        }

    def add_reauth_error(self, exc: Exception) -> bool:
        field = self._REAUTH_FIELDS.get(str(getattr(exc, "code", "")))
        if field is None:
            return False
        self.add_error(field, str(getattr(exc, "message", exc)))
        return True

    def check_reauthentication(self, user: object) -> bool:
        """Run ``reauthenticate`` now (for views that confirm before calling a service)."""
        try:
            reauthenticate(user=user, **self.reauth_credentials())  # type: ignore[arg-type]
        except DomainError as exc:
            self.add_reauth_error(exc)
            return False
        return True
