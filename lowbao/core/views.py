from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from lowbao.areas.selectors import area_roots_for_actor
from lowbao.core.home import home_cards


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """工作台: what waits for me (the apps' cards), who I am, where I work."""
    return render(
        request,
        "core/home.html",
        {"roots": area_roots_for_actor(actor=request.user), "cards": home_cards(request.user)},
    )


def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
