"""Websocket tickets: short-lived, single-use credentials obtained over authenticated HTTP.

A browser cannot set headers on a websocket handshake, and a long-lived API token in a URL ends
up in proxy logs. So the client asks POST /api/v1/auth/ws-ticket/ for a ticket (valid for
WEBSOCKET_TICKET_TTL_SECONDS, default 30 s) and opens ``/ws/...?ticket=<ticket>``. The cache
(Redis in production, shared by every process) holds only a hash of the ticket; redeeming it
deletes it, and only the caller whose delete removed the key wins, so a ticket works once.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core.cache import cache

_PREFIX = "wsticket:"


def _key(ticket: str) -> str:
    return _PREFIX + hashlib.sha256(ticket.encode()).hexdigest()


def ws_ticket_issue(*, user_id: int) -> tuple[str, int]:
    """Returns (ticket, seconds it stays valid)."""
    ticket = secrets.token_urlsafe(32)
    ttl = settings.WEBSOCKET_TICKET_TTL_SECONDS
    cache.set(_key(ticket), user_id, timeout=ttl)
    return ticket, ttl


async def ws_ticket_redeem(*, ticket: str) -> int | None:
    """The user id the ticket was issued to, or None if unknown, expired or already used."""
    if not ticket or len(ticket) > 128:
        return None
    key = _key(ticket)
    user_id = await cache.aget(key)
    if user_id is None:
        return None
    if not await cache.adelete(key):
        return None  # another connection redeemed it between our get and delete
    return int(user_id)
