"""Audit events for logins, logouts and failed logins (quality.md S5: "every login").

The house style bans signals, but Django's auth signals are the only hook it gives for these
events (``login()``, ``logout()`` and ``authenticate()`` send them, whichever view or backend is
used), so these three receivers are the one exception. They only call ``record``.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.http import HttpRequest

from lowbao.audit.services import record

ATTEMPTED_USERNAME_LENGTH = 150


def connect_auth_receivers() -> None:
    user_logged_in.connect(audit_login, dispatch_uid="lowbao.audit.login")
    user_logged_out.connect(audit_logout, dispatch_uid="lowbao.audit.logout")
    user_login_failed.connect(audit_login_failed, dispatch_uid="lowbao.audit.login_failed")


def audit_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    record(actor=user, action="auth.login", obj=user, request=request)


def audit_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """``user`` is None when nobody was logged in: nothing happened, so nothing is recorded."""
    if user is not None and getattr(user, "pk", None) is not None:
        record(actor=user, action="auth.logout", obj=user, request=request)


def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """The attempted username becomes the label; the password is never looked at."""
    username_field = get_user_model().USERNAME_FIELD
    attempted = credentials.get(username_field) or credentials.get("username") or ""
    record(
        actor=None,
        action="auth.login_failed",
        actor_label=str(attempted)[:ATTEMPTED_USERNAME_LENGTH] or "anonymous",
        request=request,
    )
