"""The live endpoint's transport (live/asgi_app.py): refusals, incoming frame limits,
backpressure (4008 for a client that never reads), and the real stack (origin check, ticket)."""

import asyncio
import json
from unittest.mock import ANY

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from accounts.tickets import ws_ticket_issue
from live.asgi_app import _last_seq
from live.hub import (
    CLOSE_FORBIDDEN,
    CLOSE_NO_TICKET,
    CLOSE_NOT_JSON,
    CLOSE_TOO_LARGE,
    CLOSE_TOO_SLOW,
    MAX_INCOMING_BYTES,
    Refuse,
    get_hub,
    room_key,
)
from tests import factories
from tests.live.conftest import fake_user

ROOM = room_key(1)


async def test_a_connection_without_a_user_is_closed_with_4401(live_socket):
    anonymous = type("Anonymous", (), {"is_authenticated": False, "pk": None})()
    socket = await live_socket(anonymous)
    assert (await socket.next_message())["type"] == "websocket.accept"
    assert await socket.closed_with() == CLOSE_NO_TICKET


class _RefusingHandler:
    async def on_connect(self, conn):
        raise Refuse(CLOSE_FORBIDDEN, "not enrolled")


_refusing = _RefusingHandler()


def refusing_handler():
    return _refusing


async def test_the_room_handler_refuses_with_its_code(live_socket, settings):
    settings.LIVE_ROOM_HANDLER = "tests.live.test_transport.refusing_handler"
    socket = await live_socket(fake_user(1))
    assert await socket.closed_with() == CLOSE_FORBIDDEN
    await asyncio.wait_for(socket.task, 5)
    assert get_hub().local_viewers(ROOM) == 0


async def test_a_viewer_gets_a_snapshot_then_room_frames_and_answers_to_its_own(live_socket):
    viewer = await live_socket(fake_user(1))
    lecturer = await live_socket(fake_user(2, is_staff=True))
    assert (await viewer.frame())["type"] == "snapshot"
    assert (await lecturer.frame())["role"] == "lecturer"
    await lecturer.send_json({"type": "bench.publish", "n": 1, "id": "c1"})
    # The ack is direct; the room frame comes through the hub (over Redis: a round trip later).
    answers = [await lecturer.frame(), await lecturer.frame()]
    assert {"type": "ack", "id": "c1"} in answers
    assert [frame["n"] for frame in answers if frame["type"] == "bench.frame"] == [1]
    assert (await viewer.frame())["n"] == 1
    # A viewer may not publish: the room handler says so, the connection stays.
    await viewer.send_json({"type": "bench.publish", "id": 5})
    assert (await viewer.frame())["code"] == "unknown_type"


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"no": "type"}', '{"type": 3}', "[" * 4000])
async def test_a_frame_that_is_not_a_json_object_with_a_type_closes_with_1003(live_socket, text):
    socket = await live_socket(fake_user(1))
    await socket.frame()
    await socket.send_text(text)
    assert await socket.closed_with() == CLOSE_NOT_JSON


async def test_a_frame_over_4_kb_closes_with_4009(live_socket):
    socket = await live_socket(fake_user(1))
    await socket.frame()
    await socket.send_json({"type": "ping", "pad": "x" * MAX_INCOMING_BYTES})
    assert await socket.closed_with() == CLOSE_TOO_LARGE
    # Exactly at the limit (counted in UTF-8 bytes) is fine.
    ok = await live_socket(fake_user(2))
    await ok.frame()
    frame = {"type": "ping", "id": 1, "pad": ""}
    frame["pad"] = "文" * ((MAX_INCOMING_BYTES - len(json.dumps(frame, ensure_ascii=False).encode())) // 3)
    await ok.send_text(json.dumps(frame, ensure_ascii=False))
    assert await ok.frame() == {"type": "pong", "id": 1}


async def test_a_client_that_never_reads_is_closed_with_4008_and_does_not_hold_up_the_room(
        live_socket, settings):
    settings.LIVE_OUTBOX_FRAMES = 20
    settings.LIVE_OUTBOX_BYTES = 64 * 1024
    stuck = await live_socket(fake_user(1), reading=False)
    reader = await live_socket(fake_user(2))
    await reader.frame()
    await asyncio.sleep(0.05)
    hub = get_hub()
    for n in range(200):
        await hub.publish(ROOM, {"type": "chat.message", "n": n})
        await asyncio.sleep(0)
    got = [(await reader.frame())["n"] for _ in range(200)]
    assert got == list(range(200))  # the reader got everything, in order
    assert await stuck.closed_with() == CLOSE_TOO_SLOW
    await asyncio.wait_for(stuck.task, 5)
    assert stuck.blocked_sends >= 1
    assert hub.local_viewers(ROOM) == 1


async def test_a_burst_that_fills_a_stuck_outbox_in_one_pass_still_sends_the_4008_close(
        live_socket, settings):
    """The writer task a blocked send leaves behind can be cancelled by the same pass that made
    it, before it ever ran (uvicorn hands over queued frames without yielding): the close frame
    must still go out, not wait for the keepalive timeout."""
    settings.LIVE_OUTBOX_FRAMES = 20
    settings.LIVE_OUTBOX_BYTES = 64 * 1024
    stuck = await live_socket(fake_user(1))
    await stuck.frame()  # the snapshot: the writer is idle, no task
    stuck.reading.clear()  # from now on every send blocks
    hub = get_hub()
    for n in range(100):  # no yield: the first send blocks and leaves a task, the 21st cancels it
        await hub.publish(ROOM, {"type": "chat.message", "n": n})
    assert await stuck.closed_with() == CLOSE_TOO_SLOW
    await asyncio.wait_for(stuck.task, 5)


def test_last_seq_is_a_non_negative_integer_or_ignored():
    def scope(query):
        return {"query_string": query.encode()}

    assert _last_seq(scope("last_seq=12&ticket=x")) == 12
    assert _last_seq(scope("last_seq=0")) == 0
    for bad in ("last_seq=-1", "last_seq=abc", "last_seq=1e3", "last_seq=" + "9" * 40, "", "last_seq=١٢"):
        assert _last_seq(scope(bad)) is None


# --- through config.asgi: origin check and ticket --------------------------------------------

ORIGIN = (b"origin", b"http://testserver")


@pytest.fixture
async def _close_thread_connections():
    yield
    await sync_to_async(connections.close_all)()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("bench_handler", "_close_thread_connections")
async def test_the_real_stack_admits_a_ticket_once_and_refuses_without_one():
    from config.asgi import application

    user = await sync_to_async(factories.UserFactory)()
    ticket, _ = await sync_to_async(ws_ticket_issue)(user_id=user.pk)

    communicator = WebsocketCommunicator(application, f"/ws/live/5/?ticket={ticket}", headers=[ORIGIN])
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "snapshot", "lecture": 5, "role": "viewer", "seq": 0, "epoch": ANY}
    await communicator.disconnect()

    reused = WebsocketCommunicator(application, f"/ws/live/5/?ticket={ticket}", headers=[ORIGIN])
    await reused.connect(timeout=5)
    assert (await reused.receive_output(timeout=5))["code"] == CLOSE_NO_TICKET
    await reused.wait(timeout=5)


async def test_a_client_that_pauses_below_the_limit_gets_every_frame_in_order(live_socket):
    paused = await live_socket(fake_user(1), reading=False)
    await asyncio.sleep(0.05)
    hub = get_hub()
    for n in range(30):
        await hub.publish(ROOM, {"type": "chat.message", "n": n})
    assert paused.blocked_sends >= 1  # its writer is waiting for the socket, in a task
    paused.reading.set()
    assert (await paused.frame())["type"] == "snapshot"
    assert [(await paused.frame())["n"] for _ in range(30)] == list(range(30))
    await hub.publish(ROOM, {"type": "chat.message", "n": 30})
    assert (await paused.frame())["n"] == 30
    assert paused.close_code is None
