from enum import StrEnum


class AreaErrorCode(StrEnum):
    BAD_CODE = "area_bad_code"
    BAD_LEVEL = "area_bad_level"
    PARENT_UNKNOWN = "area_parent_unknown"
    PARENT_LEVEL = "area_parent_level"
    BAD_FILE = "area_bad_file"
    ROLE_LEVEL = "role_area_level"
