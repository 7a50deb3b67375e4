from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL"}}
    clean.update(env)
    code = "import finops.settings as s; print(s.DATABASES['default']['ENGINE']); print(s.USE_TZ, s.TIME_ZONE)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off() -> None:
    result = _load_settings({"DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_it_defaults_to_sqlite_in_the_project_folder_with_utc() -> None:
    result = _load_settings({"SECRET_KEY": "x"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "True", "UTC"]


def test_it_reads_postgres_from_database_url() -> None:
    result = _load_settings({"SECRET_KEY": "x", "DATABASE_URL": "postgres://u@127.0.0.1:5432/x"})
    assert result.stdout.split()[0] == "django.db.backends.postgresql"


def test_a_bad_boolean_is_a_clear_error() -> None:
    result = _load_settings({"SECRET_KEY": "x", "DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


# --- deployment (HTTPS) settings -----------------------------------------------------------------

PRODUCTION = {
    "SECRET_KEY": "k7Qm2vX9pL4sR8tW1yZ3bN6cF0hJ5dG2aE7uI9oP3qS6xV1mK4nB8lT0rY5wC2zH",
    "ALLOWED_HOSTS": "finops.example.com",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
}
OURS = {
    "SECRET_KEY",
    "DEBUG",
    "DATABASE_URL",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "CSP_REPORT_ONLY",
    "CSP_REPORT_URI",
}


def _clean_env(env: dict[str, str]) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in OURS and not k.startswith(("SECURE_", "SESSION_", "CSRF_", "AXES_", "CSP_"))
    }
    clean.update(env)
    return clean


def _deploy_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    return subprocess.run(command, cwd=ROOT, env=_clean_env(env), capture_output=True, text=True)


def _print_settings(env: dict[str, str], *names: str) -> subprocess.CompletedProcess[str]:
    code = "import finops.settings as s; " + "; ".join(f"print(repr(getattr(s, {n!r}, None)))" for n in names)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_clean_env(env), capture_output=True, text=True)


def test_a_production_environment_passes_the_deploy_checks_without_a_warning() -> None:
    result = _deploy_check(PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_without_the_https_variables_the_deploy_check_warns() -> None:
    https = {"SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD"}
    result = _deploy_check({k: v for k, v in PRODUCTION.items() if k not in https})

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "security.W004" in output  # no HSTS
    assert "security.W008" in output  # no redirect to HTTPS


def test_hsts_without_subdomains_and_preload_is_warned_about() -> None:
    result = _deploy_check(
        {**PRODUCTION, "SECURE_HSTS_INCLUDE_SUBDOMAINS": "false", "SECURE_HSTS_PRELOAD": "false"},
    )

    assert result.returncode != 0
    assert "security.W005" in result.stderr and "security.W021" in result.stderr


def test_the_defaults_keep_plain_http_working() -> None:
    names = ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_PROXY_SSL_HEADER")
    for env in ({"DEBUG": "true"}, {"SECRET_KEY": "x"}):  # local development; the test suite
        result = _print_settings(env, *names)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["False", "0", "None"]


def test_it_reads_the_https_variables() -> None:
    names = ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER")
    result = _print_settings(PRODUCTION, *names)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["True", "31536000", "True", "('HTTP_X_FORWARDED_PROTO', 'https')"]


def test_bad_https_values_are_clear_errors() -> None:
    for name, value, message in [
        ("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto: https", "is not a header and a value"),
        ("SECURE_PROXY_SSL_HEADER", "HTTP_X_FORWARDED_PROTO", "is not a header and a value"),
        ("SECURE_HSTS_SECONDS", "-1", "SECURE_HSTS_SECONDS='-1' is too small"),
        ("SECURE_HSTS_SECONDS", "1 year", "is not a whole number"),
        ("SECURE_SSL_REDIRECT", "sometimes", "is not a boolean"),
        ("AXES_FAILURE_LIMIT", "0", "AXES_FAILURE_LIMIT='0' is too small"),
    ]:
        result = _print_settings({"SECRET_KEY": "x", name: value}, "DEBUG")
        assert result.returncode != 0, name
        assert message in result.stderr, (name, result.stderr[-500:])


def test_csp_report_only_sends_the_same_policy_without_enforcing_it() -> None:
    names = ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY")
    enforced = _print_settings({"SECRET_KEY": "x"}, *names).stdout.splitlines()
    report_only = _print_settings(
        {"SECRET_KEY": "x", "CSP_REPORT_ONLY": "true", "CSP_REPORT_URI": "/csp-reports/"}, *names
    ).stdout.splitlines()

    assert enforced[1] == "None" and report_only[0] == "None"
    assert "'report-uri': ['/csp-reports/']" in report_only[1]
    assert report_only[1].replace(", 'report-uri': ['/csp-reports/']", "") == enforced[0]


def test_redis_url_switches_the_task_queue_to_redis() -> None:
    code = "import finops.settings as s; print(s.Q_CLUSTER.get('orm'), s.Q_CLUSTER.get('redis'))"
    base = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DEBUG"}}
    plain = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**base, "SECRET_KEY": "x"},
                           capture_output=True, text=True)  # fmt: skip
    assert plain.stdout.split() == ["default", "None"], plain.stderr
    redis = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                           env={**base, "SECRET_KEY": "x", "REDIS_URL": "redis://10.0.0.5:6379/0"})  # fmt: skip
    assert redis.stdout.split() == ["None", "redis://10.0.0.5:6379/0"], redis.stderr
