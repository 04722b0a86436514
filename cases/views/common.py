"""Small helpers shared by the cases views (no business rules here)."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from lowbao.areas.models import AreaLevel
from lowbao.areas.scoping import actor_has_perm
from lowbao.areas.selectors import area_list
from lowbao.core.errors import DomainError


def require_perm(perm: str):
    """Login plus a capability; object scope is checked by the selectors (404 outside)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args: object, **kwargs: object):
            if not actor_has_perm(request.user, perm):
                raise PermissionDenied("没有执行此操作的权限")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def village_choices(actor: object) -> list[tuple[str, str]]:
    villages = area_list(actor=actor, level=AreaLevel.VILLAGE).select_related("parent")
    return [(v.code, f"{v.parent.name if v.parent else ''} · {v.name}") for v in villages]


def show_domain_error(request: HttpRequest, form: object, error: DomainError) -> None:
    """Show a service refusal: its message on top, and field errors where it named fields."""
    fields = getattr(form, "fields", {}) if form is not None else {}
    for name, problems in error.fields.items():
        if name in fields:
            for problem in problems if isinstance(problems, list) else [problems]:
                form.add_error(name, str(problem))
    messages.error(request, error.message)
