"""``require_perm``: the one page guard — login, then a capability (403 without it).

Object scope is not checked here: selectors and ``access_*`` helpers answer 404 outside the
actor's areas.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from lowbao.areas.scoping import actor_has_perm

View = Callable[..., HttpResponse]


def require_perm(perm: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if not actor_has_perm(request.user, perm):
                raise PermissionDenied("没有执行此操作的权限")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
