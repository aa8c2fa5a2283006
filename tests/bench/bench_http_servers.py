#!/usr/bin/env python
"""Benchmark: HTTP on a WSGI server against ASGI servers (a script, not a test):

    .venv/bin/python tests/bench/bench_http_servers.py
    .venv/bin/python tests/bench/bench_http_servers.py --duration 20 --connections 16
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/xw_bench_http \\
        .venv/bin/python tests/bench/bench_http_servers.py

Why production sends HTTP to gunicorn and only websockets to ASGI processes (deploy/README.md).
In one run, on one database, it starts each server with ONE worker process serving this project:

  gunicorn   config.wsgi with deploy/gunicorn.conf.py (sync worker), the baseline;
  uvicorn    config.asgi (Django's ASGI handler runs each sync view through a thread hop);
  daphne     config.asgi, as deploy/systemd/xuewen-ws@.service starts it;

and loads two views: /healthz (a plain Django JSON view, no database) and /api/v1/me/ (a DRF
view with token authentication: a database read per request). The load comes from `wrk` when
it is installed (apt-get install wrk), otherwise from a small Python client (threads, keep-alive).
Prints requests per second, non-2xx answers and the ratio to gunicorn; record them in
docs/performance.md ("HTTP: WSGI vs ASGI").

The server and the load client share the machine, so compare ratios, not absolute figures. By
default the server runs pinned to CPU 0 and the client to CPU 1 (taskset): one worker on one core
is the unit a production node multiplies, and unpinned, on a busy machine, a server with more
threads (uvicorn, daphne: event loop + sync thread) simply gets more CPU time than a
single-threaded one. Every server is measured --rounds times, interleaved, and the median is
reported, so load from elsewhere falls on all of them alike.

On SQLite the database is a fresh file in a temporary directory; a PostgreSQL database named in
DATABASE_URL must start with xw_bench (it is created if missing and migrated, never dropped).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORKDIR = Path(tempfile.mkdtemp(prefix="xw-bench-http-"))
PATHS = ["/healthz", "/api/v1/me/"]


@dataclass
class Result:
    server: str
    path: str
    requests_per_second: float
    non_2xx: int
    errors: int


def _env(args) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XUEWEN_", "GUNICORN_"))}
    env.update(
        XUEWEN_ENV="development", DEBUG="off", ALLOWED_HOSTS="127.0.0.1,localhost",
        XUEWEN_DATA_DIR=str(WORKDIR), LOG_LEVEL=args.log_level, DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "platform")]),
        # The load is one user hammering one endpoint: the default throttles would answer 429.
        # Per second, not per minute: DRF keeps one timestamp per request of the window in the
        # cache, so a minute-long window of a benchmark's load would measure that list's growth.
        THROTTLE_ANON="1000000/second", THROTTLE_USER="1000000/second",
    )
    env.setdefault("DATABASE_URL", f"sqlite:///{WORKDIR / 'bench.sqlite3'}")
    return env


def _prepare_database(env: dict[str, str]) -> str:
    """Migrates and creates one user with an API token; returns the token."""
    url = env["DATABASE_URL"]
    if url.startswith("postgres"):
        name = url.rsplit("/", 1)[1].split("?")[0]
        if not name.startswith("xw_bench"):
            sys.exit(f"Refusing to use database {name!r}: use a name starting with xw_bench")
        import psycopg

        admin_url = url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    print("migrating ...", flush=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
                   cwd=ROOT, env=env, check=True)
    code = (
        "from knox.models import AuthToken\n"
        "from accounts.models import User\n"
        "user, _ = User.objects.get_or_create(username='bench-user', defaults={'display_name': 'bench'})\n"
        "print(AuthToken.objects.create(user)[1])\n"
    )
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                         check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_command(name: str, port: int) -> tuple[list[str], dict[str, str]]:
    if name == "gunicorn":
        return ([str(BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py")],
                {"GUNICORN_WORKERS": "1", "GUNICORN_BIND": f"127.0.0.1:{port}"})
    if name == "uvicorn":
        return ([str(BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1",
                 "--port", str(port), "--workers", "1", "--no-access-log", "--lifespan", "off"], {})
    if name == "daphne":
        return ([str(BIN / "daphne"), "-e", f"tcp:port={port}:interface=127.0.0.1:backlog=4096",
                 "--access-log", "/dev/null", "config.asgi:application"], {})
    raise ValueError(name)


def _wait_until_serving(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"server did not start:\n{log.read_text()[-3000:]}")


def _load_wrk(port: int, path: str, headers: dict, seconds: float, connections: int) -> tuple:
    duration = f"{max(1, round(seconds))}s"  # wrk takes whole seconds
    command = ["wrk", "-t", "1", "-c", str(connections), "-d", duration, "--timeout", "10s"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    out = subprocess.run([*command, f"http://127.0.0.1:{port}{path}"], capture_output=True,
                         text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non_2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return rps, non_2xx, errors


def _load_python(port: int, path: str, headers: dict, seconds: float, connections: int) -> tuple:
    counts = {"ok": 0, "non_2xx": 0, "errors": 0}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        conn = None
        ok = non_2xx = errors = 0
        while time.monotonic() < stop:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if 200 <= response.status < 300:
                    ok += 1
                else:
                    non_2xx += 1
                if response.will_close:
                    conn.close()
                    conn = None
            except OSError:
                errors += 1
                conn = None
        with lock:
            counts["ok"] += ok
            counts["non_2xx"] += non_2xx
            counts["errors"] += errors

    threads = [threading.Thread(target=client) for _ in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return (counts["ok"] + counts["non_2xx"]) / elapsed, counts["non_2xx"], counts["errors"]


def measure(name: str, env: dict, token: str, args) -> list[Result]:
    port = _free_port()
    command, extra_env = _server_command(name, port)
    if args.pin:
        # One core for the server (one worker: the unit a production node multiplies), the other
        # for the load client, so a server with more threads gets no more CPU than one without.
        command = ["taskset", "-c", "0", *command]
    log = WORKDIR / f"{name}.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(command, cwd=ROOT, env={**env, **extra_env}, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    load = _load_wrk if args.client == "wrk" else _load_python
    if args.pin:
        os.sched_setaffinity(0, {1})  # this process and the load client it starts
    results = []
    try:
        _wait_until_serving(port, process, log)
        for path in PATHS:
            headers = {"Authorization": f"Token {token}"} if path.startswith("/api/") else {}
            load(port, path, headers, args.warmup, args.connections)
            rps, non_2xx, errors = load(port, path, headers, args.duration, args.connections)
            results.append(Result(name, path, rps, non_2xx, errors))
            print(f"  {name:9} {path:14} {rps:9.0f} req/s  non-2xx {non_2xx}  errors {errors}",
                  flush=True)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return results


def _versions() -> str:
    import importlib.metadata as md

    parts = []
    for package in ("gunicorn", "uvicorn", "daphne", "django"):
        parts.append(f"{package} {md.version(package)}")
    extras = [p for p in ("uvloop", "httptools") if _installed(p)]
    parts.append("uvicorn extras: " + (", ".join(extras) if extras else "none (asyncio loop, h11)"))
    return "; ".join(parts)


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per measurement")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load first")
    parser.add_argument("--connections", type=int, default=8, help="concurrent client connections")
    parser.add_argument("--client", choices=["wrk", "python"],
                        default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--servers", default="gunicorn,uvicorn,daphne")
    parser.add_argument("--rounds", type=int, default=3,
                        help="measure every server this many times, interleaved; report the median")
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="do not pin the server to CPU 0 and the load client to CPU 1")
    parser.add_argument("--log-level", default="WARNING",
                        help="LOG_LEVEL of the servers (INFO adds a log line per request)")
    args = parser.parse_args()
    # Stopped with SIGTERM, still stop the server being measured (the finally blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    args.pin = args.pin and (os.cpu_count() or 1) >= 2 and bool(shutil.which("taskset"))

    env = _env(args)
    token = _prepare_database(env)
    print(f"client {args.client}, {args.connections} connections, {args.duration:g} s per run, "
          f"{args.rounds} rounds, {os.cpu_count()} CPUs"
          f"{' (server pinned to CPU 0, client to CPU 1)' if args.pin else ''}; {_versions()}", flush=True)
    print(f"database {env['DATABASE_URL'].split('@')[-1]}", flush=True)

    runs: list[Result] = []
    try:
        for round_number in range(1, args.rounds + 1):
            print(f"round {round_number}/{args.rounds}", flush=True)
            for name in args.servers.split(","):
                runs += measure(name.strip(), env, token, args)
    finally:
        shutil.rmtree(WORKDIR, ignore_errors=True)

    # Rounds are interleaved so that load from outside (other processes) hits every server
    # alike; the median of each server and view is reported.
    results = []
    for key in dict.fromkeys((r.server, r.path) for r in runs):
        same = sorted((r for r in runs if (r.server, r.path) == key), key=lambda r: r.requests_per_second)
        median = same[len(same) // 2]
        results.append(Result(*key, median.requests_per_second, sum(r.non_2xx for r in same),
                              sum(r.errors for r in same)))

    baseline = {r.path: r.requests_per_second for r in results if r.server == "gunicorn"}
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    print("\n| server (1 worker) | view | req/s (median) | vs gunicorn sync | non-2xx | errors |")
    print("|---|---|---:|---:|---:|---:|")
    for r in results:
        ratio = r.requests_per_second / baseline[r.path] if baseline.get(r.path) else float("nan")
        print(f"| {r.server} | `{r.path}` | {r.requests_per_second:,.0f} | {ratio:.2f}x | "
              f"{r.non_2xx} | {r.errors} |")
    for path, gunicorn_rps in baseline.items():
        for r in results:
            if r.path == path and r.server != "gunicorn" and r.requests_per_second:
                print(f"{path}: gunicorn sync serves {gunicorn_rps / r.requests_per_second:.1f}x "
                      f"the requests of {r.server}")


if __name__ == "__main__":
    main()
