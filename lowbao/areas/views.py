from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from lowbao.areas.roles import Perm
from lowbao.areas.scoping import access_area_by_code, actor_has_perm
from lowbao.areas.selectors import area_children, area_roots_for_actor


def _require(request: HttpRequest, perm: str) -> None:
    if not actor_has_perm(request.user, perm):
        raise PermissionDenied("没有查看此页面的权限")


@login_required
def area_list(request: HttpRequest) -> HttpResponse:
    _require(request, Perm.AREA_VIEW)
    return render(
        request, "areas/area_list.html", {"roots": area_roots_for_actor(actor=request.user)}
    )


@login_required
def area_detail(request: HttpRequest, code: str) -> HttpResponse:
    _require(request, Perm.AREA_VIEW)
    area = access_area_by_code(request.user, code, perm=Perm.AREA_VIEW)
    children = list(area_children(actor=request.user, area=area))
    ancestors = []
    node = area.parent
    while node is not None:
        ancestors.insert(0, node)
        node = node.parent
    return render(
        request,
        "areas/area_detail.html",
        {"area": area, "children": children, "ancestors": ancestors},
    )
