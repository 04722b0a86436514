"""Test settings: fast hasher, locmem cache and email, eager Celery, fixed test keys.

``DATABASE_URL`` selects PostgreSQL (CI); without it the suite runs on SQLite.
"""

from lowbao.env import VAR_DIR, env

from .base import *  # noqa: F403

SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
FIELD_ENCRYPTION_KEYS = {
    "test1": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    "test2": "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=",
}
FIELD_ENCRYPTION_CURRENT_KEY_ID = "test1"
BLIND_INDEX_KEY = "dGVzdC1ibGluZC1pbmRleC1rZXktMzItYnl0ZXMtLS0="
LOWBAO_DEMO_MODE = True
# Most tests log in with force_login; the second-factor tests turn enforcement on themselves.
LOWBAO_OTP_ENFORCED = False
# The locmem cache lives as long as the test process: generous rates keep the throttles out of
# the way of other tests; the throttle tests set their own rates.
LOWBAO_THROTTLE_RATES = {
    "login": "10000/min",
    "import": "10000/min",
    "export": "10000/min",
    "push": "10000/min",
}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": LOWBAO_THROTTLE_RATES}  # noqa: F405
ALLOWED_HOSTS = ["*"]
MEDIA_ROOT = VAR_DIR / "test-media"
# whitenoise warns when STATIC_ROOT is missing; tests serve static files through the finders.
STATIC_ROOT = VAR_DIR / "test-static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
