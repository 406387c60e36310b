"""Baton's settings: one file, every environment value read through config.env.

Two modes share this file:
- embedded (default): SQLite under var/, in-process Celery broker and channel
  layer, a secret key generated once into var/. `python manage.py serve` runs
  web, worker and scheduler in one process.
- distributed: BATON_REDIS_URL set (and normally BATON_DATABASE_URL pointing at
  Postgres): Redis carries Celery messages and live events; web, `celery -A
  config worker` and `celery -A config beat` run as separate processes.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from config.env import env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.str("VAR_DIR") or BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", False)
REDIS_URL = env.url("REDIS_URL", ("redis", "rediss", "unix"))
DISTRIBUTED = REDIS_URL is not None
BATON_MODE = "distributed" if DISTRIBUTED else "embedded"


def _generated_once(name: str, make: callable) -> str:
    """A value generated on first start and kept in var/ (embedded mode only)."""
    path = VAR_DIR / name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY")
if not SECRET_KEY:
    if DISTRIBUTED:
        raise ImproperlyConfigured(
            "BATON_SECRET_KEY is required when BATON_REDIS_URL is set (distributed mode)."
        )
    SECRET_KEY = _generated_once("secret_key", lambda: secrets.token_urlsafe(50))

# Fernet keys for credential secrets, newest first; older keys still decrypt
# (rotation: prepend a new key, run `manage.py reencrypt_credentials`).
ENCRYPTION_KEYS = env.list("ENCRYPTION_KEYS")
if not ENCRYPTION_KEYS:
    if DISTRIBUTED:
        raise ImproperlyConfigured(
            "BATON_ENCRYPTION_KEYS is required when BATON_REDIS_URL is set (distributed mode)."
        )
    ENCRYPTION_KEYS = [_generated_once("encryption_key", lambda: Fernet.generate_key().decode())]

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS")
OUTBOUND_ALLOW = env.list("OUTBOUND_ALLOW")

# Triggers (docs/triggers.md): how long a sync webhook waits for its run,
# the largest body a webhook accepts, calls per hook and minute, and how late
# a scheduled fire may still run under the "skip" missed-run policy.
WEBHOOK_SYNC_TIMEOUT_S = env.int("WEBHOOK_SYNC_TIMEOUT_S", 10)
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", 1024 * 1024)
WEBHOOK_RATE_LIMIT_PER_MIN = env.int("WEBHOOK_RATE_LIMIT_PER_MIN", 600)
SCHEDULE_GRACE_S = env.int("SCHEDULE_GRACE_S", 60)

#: embedded mode: threads for steps that call out (models, HTTP, email), so
#: parallel branches call out at once (runtime/embedded.py)
STEP_THREADS = env.int("STEP_THREADS", 8)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_htmx",
    "axes",
    "accounts",
    "builder",
    "runtime",
    "integrations",
    "triggers",
    "approvals",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.ContentSecurityPolicyMiddleware",
    "accounts.middleware.AuditRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "accounts.context_processors.navigation",
                "approvals.context_processors.inbox",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env.str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'baton.sqlite3'}",
        # Kept a minute, in both modes: reopening a SQLite connection (and
        # running its PRAGMAs) for each webhook call was a fifth of an
        # embedded call's time.
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so two writers
    # queue on the busy timeout instead of failing to upgrade a read lock.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
#: The runtime's hot-path statements are prepared on the server (see
#: runtime.engine.sql._cursor); off behind a pooler that cannot keep
#: prepared statements (PgBouncer before 1.21 in transaction mode).
BATON_DB_PREPARE = env.bool("DB_PREPARE", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and BATON_DB_PREPARE:
    # Django's cursors bind on the client and never prepare; psycopg prepares
    # only with a threshold set. A huge one: only statements that ask are.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 1_000_000_000
#: Postgres: a transition that only ends and claims steps of pure nodes
#: (data, logic: no effect outside the database) commits without waiting for
#: the WAL flush (synchronous_commit off for that statement alone). A server
#: crash can lose the last fraction of a second of such transitions; those
#: steps run again from the durable state before them, and every commit that
#: claims or ends any other step still waits, so no effect is repeated
#: (docs/runtime.md, "Commits of pure steps"). 0: every commit waits.
BATON_ASYNC_PURE_COMMITS = env.bool("ASYNC_PURE_COMMITS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "accounts.backends.ThrottledBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "builder:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sign-in throttling: five failures per user and address lock for 15 minutes.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"

SESSION_COOKIE_AGE = env.int("SESSION_AGE_S", 12 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# HTTPS hardening is on in distributed mode unless BATON_HTTPS=0; the embedded
# default serves plain http on 127.0.0.1.
HTTPS = env.bool("HTTPS", DISTRIBUTED and not DEBUG)
if env.bool("PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if env.is_set("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = env.str("EMAIL_HOST", "localhost")
EMAIL_PORT = env.int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env.str("EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env.str("EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env.bool("EMAIL_TLS", False)
DEFAULT_FROM_EMAIL = env.str("EMAIL_FROM", "Baton <baton@localhost>")
BASE_URL = env.str("BASE_URL", "http://127.0.0.1:8000")

# Request size: graphs are capped at 5 MB (builder.graph.MAX_DOCUMENT_BYTES).
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_PAGINATION_CLASS": "config.api.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Baton API",
    "DESCRIPTION": "Build, publish and run AI workflows. Contract: docs/contract.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CredentialKindEnum": "integrations.models.CredentialKind",
        "RunStatusEnum": "runtime.models.RunStatus",
        "StepStatusEnum": "runtime.models.StepStatus",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

if DISTRIBUTED:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Celery: the broker only says "look at step X"; run state lives in the
# database. Late acks plus reject-on-worker-lost put a killed worker's message
# back; prefetch 1 keeps one slow step from holding others hostage.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fix-up closes every database connection before and after
# each task unless this is set; the worker recycles them by CONN_MAX_AGE and
# health checks instead (config.celery.recycle_database_connections).
CELERY_DB_REUSE_MAX = 1_000_000_000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Replaces every credential secret decrypted in this process with [redacted].
    "filters": {"redact_secrets": {"()": "integrations.redaction.SecretRedactionFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

DEMO_PASSWORD = env.str("DEMO_PASSWORD", "baton-demo")
