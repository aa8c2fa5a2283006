"""Websocket tickets (accounts.tickets): issued over HTTP, single use, short-lived, hashed at
rest. (The ASGI handshake that redeems them is tested with the websocket consumers.)"""

import asyncio

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from accounts import tickets
from accounts.tickets import ws_ticket_issue, ws_ticket_key, ws_ticket_redeem
from tests.factories import UserFactory

TICKET_URL = "/api/v1/auth/ws-ticket/"


def _cache_items() -> dict:
    """Every (key, value) in this test's cache, whatever the backend."""
    if settings.REDIS_URL:
        client = cache._cache.get_client(write=False)
        prefix = f"{settings.CACHE_KEY_PREFIX}:"
        return {k.decode(): client.get(k) for k in client.scan_iter(match=f"{prefix}*")}
    return dict(cache._cache.items())


# --- the API ------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_signed_in_user_gets_a_ticket(client_for):
    user = UserFactory()
    response = client_for(user).post(TICKET_URL)
    assert response.status_code == 201
    body = response.json()
    assert body["expires_in"] == settings.WEBSOCKET_TICKET_TTL_SECONDS
    assert asyncio.run(ws_ticket_redeem(ticket=body["ticket"])) == user.pk


@pytest.mark.django_db
def test_anonymous_gets_no_ticket():
    response = APIClient().post(TICKET_URL)
    assert response.status_code == 401
    assert _cache_items() == {}


@pytest.mark.django_db
def test_a_user_who_must_change_password_gets_no_ticket(client_for):
    response = client_for(UserFactory(must_change_password=True)).post(TICKET_URL)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "password_change_required"


@pytest.mark.django_db
def test_tickets_differ_each_time(client_for):
    client = client_for(UserFactory())
    first, second = (client.post(TICKET_URL).json()["ticket"] for _ in range(2))
    assert first != second and len(first) >= 40


# --- the tickets themselves --------------------------------------------------------------------

async def test_a_ticket_works_once():
    ticket, _ = ws_ticket_issue(user_id=7)
    assert await ws_ticket_redeem(ticket=ticket) == 7
    assert await ws_ticket_redeem(ticket=ticket) is None


async def test_two_simultaneous_redemptions_let_only_one_in():
    ticket, _ = ws_ticket_issue(user_id=8)
    results = await asyncio.gather(*(ws_ticket_redeem(ticket=ticket) for _ in range(5)))
    assert sorted(results, key=lambda r: r is None) == [8, None, None, None, None]


async def test_an_expired_ticket_is_refused(monkeypatch):
    ticket, ttl = ws_ticket_issue(user_id=9)
    issued = tickets._now()
    monkeypatch.setattr(tickets, "_now", lambda: issued + ttl + 1)
    assert await ws_ticket_redeem(ticket=ticket) is None


async def test_a_ticket_is_valid_until_its_deadline(monkeypatch):
    ticket, ttl = ws_ticket_issue(user_id=10)
    issued = tickets._now()
    monkeypatch.setattr(tickets, "_now", lambda: issued + ttl - 2)
    assert await ws_ticket_redeem(ticket=ticket) == 10


@override_settings(WEBSOCKET_TICKET_TTL_SECONDS=5)
def test_the_cache_forgets_a_ticket_after_its_ttl():
    ticket, ttl = ws_ticket_issue(user_id=11)
    assert ttl == 5
    if settings.REDIS_URL:
        client = cache._cache.get_client(write=False)
        remaining = client.ttl(cache.make_and_validate_key(ws_ticket_key(ticket)))
    else:
        remaining = cache._expire_info[cache.make_and_validate_key(ws_ticket_key(ticket))] - tickets._now()
    assert 0 < remaining <= 5


def test_only_a_hash_of_the_ticket_is_stored():
    ticket, _ = ws_ticket_issue(user_id=12)
    items = _cache_items()
    assert len(items) == 1
    (key, value), = items.items()
    assert ticket not in key
    assert ticket.encode() not in (value if isinstance(value, bytes) else repr(value).encode())
    assert key.endswith(ws_ticket_key(ticket))
    # Whoever reads the cache cannot turn the key back into a ticket that works.
    stored_hash = key.rsplit("wsticket:", 1)[1]
    assert asyncio.run(ws_ticket_redeem(ticket=stored_hash)) is None
    assert asyncio.run(ws_ticket_redeem(ticket=ticket)) == 12


@pytest.mark.parametrize("bad", ["", "x" * 129, "not-a-ticket", "ticket\x00", "\udcff"])
async def test_unknown_or_malformed_tickets_are_refused(bad):
    assert await ws_ticket_redeem(ticket=bad) is None


@pytest.mark.skipif(not settings.REDIS_URL, reason="the native path needs Redis")
async def test_with_redis_a_ticket_is_redeemed_by_one_native_getdel_without_a_thread_hop(monkeypatch):
    """A connect storm redeems thousands of tickets a second: Django's async cache API would run
    each through a thread (and a second connection pool); the native client does not."""
    from common.redis import close_redis

    claims = {"username": "u13", "is_staff": False, "is_superuser": False}
    ticket, _ = ws_ticket_issue(user_id=13, claims=claims)

    async def no_thread_hop(*args, **kwargs):
        raise AssertionError("the ticket went through Django's async cache API")

    from django.core.cache import caches

    monkeypatch.setattr(type(caches["default"]), "aget", no_thread_hop)
    try:
        assert await tickets.ws_ticket_redeem_claims(ticket=ticket) == (
            13, {"username": "u13", "is_staff": False, "is_superuser": False})
        assert await ws_ticket_redeem(ticket=ticket) is None
    finally:
        await close_redis()
