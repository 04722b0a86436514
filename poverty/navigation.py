"""Menu entries of the poverty app."""

from lowbao.areas.navigation import CASES_GROUP, LINKAGE_GROUP, MENU, MenuEntry
from lowbao.areas.roles import Perm

ENTRIES = [
    MenuEntry("建档立卡", "poverty:registry_household_list", Perm.REGISTRY_VIEW, LINKAGE_GROUP),
    MenuEntry("摸底", "poverty:survey_list", Perm.REGISTRY_VIEW, LINKAGE_GROUP),
    MenuEntry("移交", "poverty:referral_list", Perm.REGISTRY_VIEW, LINKAGE_GROUP),
    MenuEntry("三保障", "poverty:guarantee_report", Perm.REGISTRY_VIEW, LINKAGE_GROUP),
    MenuEntry("衔接看板", "poverty:linkage_dashboard", Perm.INSPECTION_VIEW, LINKAGE_GROUP),
    MenuEntry("核对", "poverty:verification_list", Perm.VERIFICATION_VIEW, LINKAGE_GROUP),
    MenuEntry("排查", "poverty:inspection_report", Perm.INSPECTION_VIEW, LINKAGE_GROUP),
    MenuEntry("近亲属备案", "poverty:close_relative_filings", Perm.CASE_VIEW, CASES_GROUP),
    MenuEntry("经办人员", "poverty:official_list", Perm.OFFICIAL_MANAGE, LINKAGE_GROUP),
]


def register_menu() -> None:
    for entry in ENTRIES:
        if entry not in MENU:
            MENU.append(entry)
