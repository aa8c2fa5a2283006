"""Settings for Xuewen, read from the environment in this one place.

Every variable is listed with its default in ``deploy/env.example``. The defaults are the
embedded ones (SQLite, in-memory channel layer, eager Celery, database search) so that a fresh
clone runs with nothing else installed. ``XUEWEN_ENV=production`` turns on the production checks:
the process refuses to start with an unsafe setting (see ``_refuse_unsafe_production``).
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent  # the repository root
PLATFORM_DIR = BASE_DIR / "platform"

env = environ.Env()
_env_file = env.str("XUEWEN_ENV_FILE", default="")
if _env_file:
    environ.Env.read_env(_env_file, overwrite=False)

XUEWEN_ENV = env.str("XUEWEN_ENV", default="development")
if XUEWEN_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(
        f"XUEWEN_ENV must be development, test or production, not {XUEWEN_ENV!r}"
    )
PRODUCTION = XUEWEN_ENV == "production"

_DEV_SECRET = "dev-insecure-secret-key-not-for-production-0123456789abcdef"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default="" if PRODUCTION else _DEV_SECRET)
DEBUG = env.bool("DEBUG", default=XUEWEN_ENV == "development")
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Browser origins allowed to open websockets; defaults to ALLOWED_HOSTS (see config.asgi).
WEBSOCKET_ALLOWED_ORIGINS = env.list("WEBSOCKET_ALLOWED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "channels",
    # first-party: core apps under platform/
    "common",
    "regions",
    "accounts",
    "studios",
    "service_records",
    "notifications",
    # first-party: feature apps at the repository root
    "courses",
    "live",
    "qa",
    "question_bank",
    "search",
]

MIDDLEWARE = [
    "common.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "accounts.middleware.PasswordChangeRequiredMiddleware",
    "service_records.review.middleware.UsageCountingMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PLATFORM_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- data stores -------------------------------------------------------------------------
DATA_DIR = Path(env.str("XUEWEN_DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'xuewen.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    # WAL and a busy timeout let the dev server's threads and a test's threads share the file.
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A database that does not answer fails the request (and /readyz) instead of hanging it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
    # On when DATABASE_URL points at pgbouncer in transaction pooling mode (deploy/README.md).
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
        "DATABASE_DISABLE_SERVER_SIDE_CURSORS", default=False
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
# The asyncio Redis client of each event loop (common/redis.py): connections it may hold, and
# how long a caller waits for a free one. Bounded so a connect storm cannot open thousands.
REDIS_ASYNC_MAX_CONNECTIONS = env.int("REDIS_ASYNC_MAX_CONNECTIONS", default=32)
REDIS_ASYNC_POOL_TIMEOUT = env.float("REDIS_ASYNC_POOL_TIMEOUT", default=5.0)
# Parallel test workers (pytest-xdist) share one Redis; each gets its own key space.
_WORKER = env.str("PYTEST_XDIST_WORKER", default="")
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="xuewen") + (f"-{_WORKER}" if _WORKER else "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{CACHE_KEY_PREFIX}:ch"},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery ------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
# Without a broker the tasks run in the calling process, so the embedded setup needs no worker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULE: dict = {
    # Visit counters (cache) -> DailyUsage rows, for the county adoption report.
    "service-records-flush-daily-usage": {
        "task": "service_records.review.flush_daily_usage",
        "schedule": 300.0,  # seconds
    },
    # Initial passwords of imported accounts that nobody downloaded within a week.
    "accounts-import-credentials-purge": {
        "task": "accounts.import_credentials_purge",
        "schedule": 3600.0,
    },
    # Reminders to enrolled users of lectures starting within LECTURE_REMINDER_MINUTES.
    "courses-lecture-reminders": {
        "task": "courses.lecture_reminders_send",
        "schedule": 120.0,
    },
    # Files of background exports past their keep time (service_records/exports/services.py).
    "service-records-export-job-purge": {
        "task": "service_records.export_job_purge",
        "schedule": 86400.0,
    },
}
# Workers log through LOGGING below (JSON in production) instead of Celery's own root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- search ------------------------------------------------------------------------------
ELASTICSEARCH_URL = env.str("ELASTICSEARCH_URL", default="")
SEARCH_BACKEND = env.str("SEARCH_BACKEND", default="elasticsearch" if ELASTICSEARCH_URL else "database")

# --- auth --------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/accounts/login/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    # Initial passwords from a bulk import are hashed cheaply (they must be changed at first
    # login, when Django re-hashes with the strong hasher above); see accounts.hashers.
    "accounts.hashers.InitialPasswordHasher",
]
if XUEWEN_ENV == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]

REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env.int("API_TOKEN_TTL_HOURS", default=24 * 14)),
    "AUTO_REFRESH": True,
    "TOKEN_LIMIT_PER_USER": 20,
    "AUTH_HEADER_PREFIX": "Token",
}
WEBSOCKET_TICKET_TTL_SECONDS = env.int("WEBSOCKET_TICKET_TTL_SECONDS", default=30)
# Live rooms' transport (live/hub.py, docs/live-transport.md): frames one process may send per
# second (sizes the coalescing interval), and the room handler: empty for the real one
# (live.room); "live.hub_bench.get_bench_handler" only in the transport's tests and benchmark.
LIVE_SEND_BUDGET = env.int("LIVE_SEND_BUDGET", default=20000)
LIVE_ROOM_HANDLER = env.str("LIVE_ROOM_HANDLER", default="")
# Seconds a live node keeps a lecture's facts (state, course, visibility) for admitting viewers:
# how long an unpublished course or an end told to no process here still lets new viewers in.
LIVE_ADMIT_CACHE_SECONDS = env.float("LIVE_ADMIT_CACHE_SECONDS", default=5.0)

SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
# A refused CSRF check under /api/ answers in the JSON error shape.
CSRF_FAILURE_VIEW = "common.errors.csrf_failure"

# --- DRF / OpenAPI -----------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes "not signed in" a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.permissions.PasswordIsCurrent",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "common.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "common.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "common.schema.AutoSchema",
    "EXCEPTION_HANDLER": "common.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/minute"),
        "user": env.str("THROTTLE_USER", default="600/minute"),
        "login": env.str("THROTTLE_LOGIN", default="10/minute"),
        "login_user": env.str("THROTTLE_LOGIN_USER", default="5/minute"),
        "import": env.str("THROTTLE_IMPORT", default="30/hour"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Proxies in front of the app that append to X-Forwarded-For (nginx: 1). Throttles key on
    # the client address; with 0 they use REMOTE_ADDR and ignore a client-sent X-Forwarded-For.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=1 if PRODUCTION else 0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Xuewen API",
    "DESCRIPTION": "Regional learning and Q&A platform run by famous-teacher studios (名师工作室).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "ImportJobKindEnum": "accounts.models.ImportJob.Kind",
        "ImportJobStatusEnum": "accounts.models.ImportJob.Status",
        "StudioStatusEnum": "studios.models.Studio.Status",
        "ActivityKindEnum": "studios.activities.models.Activity.Kind",
        "ActivityStateEnum": "studios.activities.models.Activity.State",
        "AttendanceStatusEnum": "studios.activities.models.Attendance.Status",
        "LeaveRequestStateEnum": "studios.activities.models.LeaveRequest.State",
        "StudioLeaveReasonEnum": "studios.models.Membership.LeaveReason",
        "StudioManualLeaveReasonEnum": "studios.models.MANUAL_LEAVE_REASON_CHOICES",
        "AssessmentSchemeStatusEnum": "service_records.models.AssessmentScheme.Status",
        "AssessmentRunStatusEnum": "service_records.models.AssessmentRun.Status",
        "AssessmentGradeEnum": "service_records.models.assessments.Grade",
        "IncentiveRoleEnum": "service_records.models.IncentiveRule.Role",
        "CourseStatusEnum": "courses.models.Course.Status",
        "LectureStaffRoleEnum": "courses.models.LectureStaff.Role",
        "RosterRoleEnum": "courses.apis.ROSTER_ROLE_CHOICES",
    },
}

# --- i18n --------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PLATFORM_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- static and media --------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Outside production whitenoise serves straight from the apps' static folders (no collectstatic).
WHITENOISE_USE_FINDERS = not PRODUCTION
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
IMPORT_MAX_UPLOAD_BYTES = env.int("IMPORT_MAX_UPLOAD_BYTES", default=200 * 1024 * 1024)
# Course resources and covers: size limits and the accepted types (content is checked too).
RESOURCE_MAX_UPLOAD_BYTES = env.int("RESOURCE_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)
RESOURCE_ALLOWED_EXTENSIONS = env.list(
    "RESOURCE_ALLOWED_EXTENSIONS",
    default=["pdf", "docx", "pptx", "xlsx", "png", "jpg", "jpeg", "mp4", "mp3"],
)
COURSE_COVER_MAX_BYTES = env.int("COURSE_COVER_MAX_BYTES", default=2 * 1024 * 1024)
# Uploaded files on the local disk (MEDIA_ROOT) or in an S3-compatible bucket (django-storages).
MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="filesystem")
if MEDIA_STORAGE == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("S3_BUCKET"),
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("S3_REGION", default="") or None,
            "access_key": env.str("S3_ACCESS_KEY", default="") or None,
            "secret_key": env.str("S3_SECRET_KEY", default="") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
elif MEDIA_STORAGE != "filesystem":
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be filesystem or s3, not {MEDIA_STORAGE!r}")

# --- security (production) ---------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# /healthz and /readyz are probed over plain HTTP by the load balancer inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# --- logging -----------------------------------------------------------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "text")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# /readyz answers within this many seconds, naming any dependency that did not (common.health).
READINESS_TIMEOUT_SECONDS = env.float("READINESS_TIMEOUT_SECONDS", default=2.0)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "common.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601 in UTC with milliseconds, e.g. 2025-03-01T08:00:00.123+00:00
        },
        "text": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "jieba": {"level": "WARNING"},
    },
}

# --- domain ------------------------------------------------------------------------------
STUDIO_DEFAULT_CYCLE_YEARS = env.int("STUDIO_DEFAULT_CYCLE_YEARS", default=3)
# Where school terms begin (MM-DD), for duties counted per term (学期): spring and autumn term.
ASSESSMENT_TERM_STARTS = env.list("ASSESSMENT_TERM_STARTS", default=["02-01", "08-01"])
# Enrolled users are reminded of a lecture this many minutes before it starts.
LECTURE_REMINDER_MINUTES = env.int("LECTURE_REMINDER_MINUTES", default=30)
# Largest file attached to a studio activity's report (photos, slides, sign-in sheets).
STUDIO_ACTIVITY_ATTACHMENT_MAX_BYTES = env.int("STUDIO_ACTIVITY_ATTACHMENT_MAX_BYTES",
                                               default=20 * 1024 * 1024)


def _refuse_unsafe_production() -> None:
    """Production must not start with a setting that exposes users' data."""
    problems = []
    if not SECRET_KEY or SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50:
        problems.append("SECRET_KEY must be set to a random value of at least 50 characters")
    if DEBUG:
        problems.append("DEBUG must be off")
    if not ALLOWED_HOSTS or any(h in {"*", ".*"} or h.startswith("*") for h in ALLOWED_HOSTS):
        problems.append("ALLOWED_HOSTS must list the site's host names (no wildcard)")
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        problems.append("DATABASE_URL must point at PostgreSQL")
    if not REDIS_URL:
        problems.append("REDIS_URL must be set (cache, channel layer, Celery broker)")
    if LIVE_ROOM_HANDLER:
        problems.append("LIVE_ROOM_HANDLER must be empty (the benchmark's handler lets staff publish)")
    if problems:
        raise ImproperlyConfigured(
            "Refusing to start in production: " + "; ".join(problems)
        )


if PRODUCTION:
    _refuse_unsafe_production()
