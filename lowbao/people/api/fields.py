"""DRF fields of the people app."""

from typing import Any

from rest_framework import serializers

from lowbao.people.errors import PeopleErrorCode
from lowbao.people.id_numbers import MESSAGES, IdNumberError, parse_id_number
from lowbao.people.masking import mask_id_number


class IdNumberSerializerField(serializers.CharField):
    """Accepts any valid spelling of an ID number, returns the normalised 18 characters.

    Output is always masked (``150121********123X``): endpoints that may reveal the full value
    use a dedicated, permission-checked and audited field instead.
    """

    default_error_messages = {
        **serializers.CharField.default_error_messages,
        "required": MESSAGES[PeopleErrorCode.ID_MISSING],
        "blank": MESSAGES[PeopleErrorCode.ID_MISSING],
        "null": MESSAGES[PeopleErrorCode.ID_MISSING],
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", "身份证号")
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        # No str() coercion first: a JSON number is the numeric-cell error, not a string.
        try:
            return parse_id_number(data).value
        except IdNumberError as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from None

    def to_representation(self, value: Any) -> str:
        return mask_id_number(value)
