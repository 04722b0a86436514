"""Menu entries by capability: a user sees only the pages their roles allow.

Domain apps append their entries to ``MENU`` (label, url name, capability, menu group). The
navbar shows the entries without a group directly and the others under their group's drop-down
(``GROUP_ORDER``); a group with one visible entry shows that entry directly.
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
    group: str = ""


# Menu groups (drop-downs of the navbar), in the order they appear after the direct entries.
CASES_GROUP = "低保特困"
LINKAGE_GROUP = "衔接帮扶"
REVIEW_GROUP = "复核比对"
DATA_GROUP = "数据管理"
GROUP_ORDER = (CASES_GROUP, LINKAGE_GROUP, REVIEW_GROUP, DATA_GROUP)

MENU: list[MenuEntry] = [
    MenuEntry("工作台", "web:home", Perm.AREA_VIEW),
    MenuEntry("行政区划", "areas:area_list", Perm.AREA_VIEW, DATA_GROUP),
    MenuEntry("台账导入", "imports:upload", Perm.IMPORT_RUN, DATA_GROUP),
    MenuEntry("台账比对", "review:reconciliation_home", Perm.RECONCILE_VIEW, REVIEW_GROUP),
    MenuEntry("年度复核", "campaign:campaign_list", Perm.REVIEW_VIEW, REVIEW_GROUP),
    MenuEntry("监督统计", "dashboard:home", Perm.INSPECTION_VIEW, REVIEW_GROUP),
]


def visible_entries(user: object) -> list[tuple[MenuEntry, str]]:
    """The entries the user's roles allow, with their URLs, in ``MENU`` order."""
    entries = []
    for entry in MENU:
        if not actor_has_perm(user, entry.perm):
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        entries.append((entry, url))
    return entries


def menu_for(user: object) -> list[dict[str, str]]:
    return [{"label": entry.label, "url": url} for entry, url in visible_entries(user)]


def menu_groups(entries: list[tuple[MenuEntry, str]], *, path: str = "") -> list[dict]:
    """The navbar: direct entries (``{"label", "url", "active"}``) first, then one group per
    ``GROUP_ORDER`` label (``{"label", "entries", "active"}``); a group with a single entry is
    shown as that entry. ``active`` marks the entry of ``path`` and the group holding it."""
    direct: list[dict] = []
    grouped: dict[str, list[dict]] = {}
    for entry, url in entries:
        item = {"label": entry.label, "url": url, "active": url == path}
        if entry.group:
            grouped.setdefault(entry.group, []).append(item)
        else:
            direct.append(item)
    order = [*GROUP_ORDER, *(label for label in grouped if label not in GROUP_ORDER)]
    for label in order:
        items = grouped.get(label, [])
        if len(items) == 1:
            direct.append(items[0])
        elif items:
            active = any(item["active"] for item in items)
            direct.append({"label": label, "entries": items, "active": active})
    return direct
