"""The one masking helper for sensitive values shown in lists, exports, messages and logs (S4).

A masked ID number shows the first 6 and the last 4 characters (``150121********123X``), never
the birth date. Every function accepts anything (``None``, numbers, unnormalised text) and never
reveals more than that, whatever the length of the input.
"""

import logging
import re
import unicodedata

MASK_CHAR = "*"

# 18-character numbers (optionally grouped 6-8-4 by one space or hyphen) and 15-digit numbers.
# ``\d`` is Unicode-aware, so full-width digits are caught too.
_ID_NUMBER_IN_TEXT = re.compile(
    r"(?<!\d)(?:\d{6}[ \u3000-]?\d{8}[ \u3000-]?\d{3}[\dXxＸｘ]|\d{15})(?!\d)"
)


def _compact(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    if text.isascii():
        # ASCII is its own NFKC form, and str.split() splits on exactly what isspace() matches.
        return "".join(text.split()).upper()
    text = unicodedata.normalize("NFKC", text)
    return "".join(char for char in text if not char.isspace()).upper()


def _mask(text: str, *, head: int, tail: int, min_hidden: int) -> str:
    """Show at most ``head`` + ``tail`` characters, and only while ``min_hidden`` stay hidden."""
    length = len(text)
    tail = min(tail, max(0, length - min_hidden))
    head = min(head, max(0, length - min_hidden - tail))
    return text[:head] + MASK_CHAR * (length - head - tail) + text[length - tail :]


def mask_id_number(value: object) -> str:
    """``150121********123X``; ``""`` for empty values; malformed values are masked harder."""
    text = _compact(value)
    if len(text) == 18:
        return text[:6] + MASK_CHAR * 8 + text[14:]
    if len(text) == 15:
        # First-generation number: hide the YYMMDD birth date, show the 3-digit sequence.
        return text[:6] + MASK_CHAR * 6 + text[12:]
    return _mask(text, head=6, tail=4, min_hidden=8)


def mask_bank_account(value: object) -> str:
    """First 6 + asterisks + last 4; shorter values show only the last 4, and never all of it."""
    text = _compact(value)
    return _mask(text, head=6 if len(text) >= 14 else 0, tail=4, min_hidden=4)


def mask_phone(value: object) -> str:
    """``138****5678`` for mobile numbers; shorter values keep at least 4 characters hidden."""
    return _mask(_compact(value), head=3, tail=4, min_hidden=4)


def mask_value_in_text(text: str) -> str:
    """Replace every ID-number-looking substring (18 characters or 15 digits) by its mask."""
    if not text:
        return text
    return _ID_NUMBER_IN_TEXT.sub(lambda match: mask_id_number(match.group()), text)


class IdNumberMaskingFilter(logging.Filter):
    """Masks ID numbers in log records (message, arguments and traceback text); drops nothing.

    Attach it to handlers (``"filters": ["mask_id_numbers"]`` in ``LOGGING``) so that records of
    every logger pass through it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: mask the parts, let logging report the error
            record.msg = mask_value_in_text(str(record.msg))
            if isinstance(record.args, tuple):
                record.args = tuple(
                    mask_value_in_text(arg) if isinstance(arg, str) else arg for arg in record.args
                )
        else:
            masked = mask_value_in_text(message)
            if masked != message:
                record.msg = masked
                record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_value_in_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_value_in_text(record.stack_info)
        return True
