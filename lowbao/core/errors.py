"""Domain errors. Services raise ``DomainError``; one handler maps it to HTTP (style B.3)."""

from enum import Enum, StrEnum
from typing import Any


class CoreErrorCode(StrEnum):
    """Error codes shared by the kernel. Each app adds its own Enum in ``<app>/errors.py``."""

    NOT_FOUND = "not_found"
    PERMISSION_DENIED = "permission_denied"
    INVALID = "invalid"
    CONFLICT = "conflict"
    INVALID_TRANSITION = "invalid_transition"
    AREA_OUT_OF_SCOPE = "area_out_of_scope"


# HTTP status per error kind; codes not listed are 422 (understood but refused).
_STATUS_BY_CODE = {
    CoreErrorCode.NOT_FOUND.value: 404,
    CoreErrorCode.PERMISSION_DENIED.value: 403,
    CoreErrorCode.INVALID.value: 400,
    CoreErrorCode.CONFLICT.value: 409,
    CoreErrorCode.INVALID_TRANSITION.value: 409,
    CoreErrorCode.AREA_OUT_OF_SCOPE.value: 404,
}


class DomainError(Exception):
    """A refusal a user can understand: a stable ``code`` and a Chinese ``message``."""

    def __init__(
        self,
        *,
        code: Enum | str,
        message: str,
        fields: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        self.code = code.value if isinstance(code, Enum) else str(code)
        self.message = message
        self.fields = fields or {}
        self.status = status or _STATUS_BY_CODE.get(self.code, 422)
        super().__init__(f"{self.code}: {message}")
