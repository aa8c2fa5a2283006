"""Chat and its moderation (live.chat), each rule tested from the side that is refused."""

import pytest
from asgiref.sync import sync_to_async

from live.hub import CLOSE_BANNED
from live.models import ChatMessage, RoomBan
from live.room import get_room_handler
from live.state import get_store
from tests.live.room_support import (
    connect,
    joined,
    make_room,
    room_db,
    room_env,  # noqa: F401 - fixture
)

pytestmark = [room_db, pytest.mark.usefixtures("room_env")]


async def test_a_message_reaches_everyone_in_a_batch_with_the_senders_display_name():
    room = await make_room()
    alice = await joined(room.viewers[0], room.lecture.pk)
    bob = await joined(room.viewers[1], room.lecture.pk)
    ack = await alice.request("chat.send", text="  老师好  ")
    assert ack["type"] == "ack" and ack["message_id"] == 1
    for client in (alice, bob):
        message = await client.wait_type("chat.message", id=1)
        assert message["text"] == "老师好"
        assert message["user"] == {"id": room.viewers[0].pk, "name": room.viewers[0].display_name}
        assert message["offset"] > 0
    assert any(f["type"] == "batch" for f in bob.received)
    # and a newcomer finds it in the snapshot
    carol = await joined(room.lecturer, room.lecture.pk)
    assert [m["text"] for m in carol.received[0]["chat"]] == ["老师好"]
    for client in (alice, bob, carol):
        await client.leave()


async def test_chat_is_written_in_one_batch_not_per_message(django_assert_max_num_queries):
    room = await make_room()
    client = await joined(room.viewers[0], room.lecture.pk)
    await client.request("chat.slow_mode", seconds=0)  # refused (viewer), writes nothing either
    lecturer = await joined(room.lecturer, room.lecture.pk)
    for i in range(12):
        assert (await lecturer.request("chat.send", text=f"第{i}条"))["type"] == "ack"
    assert await sync_to_async(ChatMessage.objects.count)() == 0
    await get_room_handler().chat_buffer.flush(get_store())
    rows = await sync_to_async(list)(ChatMessage.objects.order_by("number").values_list("number", "text"))
    assert rows == [(i + 1, f"第{i}条") for i in range(12)]
    await client.leave()
    await lecturer.leave()


async def test_too_long_and_empty_messages_are_refused():
    room = await make_room()
    client = await joined(room.viewers[0], room.lecture.pk)
    assert (await client.request("chat.send", text="字" * 501))["code"] == "too_long"
    assert (await client.request("chat.send", text="   "))["code"] == "empty"
    assert (await client.request("chat.send", text="字" * 500))["type"] == "ack"
    await client.leave()


async def test_the_rate_limit_lets_three_through_then_refuses():
    room = await make_room()
    client = await joined(room.viewers[0], room.lecture.pk)
    answers = [await client.request("chat.send", text=f"m{i}") for i in range(4)]
    assert [a["type"] for a in answers] == ["ack", "ack", "ack", "error"]
    assert answers[3]["code"] == "rate_limited" and 0 < answers[3]["retry_after"] <= 2
    await client.leave()


async def test_slow_mode_set_by_a_moderator_and_refused_to_a_viewer():
    room = await make_room()
    viewer = await joined(room.viewers[0], room.lecture.pk)
    assistant = await joined(room.assistant, room.lecture.pk)
    assert (await viewer.request("chat.slow_mode", seconds=30))["code"] == "forbidden"
    assert (await assistant.request("chat.slow_mode", seconds=30))["type"] == "ack"
    await viewer.wait_type("chat.slow_mode", seconds=30)
    assert (await viewer.request("chat.send", text="一"))["type"] == "ack"
    refused = await viewer.request("chat.send", text="二")
    assert refused["code"] == "slow_mode" and 0 < refused["retry_after"] <= 30
    # staff are not slowed down
    assert (await assistant.request("chat.send", text="a"))["type"] == "ack"
    assert (await assistant.request("chat.send", text="b"))["type"] == "ack"
    assert (await assistant.request("chat.slow_mode", seconds=601))["code"] == "bad_request"
    late = await joined(room.viewers[1], room.lecture.pk)
    assert late.received[0]["slow_mode"] == 30
    for client in (viewer, assistant, late):
        await client.leave()


async def test_the_word_filter_masks_and_blocks(settings):
    room = await make_room()
    client = await joined(room.viewers[0], room.lecture.pk)
    assert (await client.request("chat.send", text="加微信领答案"))["code"] == "blocked"
    await client.request("chat.send", text="你个傻逼")
    message = await client.wait_type("chat.message")
    assert message["text"] == "你个**"
    await client.leave()


def shouting_filter(text):
    return None if "禁" in text else text.upper()


async def test_the_word_filter_is_a_setting(settings):
    settings.LIVE_WORD_FILTER = "tests.live.test_chat.shouting_filter"
    room = await make_room()
    client = await joined(room.viewers[0], room.lecture.pk)
    assert (await client.request("chat.send", text="禁止"))["code"] == "blocked"
    await client.request("chat.send", text="hello")
    assert (await client.wait_type("chat.message"))["text"] == "HELLO"
    await client.leave()


async def test_a_viewer_cannot_delete_a_message_a_moderator_can():
    room = await make_room()
    alice = await joined(room.viewers[0], room.lecture.pk)
    bob = await joined(room.viewers[1], room.lecture.pk)
    assistant = await joined(room.assistant, room.lecture.pk)
    number = (await alice.request("chat.send", text="广告"))["message_id"]
    await get_room_handler().chat_buffer.flush(get_store())  # one written already...
    second = (await alice.request("chat.send", text="广告2"))["message_id"]  # ...one still buffered

    assert (await bob.request("chat.delete", message_id=number))["code"] == "forbidden"
    assert (await alice.request("chat.delete", message_id=number))["code"] == "forbidden"
    assert (await assistant.request("chat.delete", message_id=number))["type"] == "ack"
    assert (await assistant.request("chat.delete", message_id=second))["type"] == "ack"
    assert (await assistant.request("chat.delete", message_id=999))["code"] == "not_found"
    await bob.wait_type("chat.deleted", id=number)
    await bob.wait_type("chat.deleted", id=second)
    await get_room_handler().chat_buffer.flush(get_store())
    deleted = await sync_to_async(list)(ChatMessage.objects.filter(deleted_at__isnull=False)
                                        .values_list("number", "deleted_by"))
    assert sorted(deleted) == sorted([(number, room.assistant.pk), (second, None)])
    newcomer = await joined(room.lecturer, room.lecture.pk)
    assert newcomer.received[0]["chat"] == []
    for client in (alice, bob, assistant, newcomer):
        await client.leave()


async def test_a_muted_viewer_cannot_chat_or_ask_and_a_viewer_cannot_mute():
    room = await make_room()
    alice = await joined(room.viewers[0], room.lecture.pk)
    bob = await joined(room.viewers[1], room.lecture.pk)
    lecturer = await joined(room.lecturer, room.lecture.pk)
    assert (await bob.request("user.mute", user_id=room.viewers[0].pk, minutes=5))["code"] == "forbidden"
    assert (await lecturer.request("user.mute", user_id=room.viewers[0].pk, minutes=5))["type"] == "ack"
    await lecturer.wait_type("user.muted", user_id=room.viewers[0].pk)
    refused = await alice.request("chat.send", text="我还能说话吗")
    assert refused["code"] == "muted" and refused["until"]
    assert (await alice.request("question.ask", text="老师?"))["code"] == "muted"
    assert (await bob.request("chat.send", text="我可以"))["type"] == "ack"
    # the muted user's snapshot says so
    again = await joined(room.viewers[0], room.lecture.pk)
    assert again.received[0]["you"]["muted_until"] is not None
    # staff cannot be muted; nobody unknown either
    assert (await lecturer.request("user.mute", user_id=room.assistant.pk, minutes=5))["code"] == "forbidden"
    assert (await lecturer.request("user.mute", user_id=987654, minutes=5))["code"] == "not_found"
    zero = await lecturer.request("user.mute", user_id=room.viewers[1].pk, minutes=0)
    assert zero["code"] == "bad_request"
    assert (await lecturer.request("user.unmute", user_id=room.viewers[0].pk))["type"] == "ack"
    assert (await alice.request("chat.send", text="谢谢"))["type"] == "ack"
    # viewers never see who was muted
    assert not any(f.get("type") == "user.muted" for f in bob.received)
    for client in (alice, bob, lecturer, again):
        await client.leave()


async def test_a_ban_kicks_the_viewer_and_refuses_the_reconnect():
    room = await make_room()
    alice = await joined(room.viewers[0], room.lecture.pk)
    bob = await joined(room.viewers[1], room.lecture.pk)
    admin = await joined(room.admin, room.lecture.pk)
    assert (await bob.request("user.ban", user_id=room.viewers[0].pk))["code"] == "forbidden"
    assert (await admin.request("user.ban", user_id=room.lecturer.pk))["code"] == "forbidden"
    ack = await admin.request("user.ban", user_id=room.viewers[0].pk, reason="刷屏")
    assert ack["type"] == "ack"
    assert await alice.closed() == CLOSE_BANNED
    again = await connect(room.viewers[0], room.lecture.pk)
    assert again.close_code == CLOSE_BANNED
    ban = await sync_to_async(RoomBan.objects.get)(pk=ack["ban_id"])
    assert (ban.user_id, ban.banned_by_id, ban.reason) == (room.viewers[0].pk, room.admin.pk, "刷屏")
    for client in (bob, admin):
        await client.leave()
