"""Password rules beyond Django's: a Chinese common-password list and character classes."""

from functools import cache
from pathlib import Path

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

_LIST_PATH = Path(__file__).parent / "data" / "chinese-common-passwords.txt"


@cache
def _common_passwords() -> frozenset[str]:
    lines = _LIST_PATH.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


class ChineseCommonPasswordValidator:
    """Refuses passwords common in China (pinyin names, 5201314, qq123456 …)."""

    def validate(self, password: str, user: object = None) -> None:
        candidate = password.strip().lower()
        if candidate in _common_passwords():
            raise ValidationError("该密码过于常见，请换一个。", code="password_too_common_cn")

    def get_help_text(self) -> str:
        return "密码不能是常见密码（如 5201314、woaini1314、qq123456）。"


class CharacterClassesValidator:
    """At least three of: lower-case, upper-case, digits, symbols (等保三级 practice)."""

    def validate(self, password: str, user: object = None) -> None:
        classes = [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
        if sum(classes) < 3:
            raise ValidationError(
                "密码须至少包含大写字母、小写字母、数字、符号中的三类。",
                code="password_character_classes",
            )

    def get_help_text(self) -> str:
        return "密码须至少包含大写字母、小写字母、数字、符号中的三类。"


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's rule, with the Chinese message its catalogue lacks for this plural form."""

    def get_error_message(self) -> str:
        return f"密码太短，至少需要 {self.min_length} 个字符。"

    def get_help_text(self) -> str:
        return f"密码至少需要 {self.min_length} 个字符。"
