"""Websocket tickets: short-lived, single-use credentials obtained over authenticated HTTP.

A browser cannot set headers on a websocket handshake, and a long-lived API token in a URL ends
up in proxy logs. So the client asks POST /api/v1/auth/ws-ticket/ for a ticket (valid for
WEBSOCKET_TICKET_TTL_SECONDS, default 30 s) and opens ``/ws/...?ticket=<ticket>``. The cache
(Redis in production, shared by every process) holds only a hash of the ticket; redeeming it
deletes it, and only the caller whose delete removed the key wins, so a ticket works once.
The entry also carries its own deadline, checked on redemption, so a ticket never outlives its
TTL even on a cache that evicts lazily or keeps a key a little longer.

A ticket may also carry the user's identity as it was when the ticket was issued (``claims``:
username, is_staff, is_superuser). The websocket gateway then builds a ``TicketUser`` from them
and opens the connection without a database query: a connect storm of 13,000 viewers costs one
Redis GETDEL each. Issuing requires an authenticated, active user who has no password change
pending (the API's permissions), so a claim is at most WEBSOCKET_TICKET_TTL_SECONDS old; code
that needs more (a live room's role) loads the user itself.
"""

from __future__ import annotations

import hashlib
import pickle
import secrets
import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

from common.redis import get_redis

_PREFIX = "wsticket:"
MAX_TICKET_LENGTH = 128


def _now() -> float:
    return time.time()


def ws_ticket_key(ticket: str) -> str:
    """The cache key of a ticket: a SHA-256 of it, never the ticket itself."""
    return _PREFIX + hashlib.sha256(ticket.encode("utf-8", "surrogatepass")).hexdigest()


def ticket_claims(user) -> dict:
    """What a ticket remembers of its user (see the module's docstring)."""
    return {"username": user.get_username(), "is_staff": bool(user.is_staff),
            "is_superuser": bool(user.is_superuser)}


def ticket_entry(user_id: int, expires_at: float, claims: dict | None = None) -> tuple:
    """The cached value of a ticket (the benchmark writes tickets in bulk with it)."""
    if claims is None:
        return (int(user_id), expires_at)
    return (int(user_id), expires_at, claims)


def ws_ticket_issue(*, user_id: int, claims: dict | None = None) -> tuple[str, int]:
    """Returns (ticket, seconds it stays valid). The ticket is shown once, to the caller.
    ``claims`` (``ticket_claims(user)``) let the websocket gateway skip the user query."""
    ticket = secrets.token_urlsafe(32)
    ttl = settings.WEBSOCKET_TICKET_TTL_SECONDS
    cache.set(ws_ticket_key(ticket), ticket_entry(user_id, _now() + ttl, claims), timeout=ttl)
    return ticket, ttl


async def ws_ticket_redeem(*, ticket: str) -> int | None:
    """The user id the ticket was issued to, or None if unknown, expired or already used."""
    redeemed = await ws_ticket_redeem_claims(ticket=ticket)
    return None if redeemed is None else redeemed[0]


async def ws_ticket_redeem_claims(*, ticket: str) -> tuple[int, dict | None] | None:
    """(user id, claims or None) of the ticket, or None if unknown, expired or already used.
    Redeeming uses the ticket up."""
    if not isinstance(ticket, str) or not ticket or len(ticket) > MAX_TICKET_LENGTH:
        return None
    key = ws_ticket_key(ticket)
    backend = caches["default"]  # the backend itself: ``cache`` is a proxy, never a RedisCache
    if isinstance(backend, RedisCache) and (client := get_redis()) is not None:
        # One native GETDEL: atomic, and no thread hop (Django's async cache API runs the sync
        # client in a thread) — what a connect storm of 13,000 viewers pays per handshake.
        raw = await client.getdel(backend.make_and_validate_key(key))
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
        user_id, expires_at, *rest = entry
        claims = rest[0] if rest else None
        if claims is not None and not isinstance(claims, dict):
            return None
        if _now() >= expires_at:
            return None
        return int(user_id), claims
    except (TypeError, ValueError):
        return None


def _cache_value(raw: bytes):
    """A value as Django's RedisCache stores it: plain integers as they are, the rest pickled
    (by this application: the cache is ours)."""
    try:
        return int(raw)
    except ValueError:
        return pickle.loads(raw)  # noqa: S301
