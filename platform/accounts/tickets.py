"""Websocket tickets: short-lived, single-use credentials obtained over authenticated HTTP.

A browser cannot set headers on a websocket handshake, and a long-lived API token in a URL ends
up in proxy logs. So the client asks POST /api/v1/auth/ws-ticket/ for a ticket (valid for
WEBSOCKET_TICKET_TTL_SECONDS, default 30 s) and opens ``/ws/...?ticket=<ticket>``. The cache
(Redis in production, shared by every process) holds only a hash of the ticket; redeeming it
deletes it, and only the caller whose delete removed the key wins, so a ticket works once.
The entry also carries its own deadline, checked on redemption, so a ticket never outlives its
TTL even on a cache that evicts lazily or keeps a key a little longer.
"""

from __future__ import annotations

import hashlib
import pickle
import secrets
import time

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache

from common.redis import get_redis

_PREFIX = "wsticket:"
MAX_TICKET_LENGTH = 128


def _now() -> float:
    return time.time()


def ws_ticket_key(ticket: str) -> str:
    """The cache key of a ticket: a SHA-256 of it, never the ticket itself."""
    return _PREFIX + hashlib.sha256(ticket.encode("utf-8", "surrogatepass")).hexdigest()


def ws_ticket_issue(*, user_id: int) -> tuple[str, int]:
    """Returns (ticket, seconds it stays valid). The ticket is shown once, to the caller."""
    ticket = secrets.token_urlsafe(32)
    ttl = settings.WEBSOCKET_TICKET_TTL_SECONDS
    cache.set(ws_ticket_key(ticket), (int(user_id), _now() + ttl), timeout=ttl)
    return ticket, ttl


async def ws_ticket_redeem(*, ticket: str) -> int | None:
    """The user id the ticket was issued to, or None if unknown, expired or already used."""
    if not isinstance(ticket, str) or not ticket or len(ticket) > MAX_TICKET_LENGTH:
        return None
    key = ws_ticket_key(ticket)
    if isinstance(cache, RedisCache) and (client := get_redis()) is not None:
        # One native GETDEL: atomic, and no thread hop (Django's async cache API runs the sync
        # client in a thread) — what a connect storm of 13,000 viewers pays per handshake.
        raw = await client.getdel(cache.make_and_validate_key(key))
        entry = _cache_value(raw) if raw is not None else None
        if entry is None:
            return None
    else:
        entry = await cache.aget(key)
        if entry is None:
            return None
        if not await cache.adelete(key):
            return None  # another connection redeemed it between our get and delete
    try:
        user_id, expires_at = entry
    except (TypeError, ValueError):
        return None
    if _now() >= expires_at:
        return None
    return int(user_id)


def _cache_value(raw: bytes):
    """A value as Django's RedisCache stores it: plain integers as they are, the rest pickled
    (by this application: the cache is ours)."""
    try:
        return int(raw)
    except ValueError:
        return pickle.loads(raw)  # noqa: S301
