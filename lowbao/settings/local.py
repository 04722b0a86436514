"""The embedded default: SQLite under var/, eager Celery, generated local secrets, demo mode."""

from lowbao.core.local_secrets import load_or_create_local_secrets
from lowbao.env import VAR_DIR, env

from .base import *  # noqa: F403
from .base import DATABASES, FIELD_ENCRYPTION_KEYS

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Persistent connections as production has them (CONN_MAX_AGE there defaults to 60 s); the dev
# server keeps one connection per request unless the environment asks (bench/bench_load.py does).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
_secrets = load_or_create_local_secrets(VAR_DIR / "local-secrets.json")
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=_secrets["secret_key"])
if not FIELD_ENCRYPTION_KEYS:
    FIELD_ENCRYPTION_KEYS = {_secrets["field_key_id"]: _secrets["field_key"]}
    FIELD_ENCRYPTION_CURRENT_KEY_ID = _secrets["field_key_id"]
BLIND_INDEX_KEY = env.str("LOWBAO_BLIND_INDEX_KEY", default=_secrets["blind_index_key"])
LOWBAO_DEMO_MODE = env.bool("LOWBAO_DEMO_MODE", default=True)
# Demo mode keeps `make run` to a password login; a real local install asks for TOTP.
LOWBAO_OTP_ENFORCED = env.bool("LOWBAO_OTP_ENFORCED", default=not LOWBAO_DEMO_MODE)
# The dev server serves static files from the finders too (make run also collects them).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
