from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from lowbao.accounts.forms import LoginForm, PasswordChangeForm
from lowbao.accounts.middleware import password_change_required
from lowbao.accounts.services import user_change_password
from lowbao.areas.middleware import SESSION_KEY
from lowbao.areas.scoping import all_assignments
from lowbao.core.errors import DomainError


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
