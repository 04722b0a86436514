from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from lowbao.areas.decorators import require_perm
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import access_area_by_code
from lowbao.areas.selectors import area_children, area_roots_for_actor


@require_perm(Perm.AREA_VIEW)
def area_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "areas/area_list.html", {"roots": area_roots_for_actor(actor=request.user)}
    )


@require_perm(Perm.AREA_VIEW)
def area_detail(request: HttpRequest, code: str) -> HttpResponse:
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
