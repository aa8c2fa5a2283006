"""Two server processes sharing Redis (issue item 10): every frame published through one reaches
the viewers of both, once each and in order, and a kick sent through one closes the user's
connection on the other.

The servers are uvicorn subprocesses on free ports running config.asgi (the real stack: origin
check, single-use ticket, hub) with the transport's stand-in room handler. They use the test's
database (PostgreSQL: the test database itself; SQLite: a file copy of the in-memory test
database, made after the users are committed) and the test's Redis key prefix, so the tickets
issued here are the ones they redeem. Runs only with REDIS_URL (CI's second pass).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from accounts.tickets import ws_ticket_issue
from live.hub import CLOSE_BANNED
from tests import factories

pytestmark = [
    pytest.mark.skipif(not settings.REDIS_URL, reason="two processes need Redis (REDIS_URL)"),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60
FRAMES = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url(tmp_path: Path) -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        copy = tmp_path / "live.sqlite3"
        connection.ensure_connection()
        with sqlite3.connect(copy) as target:
            connection.connection.backup(target)
        return f"sqlite:///{copy}"
    assert connection.vendor == "postgresql", connection.vendor
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Servers:
    def __init__(self, tmp_path: Path, count: int = 2):
        self.ports = [_free_port() for _ in range(count)]
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
        env.update(
            XUEWEN_ENV="test", DATABASE_URL=_database_url(tmp_path), REDIS_URL=settings.REDIS_URL,
            CACHE_KEY_PREFIX=settings.CACHE_KEY_PREFIX,  # already carries the worker's suffix
            LIVE_ROOM_HANDLER="live.hub_bench.get_bench_handler",
            WEBSOCKET_ALLOWED_ORIGINS="localhost", LOG_LEVEL="WARNING",
            PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "platform")]),
        )
        self.logs = [tmp_path / f"server-{port}.log" for port in self.ports]
        self.processes = []
        for port, log in zip(self.ports, self.logs, strict=True):
            with open(log, "wb") as stream:
                self.processes.append(subprocess.Popen(
                    [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
                     "--port", str(port), "--ws", "websockets-sansio", "--lifespan", "off",
                     "--log-level", "warning"],
                    cwd=ROOT, env=env, stdout=stream, stderr=subprocess.STDOUT))

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        for process, port, log in zip(self.processes, self.ports, self.logs, strict=True):
            while True:
                assert process.poll() is None, log.read_text()[-3000:]
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                        break
                except OSError:
                    assert time.monotonic() < deadline, f"server on {port} did not start"
                    time.sleep(0.2)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture
def servers(tmp_path, db):
    holder = {}

    def start() -> Servers:
        holder["servers"] = Servers(tmp_path)
        holder["servers"].wait_ready()
        return holder["servers"]

    yield start
    if "servers" in holder:
        holder["servers"].stop()


async def _open(port: int, user, lecture: int = 1):
    from websockets.asyncio.client import connect

    ticket, _ = await sync_to_async(ws_ticket_issue)(user_id=user.pk)
    ws = await connect(f"ws://127.0.0.1:{port}/ws/live/{lecture}/?ticket={ticket}",
                       origin="http://localhost", open_timeout=20)
    snapshot = json.loads(await asyncio.wait_for(ws.recv(), 20))
    assert snapshot["type"] == "snapshot", snapshot
    return ws


async def _room_frames(ws, count: int) -> list[dict]:
    frames = []
    while len(frames) < count:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 20))
        if frame["type"] == "bench.frame":
            frames.append(frame)
    return frames


async def test_frames_published_through_one_process_reach_viewers_of_both_once_and_in_order(servers):
    from websockets.exceptions import ConnectionClosed

    users = await sync_to_async(lambda: [factories.UserFactory() for _ in range(5)])()
    lecturer = await sync_to_async(factories.UserFactory)(is_staff=True)
    running = await sync_to_async(servers)()  # after the users exist (the SQLite copy)
    first, second = running.ports

    publisher = await _open(first, lecturer)
    ports = [first, second, first, second]
    viewers = [await _open(port, user) for port, user in zip(ports, users[:4], strict=True)]
    banned = await _open(second, users[4])
    try:
        for n in range(FRAMES):
            await publisher.send(json.dumps({"type": "bench.publish", "n": n}))
        for viewer in viewers:
            frames = await _room_frames(viewer, FRAMES)
            assert [frame["n"] for frame in frames] == list(range(FRAMES))
            assert [frame["seq"] for frame in frames] == list(range(1, FRAMES + 1))
        # Nothing more (no duplicate): a marker frame is the very next room frame everywhere.
        await publisher.send(json.dumps({"type": "bench.publish", "n": "end"}))
        for viewer in viewers:
            assert (await _room_frames(viewer, 1))[0]["n"] == "end"

        # A kick through the first process closes the user's socket on the second.
        await publisher.send(json.dumps({"type": "bench.kick", "user_id": users[4].pk}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(banned.recv(), 20)
        assert closed.value.rcvd.code == CLOSE_BANNED
    finally:
        for ws in [publisher, *viewers, banned]:
            await ws.close()
