"""Menu entries by capability: a user sees only the pages their roles allow.

Domain apps append their entries to ``MENU`` (label, url name, capability).
"""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_has_perm


@dataclass(frozen=True)
class MenuEntry:
    label: str
    url_name: str
    perm: str


MENU: list[MenuEntry] = [
    MenuEntry("工作台", "web:home", Perm.AREA_VIEW),
    MenuEntry("行政区划", "areas:area_list", Perm.AREA_VIEW),
    MenuEntry("台账导入", "imports:upload", Perm.IMPORT_RUN),
    MenuEntry("台账比对", "review:reconciliation_home", Perm.RECONCILE_VIEW),
    MenuEntry("年度复核", "campaign:campaign_list", Perm.REVIEW_VIEW),
    MenuEntry("监督统计", "dashboard:home", Perm.INSPECTION_VIEW),
]


def menu_for(user: object) -> list[dict[str, str]]:
    entries = []
    for entry in MENU:
        if not actor_has_perm(user, entry.perm):
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        entries.append({"label": entry.label, "url": url})
    return entries
