"""Menu entries of the accounts app (added to the kernel's menu at start-up)."""

from lowbao.areas.navigation import DATA_GROUP, MENU, MenuEntry
from lowbao.areas.roles import Perm

ENTRIES = [
    MenuEntry(
        "重置两步验证", "accounts:second_factor_reset_search", Perm.ACCOUNT_MANAGE, DATA_GROUP
    ),
]


def register_menu() -> None:
    for entry in ENTRIES:
        if entry not in MENU:
            MENU.append(entry)
