"""All settings come from environment variables; helpers fail loudly on bad values."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use true/false, 1/0, yes/no or on/off.")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from exc
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} is too small: use {minimum} or more.")
    return value


def env_header_value(name: str) -> tuple[str, str] | None:
    """A request header and the value that marks a request as HTTPS, e.g. `HTTP_X_FORWARDED_PROTO,https`."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    parts = [part.strip() for part in raw.split(",")]
    if len(parts) != 2 or not parts[0].startswith("HTTP_") or not parts[0][5:] or not parts[1]:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a header and a value: use the request.META name of the header your proxy "
            "sets and the value it sends for HTTPS, e.g. HTTP_X_FORWARDED_PROTO,https."
        )
    return parts[0], parts[1]


DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=true for local development."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "connections.admin_apps.FinopsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_q",
    # Serves the API docs' Swagger UI from our static files instead of a CDN (the CSP allows only 'self').
    "ninja",
    "axes",
    "csp",
    "connections",
    "finops.ledger",
    "ingestion",
    "inventory",
    "recommendations",
    "finops.explorer",
    "finops.exports",
    "budgets",
    "providers",
    "finops.dashboards",
    "finops.demo",
    "lifecycle",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "finops.urls"
WSGI_APPLICATION = "finops.wsgi.application"
ASGI_APPLICATION = "finops.asgi.application"

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
                "connections.context_processors.navigation",
            ],
        },
    },
]

# DATABASE_URL unset means a SQLite file in the project folder (zero set-up); PostgreSQL in
# production and CI, e.g. postgres://postgres@127.0.0.1:5432/finops
DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()
SQLITE_OPTIONS = {
    "timeout": 30,
    "transaction_mode": "IMMEDIATE",
    # WAL lets the web process read while the worker writes; NORMAL sync is safe with WAL.
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL={DATABASE_URL!r} is not a database URL: {exc}") from exc
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: it refuses a locked-out username+address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# django-q2: the ORM broker needs nothing beyond the database.
Q_CLUSTER = {
    "name": "finops",
    "orm": "default",
    "workers": env_int("Q_WORKERS", 2),
    "timeout": env_int("Q_TIMEOUT", 1800),
    "retry": env_int("Q_RETRY", 3600),
    "max_attempts": 1,
    "catch_up": False,
    "label": "Background tasks",
}
# The ORM broker (the database is the queue) needs nothing else and suits one host. With REDIS_URL set
# (redis://host:6379/0), django-q2 queues in Redis instead, so qcluster workers on several hosts share one queue;
# results and schedules stay in the database.
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL:
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = REDIS_URL

# AWS: the account customers trust in their cross-account role. Never the 000000000000 placeholder.
FINOPS_PRODUCT_SLUG = os.environ.get("FINOPS_PRODUCT_SLUG", "BedrockFinOps")
FINOPS_BACKEND_ACCOUNT_ID = os.environ.get("FINOPS_BACKEND_ACCOUNT_ID", "").strip()
if FINOPS_BACKEND_ACCOUNT_ID == "000000000000":
    raise ImproperlyConfigured(
        "FINOPS_BACKEND_ACCOUNT_ID is the 000000000000 placeholder: set it to the 12-digit id of the AWS account "
        "this installation runs in (the account customers' roles trust)."
    )
if FINOPS_BACKEND_ACCOUNT_ID and not (len(FINOPS_BACKEND_ACCOUNT_ID) == 12 and FINOPS_BACKEND_ACCOUNT_ID.isdigit()):
    raise ImproperlyConfigured(f"FINOPS_BACKEND_ACCOUNT_ID={FINOPS_BACKEND_ACCOUNT_ID!r} is not a 12-digit account id.")
# Where the backend's own AWS calls start (STS AssumeRole into customer roles).
FINOPS_AWS_REGION = os.environ.get("FINOPS_AWS_REGION", "us-east-1")

# Email for alerts: SMTP when EMAIL_HOST is set, else written to the console (development, tests).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "").strip()
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "finops@localhost")
# A recommendation worth at least this much per month is announced on the tenant's alert channels.
RECOMMENDATION_ALERT_USD = env_int("RECOMMENDATION_ALERT_USD", 100, minimum=0)

# Data lifecycle: the audit log's own retention (tenants' data follows Tenant.retention_months) and the grace
# period of a deletion request, during which it can be cancelled.
AUDIT_RETENTION_MONTHS = env_int("AUDIT_RETENTION_MONTHS", 84, minimum=1)
DATA_DELETION_GRACE_DAYS = env_int("DATA_DELETION_GRACE_DAYS", 30, minimum=0)

# The secret from which per-tenant prompt-hash keys are derived when a tenant has none of its own.
FINOPS_HASH_PEPPER = os.environ.get("FINOPS_HASH_PEPPER", SECRET_KEY)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # botocore says at INFO where it found each endpoint and credential: noise in command output.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "botocore": {"level": "WARNING"}},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)

# HTTPS in production. The defaults keep plain http working (runserver, the test suite); behind a TLS proxy set
# SECURE_PROXY_SSL_HEADER to the header the proxy sets (and strips from clients), else every request looks
# like http and SECURE_SSL_REDIRECT loops.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_PROXY_SSL_HEADER = env_header_value("SECURE_PROXY_SSL_HEADER")

# Login throttling (django-axes) on /accounts/login/ and /admin/login/: after AXES_FAILURE_LIMIT failures a
# user name is locked out from that one address for the cool-off, so an attacker cannot lock out every user.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = env_bool("AXES_RESET_ON_SUCCESS", True)
# A refused attempt during the lock-out starts the cool-off again, so "try again at" counts from the last try.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_LOCKOUT_CALLABLE = "connections.throttling.lockout_response"
# No start-up banner on every management command's stderr; lockouts are still logged.
AXES_VERBOSE = env_bool("AXES_VERBOSE", False)
AXES_CLIENT_IP_CALLABLE = "connections.throttling.client_ip_address"
# Reverse proxies in front of the app that append the client address to X-Forwarded-For (0: use REMOTE_ADDR).
# Behind a proxy that is left at 0, every login comes from the proxy's address.
FINOPS_TRUSTED_PROXY_COUNT = env_int("FINOPS_TRUSTED_PROXY_COUNT", 0, minimum=0)
# An import file at least this large (bytes on disk) is parsed and normalised in a forked child process, beside
# the loading; a smaller one in a thread (forking costs a few milliseconds). 0: always a child process.
FINOPS_IMPORT_FORK_MIN_BYTES = env_int("FINOPS_IMPORT_FORK_MIN_BYTES", 1_000_000, minimum=0)
# PostgreSQL's work_mem for the transaction that rebuilds a slice of the daily rollup (a billing period's
# cells after a CUR delivery): enough to group the slice's rows in memory rather than sort them on disk.
FINOPS_ROLLUP_WORK_MEM = os.environ.get("FINOPS_ROLLUP_WORK_MEM", "64MB")

# Content-Security-Policy (django-csp 4): scripts and styles only from our own static files. Pages have no
# inline scripts (a figure is a div carrying its JSON, drawn by static/js/charts.js), htmx is configured by a
# <meta> not to inject its indicator <style> nor to eval, and Plotly's own CSS is served from static/vendor/ so
# it injects no <style> either (see base.html). No 'unsafe-inline', no 'unsafe-eval', no nonce.
_CSP_DIRECTIVES: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    # Django's admin has one inline <style>, only in lists with both action bars turned off (no admin does:
    # tests/test_csp.py checks it). Styles that scripts set through element.style (Plotly's) are allowed.
    "style-src": ["'self'"],
    # data: for the SVG icons inside the API docs' stylesheet (Swagger UI); blob: for Plotly's "Download plot as
    # a PNG", which draws the chart's SVG through a blob: image. tests/test_browser.py exercises both.
    "img-src": ["'self'", "data:", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
# (Not kept as a CSP_REPORT_URI setting: django-csp 4 refuses to start with its 3.x setting names.)
_csp_report_uri = os.environ.get("CSP_REPORT_URI", "").strip()
if _csp_report_uri:
    _CSP_DIRECTIVES["report-uri"] = [_csp_report_uri]
# CSP_REPORT_ONLY=true sends the same policy as Content-Security-Policy-Report-Only: browsers report
# violations (to CSP_REPORT_URI and the console) without blocking, to try a change of policy safely.
if env_bool("CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": _CSP_DIRECTIVES}
else:
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": _CSP_DIRECTIVES}
