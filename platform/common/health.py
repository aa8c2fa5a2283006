"""Liveness (/healthz) and readiness (/readyz) probes for the load balancer.

/healthz answers as long as the process serves requests; a failing /healthz means "restart me".
/readyz asks every dependency this configuration uses (database; Redis, the Celery broker and a
Redis channel layer when configured) and answers 503 naming the ones that failed, so the balancer
stops sending traffic without restarting anything. The checks run in parallel, each on its own
thread, and the whole probe is bounded by READINESS_TIMEOUT_SECONDS: a dependency that hangs
(a firewalled PostgreSQL, a Redis that accepts but never answers) shows as "timeout" instead of
holding a gunicorn worker until the balancer gives up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

OK, ERROR, TIMEOUT = "ok", "error", "timeout"


def _timeout() -> float:
    return float(getattr(settings, "READINESS_TIMEOUT_SECONDS", 2.0))


@never_cache
@require_GET
def healthz(request):
    """The process is up and serving; checks nothing else."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    # Runs on its own thread, so it opens (and must close) that thread's own connection.
    conn = connections["default"]
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        conn.close()


def _ping_redis(url: str) -> None:
    import redis

    timeout = _timeout()
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


def _check_redis() -> None:
    _ping_redis(settings.REDIS_URL)


def _check_broker() -> None:
    from config.celery import app

    with app.connection_for_write(connect_timeout=_timeout()) as conn:
        conn.ensure_connection(max_retries=0)


def _channel_layer_hosts() -> list[str]:
    """Redis addresses of the default channel layer; empty for the in-process layer."""
    config = settings.CHANNEL_LAYERS.get("default", {}).get("CONFIG", {})
    hosts = []
    for host in config.get("hosts", []):
        if isinstance(host, str):
            hosts.append(host)
        elif isinstance(host, dict) and "address" in host:
            hosts.append(host["address"])
        elif isinstance(host, (tuple, list)) and len(host) == 2:
            hosts.append(f"redis://{host[0]}:{host[1]}/0")
    return hosts


def _check_channel_layer() -> None:
    # Pinging the layer's own Redis (it may differ from REDIS_URL) rather than sending through
    # the layer: a probe every few seconds must not leave subscriptions or channels behind.
    for url in _channel_layer_hosts():
        _ping_redis(url)


def readiness_checks_configured() -> dict[str, Callable[[], None]]:
    """The checks that apply to this configuration, by the name /readyz reports."""
    checks: dict[str, Callable[[], None]] = {"database": _check_database}
    if settings.REDIS_URL:
        checks["redis"] = _check_redis
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        checks["broker"] = _check_broker
    if _channel_layer_hosts():
        checks["channel_layer"] = _check_channel_layer
    return checks


def readiness_checks(timeout: float | None = None) -> dict[str, str]:
    """Runs every configured check in parallel; ``ok``, ``error`` or ``timeout`` for each.

    Never raises and returns within ``timeout`` seconds (READINESS_TIMEOUT_SECONDS) plus a
    little. A check still running at the deadline is left to finish on its daemon thread; the
    socket timeouts set on each client bound how long that takes."""
    timeout = _timeout() if timeout is None else timeout
    results: dict[str, str] = {}

    def run(name: str, check: Callable[[], None]) -> None:
        try:
            check()
            results[name] = OK
        except Exception as exc:  # a probe reports every failure, it never raises
            logger.warning("readiness check %s failed: %s", name, exc)
            results[name] = ERROR

    threads = {
        name: threading.Thread(target=run, args=(name, check), name=f"readyz-{name}", daemon=True)
        for name, check in readiness_checks_configured().items()
    }
    deadline = time.monotonic() + timeout
    for thread in threads.values():
        thread.start()
    for name, thread in threads.items():
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            logger.warning("readiness check %s did not answer within %.1f s", name, timeout)
    return {name: results.get(name, TIMEOUT) for name in threads}


@never_cache
@require_GET
def readyz(request):
    """Ready when every configured dependency answers; 503 names the ones that do not."""
    results = readiness_checks()
    failing = sorted(name for name, result in results.items() if result != OK)
    body = {"status": "unavailable" if failing else "ok", "checks": results}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)
