"""Menu entries of the cases app (added to the kernel's menu at start-up)."""

from lowbao.areas.navigation import CASES_GROUP, MENU, MenuEntry
from lowbao.areas.roles import Perm

ENTRIES = [
    MenuEntry("我的待办", "cases:worklist", Perm.CASE_VIEW),
    MenuEntry("保障户", "cases:household_list", Perm.CASE_VIEW),
    MenuEntry("申请登记", "cases:application_new", Perm.CASE_APPLY),
    MenuEntry("县级抽查", "cases:county_sample", Perm.CASE_COUNTY_VISIT, CASES_GROUP),
    MenuEntry("试算", "cases:means_test", Perm.MEANS_TEST_RUN, CASES_GROUP),
    MenuEntry("发放花名册", "cases:payment_sheet_list", Perm.PAYMENT_VIEW, CASES_GROUP),
    MenuEntry("变更待办", "cases:change_list", Perm.CASE_VIEW, CASES_GROUP),
    MenuEntry("临时救助", "cases:temporary_list", Perm.CASE_VIEW, CASES_GROUP),
]


def register_menu() -> None:
    for entry in ENTRIES:
        if entry not in MENU:
            MENU.append(entry)
