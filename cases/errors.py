from enum import StrEnum


class CaseErrorCode(StrEnum):
    POLICY_MISSING = "policy_missing"
    STANDARD_MISSING = "standard_missing"
    POVERTY_LINE_MISSING = "poverty_line_missing"
    INVALID_TRANSITION = "invalid_transition"
    NOT_ALLOWED = "permission_denied"
    FOUR_EYES = "four_eyes"
    CONFLICT = "conflict"
    STEP_INCOMPLETE = "step_incomplete"
    NOTICE_NOT_OVER = "notice_not_over"
    OPEN_APPLICATION_EXISTS = "open_application_exists"
    PERSON_ALREADY_COVERED = "person_already_covered"
    HOUSEHOLD_INVALID = "household_invalid"
    MEANS_TEST_INVALID = "means_test_invalid"
    AREA_NOT_VILLAGE = "area_not_village"
    PAYMENT_SHEET_STATE = "payment_sheet_state"
    CHANGE_STATE = "change_state"
    APPROVAL_BLOCKED = "approval_blocked"
