"""The room's door (live.room.RoomHandler.on_connect) and its snapshot, through config.asgi."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from live.hub import CLOSE_BANNED, CLOSE_FORBIDDEN, CLOSE_NO_TICKET, CLOSE_NOT_FOUND, CLOSE_NOT_OPEN
from tests.live.room_support import (
    ORIGIN,
    connect,
    joined,
    make_room,
    room_db,
    room_env,  # noqa: F401 - fixture
)

pytestmark = [room_db, pytest.mark.usefixtures("room_env")]


async def test_a_viewer_enters_and_gets_a_snapshot():
    room = await make_room()
    client = await joined(room.viewers[0], room.lecture.pk)
    snapshot = client.received[0]
    assert snapshot["lecture"] == {
        "id": room.lecture.pk, "title": "一次函数", "state": "live",
        "went_live_at": room.lecture.went_live_at.isoformat(), "play_url": "https://live.example/hls/1.m3u8"}
    assert snapshot["you"]["role"] == "viewer"
    assert snapshot["you"]["user_id"] == room.viewers[0].pk
    assert snapshot["chat"] == [] and snapshot["questions"] == [] and snapshot["quiz"] is None
    assert snapshot["slow_mode"] == 0 and isinstance(snapshot["seq"], int)
    assert "rtmp://" not in str(snapshot)
    await client.leave()


async def test_staff_roles():
    room = await make_room()
    for who, role in [("lecturer", "lecturer"), ("assistant", "assistant"), ("admin", "admin")]:
        client = await joined(getattr(room, who), room.lecture.pk)
        assert client.received[0]["you"]["role"] == role
        await client.leave()


async def test_the_display_name_never_the_real_name():
    room = await make_room()
    viewer = room.viewers[0]
    client = await joined(viewer, room.lecture.pk)
    assert client.received[0]["you"]["name"] == viewer.display_name
    real_name = await sync_to_async(lambda: viewer.student_profile.real_name)()
    assert real_name not in str(client.received[0])
    await client.leave()


async def test_someone_who_may_not_see_the_lecture_is_refused():
    room = await make_room()
    client = await connect(room.outsider, room.lecture.pk)
    assert client.close_code == CLOSE_FORBIDDEN


async def test_no_such_lecture():
    room = await make_room()
    client = await connect(room.viewers[0], room.lecture.pk + 1000)
    assert client.close_code == CLOSE_NOT_FOUND


async def test_a_lecture_that_is_not_open_has_no_room():
    from courses.models import Lecture

    room = await make_room()
    for state in ["draft", "ended", "replay", "cancelled"]:
        await sync_to_async(Lecture.objects.filter(pk=room.lecture.pk).update)(state=state)
        client = await connect(room.lecturer, room.lecture.pk)
        assert client.close_code == CLOSE_NOT_OPEN, state


async def test_a_scheduled_lecture_is_open():
    room = await make_room(state="scheduled")
    client = await joined(room.viewers[0], room.lecture.pk)
    assert client.received[0]["lecture"]["state"] == "scheduled"
    await client.leave()


async def test_without_a_ticket():
    from channels.testing import WebsocketCommunicator

    from config.asgi import application

    room = await make_room()
    communicator = WebsocketCommunicator(application, f"/ws/live/{room.lecture.pk}/?ticket=nope",
                                         headers=[ORIGIN])
    connected, _ = await communicator.connect()
    assert connected
    message = await communicator.receive_output(5)
    assert message == {"type": "websocket.close", "code": CLOSE_NO_TICKET, "reason": message.get("reason")}


async def test_a_banned_viewer_is_refused_on_connect():
    from live.models import RoomBan

    room = await make_room()
    await sync_to_async(RoomBan.objects.create)(lecture=room.lecture, user=room.viewers[0],
                                                banned_by=room.lecturer)
    client = await connect(room.viewers[0], room.lecture.pk)
    assert client.close_code == CLOSE_BANNED


async def test_unknown_and_malformed_frames_are_answered_with_errors():
    room = await make_room()
    client = await joined(room.viewers[0], room.lecture.pk)
    assert (await client.request("nonsense"))["code"] == "unknown_type"
    for fields in ({}, {"text": 5}, {"text": ["x"]}, {"text": "a\x00b"}):
        answer = await client.request("chat.send", **fields)
        assert answer["type"] == "error" and answer["code"] in ("bad_request", "empty"), (fields, answer)
    for value in (None, "1", 1.5, True, -1, 0, 2**64):
        answer = await client.request("question.upvote", question_id=value)
        assert answer["code"] == "bad_request", (value, answer)
    await client.leave()


async def test_reactions_are_aggregated_and_limited_per_second():
    room = await make_room()
    client = await joined(room.viewers[0], room.lecture.pk)
    answers = [await client.request("react", reaction="like") for _ in range(11)]
    assert [a["type"] for a in answers].count("ack") >= 10
    assert (await client.request("react", reaction="<script>"))["code"] == "bad_request"
    reactions = await client.wait_type("reactions")
    assert reactions["counts"]["like"] >= 1
    assert sum(f.get("type") == "reactions" for f in client.received) < 10
    await client.leave()


async def test_the_periodic_task_writes_chat_without_being_asked(settings):
    from live.models import ChatMessage

    settings.LIVE_CHAT_FLUSH_SECONDS = 0.05
    room = await make_room()
    client = await joined(room.viewers[0], room.lecture.pk)
    await client.request("chat.send", text="自动写入")
    for _ in range(100):
        if await sync_to_async(ChatMessage.objects.filter(text="自动写入").exists)():
            break
        await asyncio.sleep(0.05)
    assert await sync_to_async(ChatMessage.objects.filter(text="自动写入").count)() == 1
    await client.leave()


async def test_a_full_chat_buffer_is_written_at_once(settings):
    from live.models import ChatMessage
    from live.protocol import drain_background

    settings.LIVE_CHAT_FLUSH_SIZE = 2
    room = await make_room()
    client = await joined(room.lecturer, room.lecture.pk)
    await client.request("chat.send", text="一")
    await client.request("chat.send", text="二")
    await drain_background()
    assert await sync_to_async(ChatMessage.objects.count)() == 2
    await client.leave()


async def test_an_emptied_store_is_refilled_from_the_database():
    """A restarted single-process server: chat numbering continues, saved chat and questions
    are in the snapshot, deleted messages stay out."""
    from live.models import ChatMessage, Question
    from live.room import reset_room_handler
    from live.state import reset_memory_store

    room = await make_room()
    now = timezone.now()
    await sync_to_async(ChatMessage.objects.bulk_create)([
        ChatMessage(lecture=room.lecture, number=n, author=room.viewers[0], text=f"旧{n}", offset_ms=n,
                    sent_at=now, deleted_at=now if n == 2 else None) for n in (1, 2, 3)])
    question = await sync_to_async(Question.objects.create)(
        lecture=room.lecture, author=room.viewers[0], text="旧问题", offset_ms=1, asked_at=now, votes=4)
    reset_memory_store()
    reset_room_handler()
    client = await joined(room.viewers[1], room.lecture.pk)
    snapshot = client.received[0]
    assert [m["id"] for m in snapshot["chat"]] == [1, 3]
    assert [(q["id"], q["votes"]) for q in snapshot["questions"]] == [(question.pk, 4)]
    assert (await client.request("chat.send", text="新"))["message_id"] == 4
    await client.leave()


async def test_a_scheduled_room_learns_that_it_went_live(settings):
    import datetime

    from courses.models import Lecture

    settings.LIVE_CHAT_FLUSH_SECONDS = 0.05
    room = await make_room(state="scheduled")
    client = await joined(room.lecturer, room.lecture.pk)
    went_live = timezone.now() - datetime.timedelta(seconds=90)
    lectures = Lecture.objects.filter(pk=room.lecture.pk)
    await sync_to_async(lectures.update)(state="live", went_live_at=went_live)
    from live.room import get_room_handler

    for _ in range(100):
        if get_room_handler().rooms[room.lecture.pk].state == "live":
            break
        await asyncio.sleep(0.05)
    await client.request("chat.send", text="开始了")
    assert (await client.wait_type("chat.message"))["offset"] >= 90
    await client.leave()
