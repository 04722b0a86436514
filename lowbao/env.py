"""The only place that reads the process environment (style B.8).

`.env` is read only when ``DJANGO_READ_DOT_ENV_FILE`` is set; OS variables always win.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"))


def parse_key_list(value: str) -> dict[str, str]:
    """``"kid:base64[,kid:base64…]"`` → ``{kid: base64}`` (base64 may itself contain ``=``)."""
    keys: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        key_id, separator, key = item.partition(":")
        if not separator or not key_id or not key:
            raise ValueError("LOWBAO_FIELD_KEYS items must look like kid:base64key")
        keys[key_id] = key
    return keys
