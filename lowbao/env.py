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
