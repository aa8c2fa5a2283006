"""The live room's websocket endpoint, ``/ws/live/<lecture_id>/``: a lean raw ASGI app.

It runs behind config.asgi's websocket stack (request id, origin check, single-use ticket), so
``scope["user"]`` is already set. It is not a Channels consumer and holds no channel layer:
a connection costs one Connection object, its bounded outbox and one reader task; fan-out goes
through the process's hub (live/hub.py). docs/live-transport.md has the measurements.

Per connection: accept, refuse (4401 without a user; the room handler's ``Refuse`` otherwise),
join the hub (resume from ``?last_seq=N&epoch=E`` or a snapshot), then two loops until either side
closes: this coroutine writes the outbox to the socket, a reader task hands each incoming frame
(a JSON object of at most 4 KB) to the room handler.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from types import SimpleNamespace
from urllib.parse import parse_qs

from django.conf import settings
from django.http import parse_cookie
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from live.hub import (
    CLOSE_INTERNAL,
    CLOSE_NO_TICKET,
    CLOSE_NOT_FOUND,
    CLOSE_NOT_JSON,
    CLOSE_TOO_LARGE,
    MAX_INCOMING_BYTES,
    Connection,
    Refuse,
    get_hub,
)

logger = logging.getLogger(__name__)

_MAX_SEQ = 2**53
_MAX_ID = 2**63  # database ids are signed 64-bit
_EPOCH = re.compile(r"[A-Za-z0-9_-]{1,64}")


class _Unavailable:
    """Stands in while no room handler is installed: every connection is refused (4404)."""

    async def on_connect(self, conn) -> None:
        raise Refuse(CLOSE_NOT_FOUND, "live rooms are not available")


def get_handler():
    """The room handler: settings.LIVE_ROOM_HANDLER (a dotted path to a factory; the benchmark
    and transport tests use live.hub_bench.get_bench_handler), else live.room's."""
    path = getattr(settings, "LIVE_ROOM_HANDLER", "")
    if path:
        return import_string(path)()
    try:
        from live.room import get_room_handler
    except ModuleNotFoundError as error:
        if error.name != "live.room":
            raise
        return _Unavailable()
    return get_room_handler()


def _last_seq(scope) -> int | None:
    """``?last_seq=N`` (a non-negative integer), else None: the client gets a snapshot."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    raw = (query.get("last_seq") or [""])[0]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 16:
        return None
    value = int(raw)
    return value if value < _MAX_SEQ else None


def _epoch(scope) -> str | None:
    """``?epoch=E`` (1-64 characters of ``[A-Za-z0-9_-]``, the token a snapshot carried), else
    None: without it a ``last_seq`` is not resumed (the client gets a snapshot)."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    raw = (query.get("epoch") or [""])[0]
    return raw if _EPOCH.fullmatch(raw) else None


def _language(scope) -> str:
    """The language of the page that opened the socket, chosen as LocaleMiddleware chooses it
    for a request (the language cookie, then Accept-Language, then LANGUAGE_CODE): the error
    frames this connection gets speak it."""
    headers = {}
    for name, value in scope.get("headers", ()):
        headers[name.decode("latin-1").lower()] = value.decode("latin-1")
    request = SimpleNamespace(COOKIES=parse_cookie(headers.get("cookie", "")),
                              META={"HTTP_ACCEPT_LANGUAGE": headers.get("accept-language", "")})
    return translation.get_language_from_request(request)


async def _refuse(send, code: int, reason: str) -> None:
    # Accepted first: a close before accept reaches a browser as a bare HTTP 403 without the code.
    await send({"type": "websocket.close", "code": code, "reason": reason[:120]})


async def live_room_app(scope, receive, send):
    """ASGI app for ``/ws/live/<int:lecture_id>/`` (route in config/routing.py)."""
    if scope["type"] != "websocket":
        raise ValueError("live_room_app serves websockets only")
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        await _refuse(send, CLOSE_NO_TICKET, "a valid ticket is required")
        return
    lecture_id = int(scope["url_route"]["kwargs"]["lecture_id"])
    if lecture_id >= _MAX_ID:  # no such row; SQLite would raise OverflowError on the number
        await _refuse(send, CLOSE_NOT_FOUND, "no such lecture")
        return
    conn = Connection(user=user, lecture_id=lecture_id, last_seq=_last_seq(scope), epoch=_epoch(scope),
                      asgi_send=send)
    handler = get_handler()
    try:
        await handler.on_connect(conn)
    except Refuse as refusal:
        await _refuse(send, refusal.code, refusal.reason)
        return
    except Exception:
        # A database or store failure at the door: the client retries (1011), never a bare
        # dropped connection.
        logger.exception("live: admitting a connection failed", extra={"room": conn.room})
        await _refuse(send, CLOSE_INTERNAL, "try again")
        return
    hub = get_hub()
    try:
        try:
            await hub.join(conn, handler)
        except Exception:
            logger.exception("live: joining the room failed", extra={"room": conn.room})
            await conn.close(CLOSE_INTERNAL, "try again")
        conn.start_writing()
        await _read_loop(conn, receive, handler, _language(scope))
    finally:
        hub.leave(conn)
        await conn.finish()
        try:
            await handler.on_disconnect(conn, conn.client_close_code or conn.close_code or 1006)
        except Exception:
            logger.exception("live: on_disconnect failed", extra={"room": conn.room})


async def _read_loop(conn: Connection, receive, handler, language: str) -> None:
    """Hands each incoming frame to the room handler until either side closes."""
    while not conn.closed:
        message = await conn.wait_receive(receive)
        if message is None:
            return
        kind = message["type"]
        if kind == "websocket.disconnect":
            conn.client_went_away(message.get("code", 1005))
            return
        if kind != "websocket.receive":
            continue
        text = message.get("text")
        raw = text.encode("utf-8", "surrogatepass") if text is not None else message.get("bytes") or b""
        if len(raw) > MAX_INCOMING_BYTES:
            await conn.close(CLOSE_TOO_LARGE, "frame too large")
            return
        try:
            frame = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            # RecursionError: "[[[[..." nested past the decoder's depth fits in 4 KB.
            frame = None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await conn.close(CLOSE_NOT_JSON, "frames are JSON objects with a type")
            return
        # The error frames and acks that answer this frame speak the user's language; frames
        # broadcast to the room carry no translated text.
        with translation.override(language):
            try:
                await handler.on_message(conn, frame)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("live: on_message failed", extra={"room": conn.room})
                await conn.send({"type": "error", "id": frame.get("id"), "code": "internal",
                                 "message": _("The server could not handle this message.")})
