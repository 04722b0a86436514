"""Session lifetime and forced password changes (quality.md S3)."""

import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

_SESSION_STARTED = "lowbao_session_started"


class SessionLifetimeMiddleware:
    """Ends a browser session 12 hours after login however active it is.

    The 15-minute idle timeout is ``SESSION_COOKIE_AGE`` with ``SESSION_SAVE_EVERY_REQUEST``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            started = request.session.get(_SESSION_STARTED)
            now = int(time.time())
            if started is None:
                request.session[_SESSION_STARTED] = now
            elif now - started > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
                return redirect(f"{reverse('accounts:login')}?expired=1")
        return self.get_response(request)


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
