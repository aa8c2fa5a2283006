"""An asyncio Redis client for code that runs on an event loop (websocket handshakes, live
rooms): one per event loop, None without REDIS_URL.

redis.asyncio connections belong to the loop that opened them, and every pytest-asyncio test
runs its own loop, so the client is cached per running loop (a server process has one loop, so
one client). Django's own cache API answers async calls through a thread hop; this client
does not.

The client's pool is bounded (settings.REDIS_ASYNC_MAX_CONNECTIONS, default 32): a caller waits
for a free connection (up to REDIS_ASYNC_POOL_TIMEOUT seconds) instead of opening another. An
unbounded pool opens one connection per concurrent command, so a connect storm of thousands of
websocket handshakes each redeeming a ticket opened thousands of Redis connections at once and hit
both the process's open-file limit and Redis's maxclients (measured: docs/performance.md).
"""

from __future__ import annotations

import asyncio
import weakref

from django.conf import settings

_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_redis():
    """The running loop's ``redis.asyncio.Redis`` client, or None when settings.REDIS_URL is empty.

    Call it from inside a coroutine (it needs the running loop)."""
    url = settings.REDIS_URL
    if not url:
        return None
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        import redis.asyncio as aioredis

        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=getattr(settings, "REDIS_ASYNC_MAX_CONNECTIONS", 32),
            timeout=getattr(settings, "REDIS_ASYNC_POOL_TIMEOUT", 5),
            health_check_interval=30,
        )
        client = aioredis.Redis(connection_pool=pool)
        _clients[loop] = client
    return client


async def close_redis() -> None:
    """Closes the running loop's client (tests: before their loop ends)."""
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose(close_connection_pool=True)
