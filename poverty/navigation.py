"""Menu entries of the poverty app."""

from lowbao.areas.navigation import MENU, MenuEntry
from lowbao.areas.roles import Perm

ENTRIES = [
    MenuEntry("建档立卡", "poverty:registry_household_list", Perm.REGISTRY_VIEW),
    MenuEntry("摸底", "poverty:survey_list", Perm.REGISTRY_VIEW),
    MenuEntry("移交", "poverty:referral_list", Perm.REGISTRY_VIEW),
    MenuEntry("三保障", "poverty:guarantee_report", Perm.REGISTRY_VIEW),
    MenuEntry("衔接看板", "poverty:linkage_dashboard", Perm.INSPECTION_VIEW),
    MenuEntry("核对", "poverty:verification_list", Perm.VERIFICATION_VIEW),
    MenuEntry("排查", "poverty:inspection_report", Perm.INSPECTION_VIEW),
    MenuEntry("近亲属备案", "poverty:close_relative_filings", Perm.CASE_VIEW),
    MenuEntry("经办人员", "poverty:official_list", Perm.OFFICIAL_MANAGE),
]


def register_menu() -> None:
    for entry in ENTRIES:
        if entry not in MENU:
            MENU.append(entry)
