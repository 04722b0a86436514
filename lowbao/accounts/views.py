from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from lowbao.accounts import second_factor
from lowbao.accounts.errors import SecondFactorErrorCode
from lowbao.accounts.forms import LoginForm, PasswordChangeForm, SecondFactorResetForm, TokenForm
from lowbao.accounts.middleware import password_change_required
from lowbao.accounts.selectors import managed_account_by_id, managed_account_search
from lowbao.accounts.services import user_change_password
from lowbao.areas.decorators import require_perm
from lowbao.areas.middleware import SESSION_KEY
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import all_assignments
from lowbao.core.errors import DomainError
from lowbao.core.throttling import throttle


@method_decorator(throttle("login", methods=("POST",)), name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user_change_password(
                actor=request.user,
                user=request.user,
                new_password=form.cleaned_data["new_password1"],
                request=request,
            )
        except DomainError as exc:
            for message in exc.fields.get("new_password", [exc.message]):
                form.add_error("new_password1", message)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, "密码已修改。")
            return redirect("web:home")
    return render(
        request,
        "accounts/password_change.html",
        {"form": form, "forced": password_change_required(request.user)},
    )


@login_required
@require_POST
def switch_area(request: HttpRequest) -> HttpResponse:
    """The area switcher: work as one of the user's assignments (or all of them)."""
    raw = request.POST.get("assignment", "")
    ids = {assignment.id for assignment in all_assignments(request.user)}
    if raw == "all":
        request.session.pop(SESSION_KEY, None)
    elif raw.isdigit() and int(raw) in ids:
        request.session[SESSION_KEY] = int(raw)
    else:
        messages.error(request, "无效的区域选择。")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)


# SECOND FACTOR (quality.md S3)
# ------------------------------------------------------------------------------
def _next_url(request: HttpRequest) -> str:
    """The page the user was going to (``next``), if it is on this site; else the workbench."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("web:home")


def _with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


def _verified_session(request: HttpRequest, device: object) -> None:
    """Mark the session as having passed the second factor, under a fresh session key."""
    otp_login(request, device)
    request.session.cycle_key()


def _recovery_codes_page(request: HttpRequest, codes: list[str], *, enrolled: bool) -> HttpResponse:
    """The codes are in this response only: they are not kept anywhere they could be shown
    again (reloading does not repeat the POST's result)."""
    response = render(
        request,
        "accounts/recovery_codes.html",
        {"codes": codes, "enrolled": enrolled, "next_url": _next_url(request)},
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
def second_factor_overview(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "accounts/second_factor.html",
        {
            "enrolled": user.second_factor_enrolled,
            "required": second_factor.second_factor_required_at_login(user),
            "recovery_codes_left": second_factor.recovery_codes_left(user),
        },
    )


@login_required
def second_factor_setup(request: HttpRequest) -> HttpResponse:
    """Enrol (or replace) the authenticator app. Replacing needs a verified session first."""
    user = request.user
    next_url = _next_url(request)
    has_device = second_factor.confirmed_totp_device(user) is not None
    if has_device and not second_factor.session_is_verified(user):
        return redirect(_with_next("accounts:second_factor_verify", next_url))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            enrolled = second_factor.totp_enrolment_confirm(
                actor=user, token=form.cleaned_data["token"], request=request
            )
        except DomainError as exc:
            form.add_error("token", exc.message)
        else:
            _verified_session(request, enrolled.device)
            return _recovery_codes_page(request, enrolled.recovery_codes, enrolled=True)
    device = second_factor.totp_enrolment_start(actor=user)
    response = render(
        request,
        "accounts/second_factor_setup.html",
        {
            "form": form,
            "sheet": second_factor.enrolment_sheet(device),
            "replacing": has_device,
            "next_url": next_url,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


def _locked_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect(f"{reverse('accounts:login')}?second_factor_locked=1")


@login_required
@throttle("login", methods=("POST",))
def second_factor_verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = _next_url(request)
    if second_factor.session_is_verified(user) or not second_factor.second_factor_required_at_login(
        user
    ):
        return redirect(next_url)
    if second_factor.confirmed_totp_device(user) is None:
        # Enrolment required but no device (or the flag outlived its device): enrol first.
        return redirect(_with_next("accounts:second_factor_setup", next_url))
    if second_factor.second_factor_locked(user):
        return _locked_out(request)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = second_factor.second_factor_verify(
                actor=user, token=form.cleaned_data["token"], request=request
            )
        except DomainError as exc:
            if exc.code == SecondFactorErrorCode.LOCKED:
                return _locked_out(request)
            form.add_error("token", exc.message)
        else:
            _verified_session(request, device)
            return redirect(next_url)
    return render(
        request, "accounts/second_factor_verify.html", {"form": form, "next_url": next_url}
    )


@login_required
@require_POST
def recovery_codes_regenerate(request: HttpRequest) -> HttpResponse:
    try:
        codes = second_factor.recovery_codes_regenerate(actor=request.user, request=request)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("accounts:second_factor")
    return _recovery_codes_page(request, codes, enrolled=False)


@require_perm(Perm.ACCOUNT_MANAGE)
def second_factor_reset_search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    return render(
        request,
        "accounts/second_factor_reset_search.html",
        {
            "query": query,
            "accounts": managed_account_search(actor=request.user, query=query),
        },
    )


@require_perm(Perm.ACCOUNT_MANAGE)
def second_factor_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    account = managed_account_by_id(actor=request.user, user_id=user_id)
    form = SecondFactorResetForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            second_factor.second_factor_reset(
                actor=request.user,
                user_id=user_id,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except DomainError as exc:
            form.add_error("reason" if "reason" in exc.fields else None, exc.message)
            status = exc.status
        else:
            messages.success(
                request,
                f"已重置 {account.user.username} 的两步验证；"
                "该用户下次登录时须重新绑定身份验证器。",
            )
            return redirect(
                f"{reverse('accounts:second_factor_reset_search')}?"
                f"{urlencode({'q': account.user.username})}"
            )
    return render(
        request,
        "accounts/second_factor_reset.html",
        {"account": account, "form": form, "is_self": account.user.pk == request.user.pk},
        status=status,
    )
