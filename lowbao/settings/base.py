"""Settings shared by every environment. Values come from ``lowbao.env`` only.

Sections follow cookiecutter-django. Production-only hardening lives in ``production.py``.
"""

from datetime import timedelta
from importlib.util import find_spec
from pathlib import Path

from csp.constants import NONE, SELF

from lowbao.env import BASE_DIR, VAR_DIR, env, parse_key_list

# GENERAL
# ------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

# DATABASES
# ------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'lowbao.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not env.bool(
    "LOWBAO_PG_JIT", default=False
):
    # No JIT compilation: the set-based statements of imports and reconciliation pass
    # ``jit_above_cost`` at a few thousand rows, and compiling each (50–100 ms) costs more than it
    # saves on hash joins that run for a fraction of a second. Set at connect (no round trip).
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"]["options"] = (
        DATABASES["default"]["OPTIONS"].get("options", "") + " -c jit=off"
    ).strip()
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the dev server and an eager Celery task share the file.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )

# APPS
# ------------------------------------------------------------------------------
DJANGO_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django.contrib.humanize",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "import_export",
    "django_celery_beat",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
]
LOCAL_APPS = [
    "lowbao.core",
    "lowbao.accounts",
    "lowbao.areas",
    "lowbao.people",
    "lowbao.audit",
    "lowbao.imports",
    "lowbao.exports",
    "cases",
    "poverty",
    "review",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

# AUTHENTICATION
# ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "lowbao.accounts.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "lowbao.accounts.password_validation.ChineseCommonPasswordValidator"},
    {"NAME": "lowbao.accounts.password_validation.CharacterClassesValidator"},
]
# A password older than this must be changed at the next request (quality.md S3). 0 disables.
PASSWORD_MAX_AGE_DAYS = env.int("LOWBAO_PASSWORD_MAX_AGE_DAYS", default=90)

# django-axes: 5 failures lock the username for 15 minutes (quality.md S3).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
# Lock by username: offices share one NAT address, so an IP lock would shut out a whole township.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"

# Sessions: idle timeout via SESSION_COOKIE_AGE, renewed by SessionLifetimeMiddleware at most
# once per SESSION_RENEW_SECONDS of activity (not a database write per page); absolute cap there.
SESSION_COOKIE_AGE = env.int("LOWBAO_SESSION_IDLE_SECONDS", default=15 * 60)
SESSION_SAVE_EVERY_REQUEST = False
SESSION_RENEW_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_ABSOLUTE_SECONDS = env.int("LOWBAO_SESSION_ABSOLUTE_SECONDS", default=12 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# SECOND FACTOR (quality.md S3): TOTP (django-otp) with one-time recovery codes (otp_static).
# Off only where a setting says so: local demo mode and the test settings.
LOWBAO_OTP_ENFORCED = env.bool("LOWBAO_OTP_ENFORCED", default=True)
# Role codes whose holders must pass a second factor at login (county officials and above, the
# admins). Superusers and staff (the Django admin) always must.
LOWBAO_OTP_REQUIRED_ROLES = frozenset(
    {
        "county_civil_affairs",
        "county_poverty_office",
        "county_leader",
        "league_officer",
        "region_officer",
        "data_admin",
        "security_admin",
        "audit_admin",
    }
)
# Every sign-off (lowbao.accounts.reauth) asks for the second factor while enforcement is on,
# whatever the signer's role (quality.md S3 "TOTP for … sign-off").
LOWBAO_OTP_REQUIRED_FOR_SIGNOFF = True
# Wrong codes in a row before the verify step logs the user out, and for how long it stays shut.
LOWBAO_OTP_FAILURE_LIMIT = 5
LOWBAO_OTP_LOCKOUT_SECONDS = 15 * 60
LOWBAO_OTP_RECOVERY_CODE_COUNT = 10
OTP_TOTP_ISSUER = "lowbao 低保经办系统"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# MIDDLEWARE
# ------------------------------------------------------------------------------
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "lowbao.accounts.middleware.SessionLifetimeMiddleware",
    "lowbao.accounts.middleware.SecondFactorRequiredMiddleware",
    "lowbao.accounts.middleware.PasswordChangeRequiredMiddleware",
    "lowbao.areas.middleware.ActiveAssignmentMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# CONTENT SECURITY POLICY (quality.md S7, django-csp). Nothing inline: every script and style is a
# static file (static/js, static/css), so the pages work under 'self' alone; the browser tests
# run with this policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # Bootstrap's stylesheet draws its form and close icons from data: SVG images.
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

ROOT_URLCONF = "lowbao.urls"
WSGI_APPLICATION = "lowbao.wsgi.application"

# TEMPLATES
# ------------------------------------------------------------------------------
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lowbao.areas.context_processors.navigation",
            ],
        },
    },
]

# STATIC (served by whitenoise; Bootstrap comes from the bootstrap-wrapper package, no CDN)
# ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
_BOOTSTRAP_SPEC = find_spec("bootstrap")  # bootstrap-wrapper installs a namespace package
if _BOOTSTRAP_SPEC is None or not _BOOTSTRAP_SPEC.submodule_search_locations:
    raise RuntimeError("bootstrap-wrapper is not installed: run `make install`")
STATICFILES_DIRS = [
    ("vendor/bootstrap", Path(next(iter(_BOOTSTRAP_SPEC.submodule_search_locations)))),
]
STATICFILES_DIRS.append(BASE_DIR / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = env.path("LOWBAO_MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "/media/"

# PROTECTED FIELDS (quality.md S4): AES-GCM keys by key id, and a separate key for the blind index.
# LOWBAO_FIELD_KEYS: "kid:base64key[,kid:base64key…]"; the current one is LOWBAO_FIELD_KEY_ID.
FIELD_ENCRYPTION_KEYS = parse_key_list(env.str("LOWBAO_FIELD_KEYS", default=""))
FIELD_ENCRYPTION_CURRENT_KEY_ID = env.str("LOWBAO_FIELD_KEY_ID", default="")
BLIND_INDEX_KEY = env.str("LOWBAO_BLIND_INDEX_KEY", default="")

# THROTTLES (quality.md S7): the DRF scoped throttles and the page decorator of
# lowbao.core.throttling share these rates and the default cache (Redis in production). Login is
# counted per client address (django-axes locks the username); the others per user.
LOWBAO_THROTTLE_RATES = {
    "login": env.str("LOWBAO_THROTTLE_LOGIN", default="10/min"),
    "import": env.str("LOWBAO_THROTTLE_IMPORT", default="30/hour"),
    "export": env.str("LOWBAO_THROTTLE_EXPORT", default="60/hour"),
    # The other offices' systems pushing data (contracts.md "Data exchange"), per service account.
    "push": env.str("LOWBAO_THROTTLE_PUSH", default="60/min"),
}

# DJANGO REST FRAMEWORK
# ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "lowbao.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "lowbao.core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "lowbao.core.api.exception_handler.api_exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_RATES": LOWBAO_THROTTLE_RATES,
    # Reverse proxies in front of the app (X-Forwarded-For); unset = use the socket address.
    "NUM_PROXIES": env.int("LOWBAO_NUM_PROXIES", default=None),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "lowbao API",
    "DESCRIPTION": "农村牧区低保、特困供养与建档立卡衔接系统接口（见 contracts.md）",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "lowbao.core.schema.add_common_error_responses",
    ],
    # choice sets whose field names collide across apps get stable component names
    "ENUM_NAME_OVERRIDES": {
        "ReconciliationItemStateEnum": "review.models.reconciliation.ItemState",
        "ReconciliationRunStatusEnum": "review.models.reconciliation.RunStatus",
        "PaymentSheetStatusEnum": "cases.choices.PaymentSheetStatus",
    },
}

# CELERY (unset broker → tasks run eagerly in-process; set → Redis)
# ------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=3 * 3600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=3 * 3600 - 60)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 4 * 3600}
# Ledger uploads up to this size are checked and applied in the request; bigger ones in Celery.
LOWBAO_IMPORT_SYNC_MAX_BYTES = env.int("LOWBAO_IMPORT_SYNC_MAX_BYTES", default=256 * 1024)
# Import tasks' time limits; a parse claim not refreshed for LOWBAO_IMPORT_STALE_SECONDS (default:
# the hard limit + 5 minutes) belongs to a dead worker and is taken over.
LOWBAO_IMPORT_TASK_TIME_LIMIT = env.int("LOWBAO_IMPORT_TASK_TIME_LIMIT", default=2 * 3600)
LOWBAO_IMPORT_TASK_SOFT_TIME_LIMIT = env.int(
    "LOWBAO_IMPORT_TASK_SOFT_TIME_LIMIT", default=LOWBAO_IMPORT_TASK_TIME_LIMIT - 120
)
LOWBAO_IMPORT_STALE_SECONDS = env.int(
    "LOWBAO_IMPORT_STALE_SECONDS", default=LOWBAO_IMPORT_TASK_TIME_LIMIT + 300
)
# Rows read between two progress updates (each also refreshes the parse claim).
LOWBAO_IMPORT_PROGRESS_ROWS = env.int("LOWBAO_IMPORT_PROGRESS_ROWS", default=10_000)
# Stored upload files (encrypted) of applied, rejected or failed batches are deleted after this
# many days without change (lowbao.imports.storage.import_files_purge, hourly).
LOWBAO_IMPORT_FILE_RETENTION_DAYS = env.int("LOWBAO_IMPORT_FILE_RETENTION_DAYS", default=30)

# CACHES
# ------------------------------------------------------------------------------
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# LOGGING (never an ID number: see lowbao.people.masking)
# ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"mask_id_numbers": {"()": "lowbao.people.masking.IdNumberMaskingFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_id_numbers"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOWBAO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# DEMO MODE: demo accounts may exist only when this is on (quality.md S3).
LOWBAO_DEMO_MODE = env.bool("LOWBAO_DEMO_MODE", default=False)

# EXPORTS (lowbao.exports: list exports to .xlsx; quality.md P7, S4, S6)
# ------------------------------------------------------------------------------
# Exports of at most this many rows are written during the request; bigger ones run in Celery.
LOWBAO_EXPORT_SYNC_MAX_ROWS = env.int("LOWBAO_EXPORT_SYNC_MAX_ROWS", default=5000)
# Export files are deleted this many days after they were written (the job row stays, expired).
LOWBAO_EXPORT_RETENTION_DAYS = env.int("LOWBAO_EXPORT_RETENTION_DAYS", default=7)
# Modules that register exportable lists with ``lowbao.exports.registry.register_export``.
LOWBAO_EXPORT_MODULES = ["cases.roster_export", "poverty.registry_export"]
CELERY_BEAT_SCHEDULE = {
    **globals().get("CELERY_BEAT_SCHEDULE", {}),
    "exports-purge-expired-files": {
        "task": "exports.export_files_purge",
        "schedule": timedelta(hours=1),
    },
    "imports-purge-expired-files": {
        "task": "imports.import_files_purge",
        "schedule": timedelta(hours=1),
    },
}
