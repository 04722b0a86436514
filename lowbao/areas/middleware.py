"""Applies the area switcher's choice (stored in the session) to the request's user."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from lowbao.areas.scoping import ACTIVE_ASSIGNMENT_ATTR

SESSION_KEY = "lowbao_active_assignment"


class ActiveAssignmentMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            chosen = request.session.get(SESSION_KEY)
            if chosen is not None:
                setattr(user, ACTIVE_ASSIGNMENT_ATTR, chosen)
        return self.get_response(request)
