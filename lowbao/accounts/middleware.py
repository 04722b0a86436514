"""Session lifetime, the second factor and forced password changes (quality.md S3)."""

import time
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from lowbao.accounts.second_factor import second_factor_required_at_login, session_is_verified

_SESSION_STARTED = "lowbao_session_started"
_SESSION_RENEWED = "lowbao_session_renewed"


class SessionLifetimeMiddleware:
    """Ends a browser session 12 hours after login however active it is, and renews the idle
    deadline (``SESSION_COOKIE_AGE``, 15 minutes) on activity.

    Renewing means saving the session (a write and a commit). It happens on a request at least
    ``SESSION_RENEW_SECONDS`` (60) after the last renewal, not on every request: a page view
    costs no database write, and the idle timeout stays between 14 and 15 minutes after the
    last activity — never longer than 15.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            session = request.session
            started = session.get(_SESSION_STARTED)
            now = int(time.time())
            if started is None:
                session[_SESSION_STARTED] = now
            elif now - started > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
                return redirect(f"{reverse('accounts:login')}?expired=1")
            if now - session.get(_SESSION_RENEWED, 0) >= settings.SESSION_RENEW_SECONDS:
                session[_SESSION_RENEWED] = now  # modified → saved with a fresh expiry
        return self.get_response(request)


class SecondFactorRequiredMiddleware:
    """Until the session has passed the second factor, every page leads to the verify page
    (or, for a user who must have a device and has none, to the enrolment page).

    Runs after django-otp's ``OTPMiddleware`` (which installs ``user.is_verified()``) and before
    the password-change redirect, so the second factor comes first. Exempt: static files, login,
    logout and the second-factor pages themselves. ``/api/`` answers 403 JSON to such a session;
    API token requests are not affected (DRF authenticates them after the middleware, so the
    request has no session user here).
    """

    _STATIC_PREFIXES = ("/static/",)
    _EXEMPT_URL_NAMES = (
        "accounts:login",
        "accounts:logout",
        "accounts:second_factor_verify",
        "accounts:second_factor_setup",
    )

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            second_factor_required_at_login(user)
            and not session_is_verified(user)
            and not self._exempt(request.path)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "code": "second_factor_required",
                        "message": "请先在网页上完成两步验证（动态口令）",
                        "fields": {},
                    },
                    status=403,
                )
            target = (
                "accounts:second_factor_verify"
                if user.second_factor_enrolled  # type: ignore[union-attr]
                else "accounts:second_factor_setup"
            )
            query = urlencode({"next": request.get_full_path()}) if request.method == "GET" else ""
            return redirect(f"{reverse(target)}?{query}" if query else reverse(target))
        return self.get_response(request)

    def _exempt(self, path: str) -> bool:
        if path.startswith(self._STATIC_PREFIXES):
            return True
        return path in {reverse(name) for name in self._EXEMPT_URL_NAMES}


def password_change_required(user: object) -> bool:
    if not getattr(user, "is_authenticated", False) or getattr(user, "is_service_account", False):
        return False
    if user.must_change_password:  # type: ignore[attr-defined]
        return True
    max_age = settings.PASSWORD_MAX_AGE_DAYS
    changed_at = user.password_changed_at  # type: ignore[attr-defined]
    return bool(max_age) and (
        changed_at is None or timezone.now() - changed_at > timedelta(days=max_age)
    )


class PasswordChangeRequiredMiddleware:
    """Sends a user whose password must change to the change page, for every page but a few."""

    _ALLOWED_PREFIXES = ("/static/", "/accounts/", "/api/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(self._ALLOWED_PREFIXES) and password_change_required(
            getattr(request, "user", None)
        ):
            return redirect("accounts:password_change")
        return self.get_response(request)
