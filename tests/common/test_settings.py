"""Settings safety. Settings load once per process, so each case runs in a fresh interpreter
with an environment built here (nothing inherited from the test run's own configuration)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "platform" / "config" / "settings.py"
ENV_EXAMPLE = ROOT / "deploy" / "env.example"
ENV_PRODUCTION = ROOT / "deploy" / "env.production.example"

SAFE_PRODUCTION = {
    "XUEWEN_ENV": "production",
    "SECRET_KEY": "k3y-" + "a1b2c3d4e5" * 6,
    "DEBUG": "off",
    "ALLOWED_HOSTS": "xuewen.example.cn",
    # Nothing listens on port 1: settings never connect, and nothing here may.
    "DATABASE_URL": "postgres://xuewen@127.0.0.1:1/xuewen",
    "REDIS_URL": "redis://127.0.0.1:1/0",
}

_PRINT_SETTINGS = """
from django.conf import settings
print(settings.LOGGING["handlers"]["console"]["formatter"], settings.DEBUG,
      settings.SESSION_COOKIE_SECURE, settings.SECURE_SSL_REDIRECT, settings.CELERY_TASK_ALWAYS_EAGER)
"""


def env_names(text: str) -> set[str]:
    """Variable names an env file lists, set (NAME=...) or documented (#NAME=...)."""
    return set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def clean_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The parent's environment minus every variable Xuewen reads, plus ``overrides``."""
    ours = env_names(ENV_EXAMPLE.read_text()) | {"DJANGO_SETTINGS_MODULE"}
    env = {k: v for k, v in os.environ.items() if k not in ours}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "platform")]),
        DJANGO_SETTINGS_MODULE="config.settings",
        XUEWEN_DATA_DIR=str(tmp_path / "data"),
    )
    env.update(overrides)
    return env


def run_python(env: dict, code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def load_settings(tmp_path: Path, **overrides: str) -> subprocess.CompletedProcess:
    return run_python(clean_env(tmp_path, **overrides), "import config.settings" + _PRINT_SETTINGS)


def test_a_safe_production_configuration_starts_with_production_defaults(tmp_path):
    result = load_settings(tmp_path, **SAFE_PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["json", "False", "True", "True", "False"]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": "too-short"}, "SECRET_KEY"),
        ({"SECRET_KEY": "dev-insecure-secret-key-not-for-production-0123456789abcdef"}, "SECRET_KEY"),
        ({"DEBUG": "on"}, "DEBUG must be off"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS"),
        ({"ALLOWED_HOSTS": "xuewen.example.cn,*"}, "ALLOWED_HOSTS"),
        ({"ALLOWED_HOSTS": "*.example.cn"}, "ALLOWED_HOSTS"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS"),
        ({"DATABASE_URL": None}, "PostgreSQL"),
        ({"DATABASE_URL": "sqlite:////tmp/xuewen.sqlite3"}, "PostgreSQL"),
        ({"REDIS_URL": None}, "REDIS_URL"),
        ({"LIVE_ROOM_HANDLER": "live.hub_bench.BenchRoomHandler"}, "LIVE_ROOM_HANDLER"),
    ],
    ids=["no-secret", "short-secret", "dev-secret", "debug", "wildcard-host", "wildcard-among-hosts",
         "wildcard-subdomain", "no-hosts", "default-sqlite", "sqlite", "no-redis", "bench-handler"],
)
def test_production_refuses_to_start_with_an_unsafe_setting(tmp_path, change, complaint):
    settings = {k: v for k, v in {**SAFE_PRODUCTION, **change}.items() if v is not None}
    result = load_settings(tmp_path, **settings)
    assert result.returncode != 0
    assert "Refusing to start in production" in result.stderr
    assert complaint in result.stderr.splitlines()[-1]


def test_check_deploy_passes_with_the_production_example(tmp_path):
    env = clean_env(tmp_path, XUEWEN_ENV_FILE=str(ENV_PRODUCTION))
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_production_example_is_a_production_configuration(tmp_path):
    result = load_settings(tmp_path, XUEWEN_ENV_FILE=str(ENV_PRODUCTION))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "json"


def test_env_example_used_as_it_is_starts_the_development_configuration(tmp_path):
    result = load_settings(tmp_path, XUEWEN_ENV_FILE=str(ENV_EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["text", "True", "False", "False", "True"]


def test_every_variable_settings_reads_is_listed_in_env_example():
    read = set(re.findall(r"""\benv(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""", SETTINGS.read_text()))
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "LOG_FORMAT"} <= read  # the parse works
    missing = read - env_names(ENV_EXAMPLE.read_text())
    assert not missing, f"add to deploy/env.example: {sorted(missing)}"


def test_every_variable_the_production_processes_read_is_listed_in_env_example():
    listed = env_names(ENV_EXAMPLE.read_text())
    gunicorn = set(re.findall(r"""environ\.get\(\s*["']([A-Z][A-Z0-9_]*)["']""",
                              (ROOT / "deploy" / "gunicorn.conf.py").read_text()))
    gunicorn |= set(re.findall(r"""_int\(\s*["']([A-Z][A-Z0-9_]*)["']""",
                               (ROOT / "deploy" / "gunicorn.conf.py").read_text()))
    units = set()
    for unit in (ROOT / "deploy" / "systemd").iterdir():
        units |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", unit.read_text()))
    assert "GUNICORN_WORKERS" in gunicorn and "CELERY_WORKER_CONCURRENCY" in units
    missing = (gunicorn | units) - listed
    assert not missing, f"add to deploy/env.example: {sorted(missing)}"


def test_the_production_example_sets_only_variables_that_exist():
    unknown = env_names(ENV_PRODUCTION.read_text()) - env_names(ENV_EXAMPLE.read_text())
    assert not unknown, f"not read anywhere (typo?): {sorted(unknown)}"
