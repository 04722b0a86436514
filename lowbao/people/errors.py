"""Error codes of the people app (style B.3: services raise ``DomainError`` with one of these)."""

from enum import StrEnum


class PeopleErrorCode(StrEnum):
    """Stable codes; the ``id_*`` ones are also the import error codes of contracts.md."""

    ID_MISSING = "id_missing"
    ID_NUMERIC_CELL = "id_numeric_cell"
    ID_FORMAT = "id_format"
    ID_BIRTHDATE = "id_birthdate"
    ID_CHECKSUM = "id_checksum"
    NAME_MISSING = "name_missing"
    NAME_TOO_LONG = "name_too_long"
    ETHNICITY_INVALID = "ethnicity_invalid"
