"""The websocket front door: one ASGI layer in front of every websocket route.

In one layer, per connection: a request id (kept from nginx's X-Request-ID, set in
``request_id_var`` and ``scope["request_id"]``, one log line when the connection ends), the
Origin check (Channels' OriginValidator rules; a handshake without an Origin is refused), and the
single-use ticket that puts the user in ``scope["user"]``. It used to be three nested
middlewares; each kept its own suspended coroutine, closures and copy of the scope for the
whole life of a connection, which at 13,000 idle viewers was a measurable part of the memory
per connection (docs/performance.md). Here a connection costs one scope copy and one
``_Session`` with slots.

``scope["user"]`` is a ``TicketUser`` built from the ticket's claims, without a database query
(accounts/tickets.py says why that is safe), the full ``User`` for a ticket without claims,
else ``AnonymousUser``; routes decide what an anonymous connection gets.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs, urlparse

from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator
from django.contrib.auth.models import AnonymousUser
from redis.exceptions import RedisError

from accounts.tickets import ws_ticket_redeem_claims
from common.request_id import new_request_id, request_id_var

logger = logging.getLogger("xuewen.request")


class TicketUser:
    """The user a websocket ticket was issued to, as the ticket remembers them (no query).

    Has what routes check at connect (pk, username, is_staff, is_superuser, is_authenticated);
    ``await aload()`` gives the full ``User``, or None if it no longer exists or is inactive."""

    __slots__ = ("pk", "username", "is_staff", "is_superuser")
    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, pk: int, *, username: str = "", is_staff: bool = False, is_superuser: bool = False):
        self.pk = pk
        self.username = username
        self.is_staff = is_staff
        self.is_superuser = is_superuser

    @property
    def id(self) -> int:
        return self.pk

    def get_username(self) -> str:
        return self.username

    async def aload(self):
        return await database_sync_to_async(_active_user)(self.pk)

    def __eq__(self, other) -> bool:
        return getattr(other, "is_authenticated", False) and getattr(other, "pk", None) == self.pk

    def __hash__(self) -> int:
        return hash(self.pk)

    def __repr__(self) -> str:
        return f"<TicketUser {self.pk}>"


def _active_user(user_id: int):
    from accounts.models import User

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or user.must_change_password:
        return None
    return user


async def user_for_ticket(ticket: str):
    """Redeems the ticket: a ``TicketUser`` (claims), the full ``User`` (a ticket without
    claims: one query), or ``AnonymousUser``."""
    redeemed = await ws_ticket_redeem_claims(ticket=ticket)
    if redeemed is None:
        return AnonymousUser()
    user_id, claims = redeemed
    if claims is not None:
        return TicketUser(
            user_id,
            username=str(claims.get("username", "")),
            is_staff=bool(claims.get("is_staff")),
            is_superuser=bool(claims.get("is_superuser")),
        )
    user = await database_sync_to_async(_active_user)(user_id)
    return user if user is not None else AnonymousUser()


class _Session:
    """One connection's bookkeeping: wraps receive/send to see accept and the close code."""

    __slots__ = ("_receive", "_send", "accepted", "close_code")

    def __init__(self, receive, send):
        self._receive = receive
        self._send = send
        self.accepted = False
        self.close_code = None

    async def receive(self):
        message = await self._receive()
        if self.close_code is None and message["type"] == "websocket.disconnect":
            self.close_code = message.get("code", 1005)
        return message

    async def send(self, message):
        kind = message["type"]
        if kind == "websocket.accept":
            self.accepted = True
        elif kind == "websocket.close" and self.close_code is None:
            self.close_code = message.get("code", 1000)
        return await self._send(message)


class WebsocketGateway:
    """ASGI middleware for the websocket protocol: request id, origin check, ticket → user."""

    def __init__(self, app, allowed_origins: list[str]):
        self.app = app
        self._origins = OriginValidator(None, list(allowed_origins))

    def _origin_allowed(self, origin: str | None) -> bool:
        try:
            return self._origins.valid_origin(None if origin is None else urlparse(origin))
        except ValueError:  # "http://[::1", "http://host:port": unparsable, so not allowed
            return False

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("WebsocketGateway serves websockets only")
        incoming = origin = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id" and incoming is None:
                incoming = value.decode("latin-1")
            elif name == b"origin" and origin is None:
                origin = value.decode("latin-1")
        request_id = new_request_id(incoming)
        token = request_id_var.set(request_id)
        session = _Session(receive, send)
        started = time.perf_counter()
        try:
            if not self._origin_allowed(origin):
                await _deny(session)
                return None
            ticket = (parse_qs(scope.get("query_string", b"").decode("latin-1")).get("ticket") or [""])[0]
            try:
                user = await user_for_ticket(ticket)
            except (RedisError, OSError, TimeoutError):
                # The ticket store is unreachable (or its pool exhausted): the client retries.
                logger.exception("websocket: the ticket could not be redeemed")
                await _unavailable(session)
                return None
            scope = dict(scope, request_id=request_id, user=user)
            return await self.app(scope, session.receive, session.send)
        except Exception:
            if session.close_code is None:
                session.close_code = 1011  # what the server does with an app that raised
            raise
        finally:
            path = scope.get("path", "")
            logger.info(
                "WEBSOCKET %s %s",
                path,
                session.close_code,
                extra={
                    "method": "WEBSOCKET",
                    "path": path,
                    "status": session.close_code,
                    "accepted": session.accepted,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "request_id": request_id,
                },
            )
            request_id_var.reset(token)




async def _unavailable(session: _Session) -> None:
    """Accepts and closes with 1011 ("try again"): a refusal a client can tell from a bad ticket."""
    message = await session.receive()
    if message["type"] == "websocket.connect":
        await session.send({"type": "websocket.accept"})
        await session.send({"type": "websocket.close", "code": 1011, "reason": "try again"})


async def _deny(session: _Session) -> None:
    """Refuses the handshake (HTTP 403), as Channels' WebsocketDenier does."""
    message = await session.receive()
    if message["type"] == "websocket.connect":
        await session.send({"type": "websocket.close"})
