"""``{% export_button "kind" %}``: the "导出Excel" button of a list page, carrying the page's
current filters to the export page; nothing for users who may not export the list."""

from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse

from lowbao.exports.registry import get_export
from lowbao.exports.selectors import actor_may_export

register = template.Library()


@register.inclusion_tag("exports/_export_button.html", takes_context=True)
def export_button(context: dict[str, Any], kind: str) -> dict[str, str]:
    request = context.get("request")
    spec = get_export(kind)
    user = getattr(request, "user", None)
    if request is None or spec is None or not actor_may_export(user, spec):
        return {"url": ""}
    params = {name: request.GET[name] for name in spec.filter_names if request.GET.get(name)}
    url = reverse("exports:export_new", args=[spec.code])
    return {"url": f"{url}?{urlencode(params)}" if params else url, "label": spec.label}
