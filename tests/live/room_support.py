"""Helpers for the room's tests: a lecture with its staff and viewers, and clients that connect
to ``/ws/live/<id>/`` through config.asgi.application (origin check, real single-use tickets).

The room reads the database on asgiref's worker thread, outside the test's transaction, so the
tests that connect are transactional (``room_db``)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
from types import SimpleNamespace

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.utils import timezone

from accounts.tickets import ws_ticket_issue
from tests import factories

ORIGIN = (b"origin", b"http://testserver")
TIMEOUT = 5
room_db = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def room_env(settings):
    """A clean room state for the test: empty memory store, a fresh handler, fast coalescing,
    no periodic flush (tests flush explicitly)."""
    from live.protocol import drain_background
    from live.room import get_room_handler, reset_room_handler
    from live.state import reset_memory_store

    settings.LIVE_COALESCE_SECONDS = 0.05
    settings.LIVE_COALESCE_MIN_SECONDS = 0.01
    settings.LIVE_PRESENCE_SECONDS = 0.05
    settings.LIVE_CHAT_FLUSH_SECONDS = 3600
    settings.LIVE_ATTENDANCE_FLUSH_SECONDS = 3600
    reset_memory_store()
    reset_room_handler()
    yield
    handler = get_room_handler()
    for task in handler._flushers.values():
        task.cancel()
    await drain_background()
    reset_room_handler()
    reset_memory_store()
    await sync_to_async(connections.close_all)()


def _course_and_lecture(w, *, state: str):
    from courses.models import Course, Lecture, LectureStaff

    course = Course.objects.create(title="函数的图像", owner=w.teacher_a, city=w.city,
                                   status=Course.Status.PUBLISHED, created_by=w.teacher_a.user)
    start = timezone.now() - datetime.timedelta(minutes=30)
    lecture = Lecture.objects.create(
        course=course, title="一次函数", starts_at=start, ends_at=start + datetime.timedelta(hours=2),
        state=state, went_live_at=start if state == Lecture.State.LIVE else None,
        stream_play_url="https://live.example/hls/1.m3u8", stream_push_url="rtmp://push.example/secret",
        created_by=w.teacher_a.user)
    LectureStaff.objects.create(lecture=lecture, teacher=w.teacher_a, role=LectureStaff.Role.LECTURER)
    LectureStaff.objects.create(lecture=lecture, teacher=w.teacher_b, role=LectureStaff.Role.ASSISTANT)
    return course, lecture


@sync_to_async
def make_room(*, state: str = "live", viewers: int = 2) -> SimpleNamespace:
    """A live lecture of a city-wide course: lecturer teacher_a, assistant teacher_b,
    ``viewers`` students of school_a, an administrator, and an outsider of another city."""
    w = factories.build_world()
    course, lecture = _course_and_lecture(w, state=state)
    students = [w.student_a] + [factories.StudentFactory(school=w.school_a) for _ in range(viewers - 1)]
    outsider = factories.StudentFactory(school=w.other_school)
    return SimpleNamespace(
        world=w, course=course, lecture=lecture, lecturer=w.teacher_a.user, assistant=w.teacher_b.user,
        admin=w.city_admin.user, viewers=[s.user for s in students], outsider=outsider.user,
    )


class Client:
    """One websocket client of the live room; remembers every frame it received."""

    def __init__(self, communicator: WebsocketCommunicator):
        self.communicator = communicator
        self.received: list[dict] = []
        self.close_code: int | None = None
        self._ids = 0
        self._unread: list[dict] = []  # frames and batch items not matched by a wait yet

    async def frame(self, timeout: float = TIMEOUT) -> dict:
        message = await self.communicator.receive_output(timeout)
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
            raise ConnectionError(f"closed with {self.close_code}")
        frame = json.loads(message["text"])
        self.received.append(frame)
        self._unread += [frame, *frame.get("items", [])]
        return frame

    async def wait_for(self, predicate, timeout: float = TIMEOUT) -> dict:
        """The first frame (or chat item inside a batch) matching ``predicate``, among those
        not matched by an earlier wait (a frame that arrived before an ack is not lost)."""
        async def find():
            while True:
                for index, item in enumerate(self._unread):
                    if predicate(item):
                        del self._unread[index]
                        return item
                await self.frame(timeout)

        return await asyncio.wait_for(find(), timeout)

    async def wait_type(self, kind: str, timeout: float = TIMEOUT, **fields) -> dict:
        return await self.wait_for(
            lambda f: f.get("type") == kind and all(f.get(k) == v for k, v in fields.items()), timeout)

    async def request(self, kind: str, **fields) -> dict:
        """Sends a frame with a fresh id and returns its ack or error."""
        self._ids += 1
        frame_id = f"r{self._ids}"
        await self.communicator.send_json_to({"type": kind, "id": frame_id, **fields})
        return await self.wait_for(lambda f: f.get("type") in ("ack", "error") and f.get("id") == frame_id)

    async def closed(self, timeout: float = TIMEOUT) -> int:
        while self.close_code is None:
            message = await self.communicator.receive_output(timeout)
            if message["type"] == "websocket.close":
                self.close_code = message.get("code", 1000)
            elif message["type"] == "websocket.send":
                self.received.append(json.loads(message["text"]))
        return self.close_code

    async def leave(self) -> None:
        await self.communicator.disconnect()


def ticket_for(user) -> str:
    ticket, _ = ws_ticket_issue(user_id=user.pk)
    return ticket


async def connect(user, lecture_id: int, *, last_seq: int | None = None) -> Client:
    """A client whose handshake went through; the first frame (snapshot, or the close of a
    refusal) is waiting in ``client.received`` / ``client.close_code``."""
    query = f"ticket={ticket_for(user)}" + (f"&last_seq={last_seq}" if last_seq is not None else "")
    communicator = WebsocketCommunicator(_application(), f"/ws/live/{lecture_id}/?{query}",
                                         headers=[ORIGIN])
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    client = Client(communicator)
    with contextlib.suppress(ConnectionError):
        await client.frame()
    return client


def _application():
    from config.asgi import application

    return application


async def joined(user, lecture_id: int) -> Client:
    client = await connect(user, lecture_id)
    assert client.close_code is None, client.close_code
    assert client.received[0]["type"] == "snapshot", client.received[0]
    return client
