"""Fixtures for the live rooms' tests.

The hub is per event loop and every async test has its own loop, so each test gets a fresh hub,
closed at the end (its background tasks stopped), and the database connection the test opened on
asgiref's worker thread (``sync_to_async`` in the test itself) is closed too: that thread outlives
the test, and on PostgreSQL its open session would stop the test database from being dropped at
the end of the run. ``live_socket`` drives the endpoint through a raw ASGI harness (no database,
no server): the user is put in the scope the way the ticket middleware does, and the harness can
play a client that never reads.
"""

from __future__ import annotations

import asyncio
import json
import types

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from live.hub import reset_hub
from live.redis import close_redis

TIMEOUT = 5


@pytest.fixture(autouse=True)
async def _fresh_live_hub():
    await reset_hub()
    yield
    await reset_hub()
    await close_redis()
    await sync_to_async(connections.close_all)()


@pytest.fixture
def bench_handler(settings):
    """The transport's stand-in room handler (live/hub_bench.py) instead of ROOM's."""
    settings.LIVE_ROOM_HANDLER = "live.hub_bench.get_bench_handler"


def fake_user(pk: int, *, is_staff: bool = False):
    return types.SimpleNamespace(pk=pk, id=pk, is_authenticated=True, is_staff=is_staff,
                                 username=f"user{pk}")


class LiveSocket:
    """One client of ``live.asgi_app.live_room_app`` through ASGI messages.

    ``reading=False`` plays a client that never reads: every ``websocket.send`` blocks, as a
    real server's send does once the socket's buffer is full."""

    def __init__(self, user, lecture_id: int = 1, *, last_seq: int | None = None, reading: bool = True):
        from live.asgi_app import live_room_app

        query = f"last_seq={last_seq}" if last_seq is not None else ""
        self.scope = {
            "type": "websocket", "path": f"/ws/live/{lecture_id}/", "query_string": query.encode(),
            "headers": [], "user": user, "url_route": {"args": (), "kwargs": {"lecture_id": lecture_id}},
        }
        self._incoming: asyncio.Queue = asyncio.Queue()
        self._outgoing: asyncio.Queue = asyncio.Queue()
        self.reading = asyncio.Event()
        if reading:
            self.reading.set()
        self.close_code: int | None = None
        self.blocked_sends = 0
        self.task = asyncio.get_running_loop().create_task(
            live_room_app(self.scope, self._receive, self._send))
        self._incoming.put_nowait({"type": "websocket.connect"})

    async def _receive(self):
        return await self._incoming.get()

    async def _send(self, message):
        if message["type"] == "websocket.send" and not self.reading.is_set():
            self.blocked_sends += 1
            await self.reading.wait()
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
        await self._outgoing.put(message)

    async def next_message(self, timeout: float = TIMEOUT) -> dict:
        return await asyncio.wait_for(self._outgoing.get(), timeout)

    async def frame(self, timeout: float = TIMEOUT, *, skip=("presence",)) -> dict:
        """The next text frame, decoded (skips the accept and, by default, presence frames,
        which come on their own clock); AssertionError on a close."""
        while True:
            message = await self.next_message(timeout)
            if message["type"] == "websocket.accept":
                continue
            assert message["type"] == "websocket.send", message
            frame = json.loads(message["text"])
            if frame.get("type") not in skip:
                return frame

    async def frames_until(self, predicate, timeout: float = TIMEOUT) -> list[dict]:
        """Frames up to and including the first that satisfies ``predicate``."""
        seen = []
        while True:
            frame = await self.frame(timeout)
            seen.append(frame)
            if predicate(frame):
                return seen

    async def closed_with(self, timeout: float = TIMEOUT) -> int:
        """Reads until our close; returns its code."""
        while True:
            message = await self.next_message(timeout)
            if message["type"] == "websocket.close":
                return message.get("code", 1000)

    async def send_json(self, frame) -> None:
        await self._incoming.put({"type": "websocket.receive", "text": json.dumps(frame)})

    async def send_text(self, text: str) -> None:
        await self._incoming.put({"type": "websocket.receive", "text": text})

    async def disconnect(self, code: int = 1000) -> None:
        await self._incoming.put({"type": "websocket.disconnect", "code": code})
        self.reading.set()
        await asyncio.wait_for(self.task, TIMEOUT)

    async def stop(self) -> None:
        if not self.task.done():
            self.reading.set()
            await self._incoming.put({"type": "websocket.disconnect", "code": 1001})
            try:
                await asyncio.wait_for(self.task, TIMEOUT)
            except (TimeoutError, asyncio.CancelledError):
                self.task.cancel()


@pytest.fixture
async def live_socket(bench_handler):
    """live_socket(user, lecture_id=1, last_seq=None, reading=True) -> a connected LiveSocket."""
    opened: list[LiveSocket] = []

    async def open_socket(user, lecture_id: int = 1, **options) -> LiveSocket:
        socket = LiveSocket(user, lecture_id, **options)
        opened.append(socket)
        return socket

    yield open_socket
    for socket in opened:
        await socket.stop()


class HubClient:
    """A connection attached to a given hub directly (no ASGI app): for tests with two hubs
    in one process, standing in for two server processes."""

    def __init__(self, hub, user, lecture_id: int = 1, *, last_seq: int | None = None):
        from live.hub import Connection
        from live.hub_bench import get_bench_handler

        self.hub = hub
        self.handler = get_bench_handler()
        self.messages: asyncio.Queue = asyncio.Queue()
        self.conn = Connection(user=user, lecture_id=lecture_id, last_seq=last_seq, asgi_send=self._send)

    async def _send(self, message):
        await self.messages.put(message)

    async def start(self) -> HubClient:
        await self.handler.on_connect(self.conn)
        await self.hub.join(self.conn, self.handler)
        self.conn.start_writing()
        return self

    async def frame(self, timeout: float = TIMEOUT) -> dict:
        message = await asyncio.wait_for(self.messages.get(), timeout)
        assert message["type"] == "websocket.send", message
        return json.loads(message["text"])

    async def closed_with(self, timeout: float = TIMEOUT) -> int:
        while True:
            message = await asyncio.wait_for(self.messages.get(), timeout)
            if message["type"] == "websocket.close":
                return message["code"]

    async def stop(self) -> None:
        self.conn.client_went_away(1000)
        self.hub.leave(self.conn)
        await asyncio.wait_for(self.conn.finish(), TIMEOUT)


@pytest.fixture(params=["memory", "redis"])
async def make_hub(request, settings):
    """make_hub() -> a new hub of the parametrised backend, closed after the test. Two hubs
    of the Redis backend stand for two processes; the memory backend is one process only."""
    from live.hub import MemoryHub, RedisHub
    from live.redis import get_redis

    if request.param == "redis" and not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set")
    hubs = []

    def make():
        hub = MemoryHub() if request.param == "memory" else RedisHub(get_redis())
        hubs.append(hub)
        return hub

    make.backend = request.param
    yield make
    for hub in hubs:
        await hub.aclose()
