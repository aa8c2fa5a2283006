"""The live rooms' Redis client: one per event loop, None without REDIS_URL.

redis.asyncio connections belong to the loop that opened them, and every pytest-asyncio test
runs its own loop, so the client is cached per running loop (a server process has one loop, so
one client). Keys go through ``live_key`` so parallel test workers (CACHE_KEY_PREFIX carries
the xdist worker id) and several deployments on one Redis never collide.
"""

from __future__ import annotations

from django.conf import settings

from common.redis import close_redis, get_redis

__all__ = ["close_redis", "get_redis", "live_key"]


def live_key(*parts) -> str:
    """A Redis key for the live rooms: ``<CACHE_KEY_PREFIX>:live:<part>:<part>...``."""
    return ":".join([settings.CACHE_KEY_PREFIX, "live", *(str(p) for p in parts)])
