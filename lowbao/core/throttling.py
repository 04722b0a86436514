"""Rate limits (quality.md S7): DRF scoped throttles and a page decorator over one rate store.

Rates come from ``settings.LOWBAO_THROTTLE_RATES`` (``{"login": "10/min", "import": "30/hour",
"export": "60/hour", "push": "60/min"}``, each overridable from the environment) and are read on
every request, so ``override_settings`` works. The counters live in the default cache — Redis in
production — so every web process and node shares them (no process-local state).

- API views: ``throttle_classes = [ImportRateThrottle]`` (or ``ExportRateThrottle``,
  ``LoginRateThrottle``, ``PushRateThrottle``); a refusal is DRF's ``Throttled``, which the API
  handler turns into ``{"code": "throttled", "message": "请求已被限流。 预计 N 秒后可用。"}``
  with status 429 and ``Retry-After``.
- Page views: ``@throttle("import", methods=("POST",))`` under ``@require_perm(...)``, so only
  authorised requests count. A refusal is a Chinese 429 page with ``Retry-After``.

A page view and an API view of the same scope count against the same bucket: the key is
``throttle_<scope>_user:<pk>`` for signed-in users, ``throttle_<scope>_ip:<address>`` otherwise.
``login`` always counts per client address (django-axes already locks the username).
"""

import math
from collections.abc import Callable, Iterable
from functools import wraps

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.throttling import SimpleRateThrottle

View = Callable[..., HttpResponse]


class ScopeRateThrottle(SimpleRateThrottle):
    """A throttle for one named scope; usable by DRF views and by :func:`throttle`."""

    scope = ""
    # Scopes counted per client address even for signed-in users.
    ADDRESS_SCOPES = frozenset({"login"})
    # The HTTP methods that count (None: every method) — for API views whose GET shares the URL.
    counted_methods: frozenset[str] | None = None

    def __init__(self, scope: str | None = None) -> None:
        if scope is not None:
            self.scope = scope
        super().__init__()

    def get_rate(self) -> str:
        rates = getattr(settings, "LOWBAO_THROTTLE_RATES", {})
        if self.scope not in rates:
            raise ImproperlyConfigured(f"LOWBAO_THROTTLE_RATES has no rate for {self.scope!r}")
        return rates[self.scope]

    def allow_request(self, request: HttpRequest, view: object) -> bool:  # type: ignore[override]
        if self.counted_methods is not None and request.method not in self.counted_methods:
            return True
        return super().allow_request(request, view)  # type: ignore[arg-type]

    def get_ident(self, request: HttpRequest) -> str:  # type: ignore[override]
        """The client address. ``X-Forwarded-For`` counts only when ``NUM_PROXIES`` says how
        many proxies are in front (DRF's own fallback would let a client pick its bucket)."""
        if settings.REST_FRAMEWORK.get("NUM_PROXIES"):
            return super().get_ident(request)
        return str(request.META.get("REMOTE_ADDR", ""))

    def get_cache_key(self, request: HttpRequest, view: object) -> str:  # type: ignore[override]
        user = getattr(request, "user", None)
        if self.scope not in self.ADDRESS_SCOPES and getattr(user, "is_authenticated", False):
            ident = f"user:{user.pk}"  # type: ignore[union-attr]
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginRateThrottle(ScopeRateThrottle):
    scope = "login"


class ImportRateThrottle(ScopeRateThrottle):
    scope = "import"


class ExportRateThrottle(ScopeRateThrottle):
    scope = "export"


class PushRateThrottle(ScopeRateThrottle):
    """The data-exchange pushes of the other offices' systems (contracts.md "Data exchange":
    poverty households, disability records, verification reports), one bucket per service
    account across the three. Only POST counts: the same URLs' GET lists are ordinary reads.
    DRF checks throttles after authentication and permissions, so only authorised pushes count,
    and a refused push writes nothing (the view never runs)."""

    scope = "push"
    counted_methods = frozenset({"POST"})


def wait_text(seconds: float) -> str:
    """``"30 秒"`` / ``"5 分钟"`` for the refusal message."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 120:
        return f"{seconds} 秒"
    return f"{math.ceil(seconds / 60)} 分钟"


def throttled_response(request: HttpRequest, wait: float | None) -> HttpResponse:
    response = render(request, "errors/429.html", {"wait_text": wait_text(wait or 1)}, status=429)
    response["Retry-After"] = str(max(1, math.ceil(wait or 1)))
    return response


def throttle(scope: str, *, methods: Iterable[str] | None = None) -> Callable[[View], View]:
    """Limit a page view to the rate of ``scope``.

    ``methods`` names the HTTP methods that count (``("POST",)`` for an upload form whose GET
    only shows the form); ``None`` counts every request. A refused request does not count.
    """
    counted = frozenset(method.upper() for method in methods) if methods is not None else None
    ScopeRateThrottle(scope)  # fail at import time when the scope has no rate

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if counted is None or request.method in counted:
                limiter = ScopeRateThrottle(scope)
                if not limiter.allow_request(request, None):  # type: ignore[arg-type]
                    return throttled_response(request, limiter.wait())
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
