"""Menu entry of the export framework."""

from lowbao.areas.navigation import DATA_GROUP, MENU, MenuEntry
from lowbao.areas.roles import Perm

ENTRIES = [MenuEntry("我的导出", "exports:job_list", Perm.EXPORT_RUN, DATA_GROUP)]


def register_menu() -> None:
    for entry in ENTRIES:
        if entry not in MENU:
            MENU.append(entry)
