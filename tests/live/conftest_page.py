"""An ASGI live server for browser tests that open websockets.

pytest-django's ``live_server`` is WSGI only, and Channels' ChannelsLiveServerTestCase runs Daphne
in a forked process, which cannot see the in-memory SQLite test database and does not share the
test process's cache (websocket tickets) or memory hub. So uvicorn serves the project's ASGI
application (``config.asgi.application``: HTTP and websockets) from a thread of the test
process, on its own event loop (the live hub is per loop), on a socket bound to a free port
before the thread starts, so the URL is known and nothing races for a port.

On the in-memory SQLite test database every thread of the server uses the test's own connection
(the way Django's LiveServerThread shares it): the database exists only inside that connection's
shared cache, and separate connections to it fail with "table is locked" under concurrent writes.
On PostgreSQL each thread opens its own connection; the fixture closes every connection opened
during the test when it ends, so the test database can be dropped at the end of the session.

Use with ``pytest.mark.django_db(transaction=True)``: the server's threads see committed rows only.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import types
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connections
from django.db.backends.signals import connection_created

START_TIMEOUT_SECONDS = 20


@contextmanager
def closing_new_connections():
    """Closes, on exit, every database connection opened meanwhile by any thread: the server's
    sync threads (asgiref's executors, the live room's writers), and the test's own thread too,
    because while Playwright's event loop runs in that thread Django keeps its connection in a
    context-local slot that nothing else closes. A closed connection reopens when next used."""
    opened: list = []

    def remember(sender, connection, **kwargs):
        opened.append(connection)

    connection_created.connect(remember, weak=False)
    try:
        yield
    finally:
        connection_created.disconnect(remember)
        for connection in opened:
            if connection.connection is None or connection.vendor == "sqlite":
                continue  # closed already; an in-memory SQLite database must stay open
            connection.inc_thread_sharing()
            try:
                connection.close()
            finally:
                connection.dec_thread_sharing()


@contextmanager
def shared_in_memory_sqlite():
    """While active, every thread gets the calling thread's connection to an in-memory SQLite
    database (no-op on other databases)."""
    shared = {alias: connections[alias] for alias in connections
              if connections[alias].vendor == "sqlite" and connections[alias].is_in_memory_db()}
    if not shared:
        yield
        return
    original = connections._connections
    for connection in shared.values():
        connection.inc_thread_sharing()
    connections._connections = types.SimpleNamespace(**shared)
    try:
        yield
    finally:
        connections._connections = original
        for connection in shared.values():
            connection.dec_thread_sharing()


class AsgiLiveServer:
    """uvicorn serving ``app`` on 127.0.0.1 from a daemon thread; ``url`` is its base URL."""

    def __init__(self, app, *, port: int = 0):
        self.app = app
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", port))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.error: BaseException | None = None
        self.server = None
        self.thread = None

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # noqa: BLE001 - reported to the test by start()/stop()
            self.error = error

    async def _serve(self) -> None:
        from asgiref.sync import sync_to_async

        try:
            await self.server.serve(sockets=[self.socket])
        finally:
            # Connections a long-lived sync thread of this loop kept open (PostgreSQL).
            await sync_to_async(connections.close_all)()

    def start(self) -> AsgiLiveServer:
        import uvicorn

        config = uvicorn.Config(self.app, lifespan="off", ws="websockets-sansio", http="h11", loop="asyncio",
                                log_level="warning", access_log=False, timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name=f"asgi-live-server-{self.port}", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the ASGI live server did not start: {self.error!r}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
            self.thread.join(timeout=15)
        self.socket.close()

    def restart(self) -> AsgiLiveServer:
        """Stops the server (its websockets close, its loop and hub go) and serves again on the
        same port from a new thread and loop: what a client sees when a server process restarts."""
        self.stop()
        fresh = AsgiLiveServer(self.app, port=self.port)
        self.socket, self.error = fresh.socket, None
        return self.start()


@pytest.fixture
def asgi_live_server(transactional_db):
    """The project's ASGI application served over real HTTP and websockets for this test."""
    from config.asgi import application

    # The browser's Origin is http://127.0.0.1:<port>: the websocket origin check allows
    # ALLOWED_HOSTS, which lists 127.0.0.1 outside production.
    assert "127.0.0.1" in (settings.WEBSOCKET_ALLOWED_ORIGINS or settings.ALLOWED_HOSTS)
    from live.room import reset_room_handler
    from live.state import reset_memory_store

    # The room handler and the memory store are per process: what an earlier test's lecture 1
    # left there (an end mark, a finished room) must not meet this test's lecture 1.
    reset_memory_store()
    reset_room_handler()
    with closing_new_connections(), shared_in_memory_sqlite():
        server = AsgiLiveServer(application).start()
        try:
            yield server
        finally:
            server.stop()
            reset_room_handler()
            reset_memory_store()
