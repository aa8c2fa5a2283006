"""gunicorn settings for Xuewen's HTTP (config.wsgi), read by xuewen-web.service:

    gunicorn -c deploy/gunicorn.conf.py config.wsgi

Sync workers: Django's views are synchronous, and nginx buffers slow clients, so a worker is
busy only while Django works. One sync worker served 1,461 req/s of a Django JSON view where one
uvicorn worker served 295 (tests/bench/bench_http_servers.py). Every value can be overridden
from the environment (GUNICORN_*, listed in deploy/env.example).
"""

import multiprocessing
import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


# The project's two source roots (the repository and platform/), as dev.py sets them.
pythonpath = f"{_ROOT},{_ROOT / 'platform'}"
wsgi_app = "config.wsgi:application"

bind = [os.environ.get("GUNICORN_BIND") or "127.0.0.1:8000"]
backlog = _int("GUNICORN_BACKLOG", 2048)
worker_class = "sync"
# Each worker is one request at a time and one PostgreSQL connection (CONN_MAX_AGE keeps it):
# workers x nodes must stay below PostgreSQL's max_connections, or go through pgbouncer.
workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 2
# Recycle workers now and then so a slow leak in any library cannot grow without bound.
max_requests = _int("GUNICORN_MAX_REQUESTS", 5000)
max_requests_jitter = max_requests // 10
# Django logs one JSON line per request (common.middleware) and nginx another; a third
# access log here would only repeat them.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL") or "info"
# nginx on the same host sets X-Forwarded-For / -Proto; trust them from it only.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"
proc_name = "xuewen-web"
