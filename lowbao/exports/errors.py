from enum import StrEnum


class ExportErrorCode(StrEnum):
    UNKNOWN_KIND = "export_unknown_kind"
    COUNTY_REQUIRED = "export_county_required"
    REVEAL_NOT_ALLOWED = "export_reveal_not_allowed"
    REVEAL_REASON_REQUIRED = "export_reveal_reason_required"
    NOT_ALLOWED = "export_not_allowed"
    FILE_GONE = "export_file_gone"
    TOO_MANY_ROWS = "export_too_many_rows"
