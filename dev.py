#!/usr/bin/env python3
"""The two commands of the README, on a fresh clone with only Python 3.11:

    python3 dev.py run    install, migrate, load demo data, serve HTTP + websockets on :8000
    python3 dev.py test   install and run the whole test suite

Both create ./.venv and install the project into it (again only when pyproject.toml changes).
Set DATABASE_URL / REDIS_URL / ELASTICSEARCH_URL to use those services instead of the
embedded defaults (SQLite, in-memory channel layer, eager Celery, database search).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
STAMP = VENV / ".install-stamp"


def _sh(*args: str | Path, env: dict | None = None) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT, env=env)


def install() -> None:
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"Xuewen needs Python 3.11; this is {sys.version.split()[0]}")
    if not PY.exists():
        print("+ creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    _sh(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _sh(PY, "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    STAMP.write_text(wanted)


def _env(**extra: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "platform"),
                                                       env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def run(argv: list[str]) -> None:
    install()
    env = _env()
    _sh(PY, "manage.py", "migrate", "--no-input", env=env)
    _sh(PY, "manage.py", "seed_demo", env=env)
    port = env.get("XUEWEN_PORT", "8000")
    print(f"\nXuewen on http://127.0.0.1:{port}/  (API docs: /api/docs/, admin: /admin/)\n",
          flush=True)
    # Daphne's runserver: HTTP and websockets in one process, static files, autoreload.
    os.execve(PY, [str(PY), "manage.py", "runserver", f"127.0.0.1:{port}", *argv], env)


def test(argv: list[str]) -> None:
    install()
    env = _env(XUEWEN_ENV="test")
    workers = env.get("XUEWEN_TEST_WORKERS", "auto")
    args = [str(PY), "-m", "pytest", "-n", workers, "--dist", "loadgroup", *argv]
    print("+", " ".join(args), flush=True)
    sys.exit(subprocess.run(args, cwd=ROOT, env=env).returncode)


def main() -> None:
    commands = {"run": run, "test": test, "install": lambda argv: install()}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
