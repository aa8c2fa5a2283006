"""Questions to the lecturer (live.questions): ask, upvote once, pin, answer, snapshot order."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from live.models import Question
from live.room import get_room_handler
from tests.live.room_support import (
    joined,
    make_room,
    room_db,
    room_env,  # noqa: F401 - fixture
)

pytestmark = [room_db, pytest.mark.usefixtures("room_env")]


async def test_ask_broadcasts_and_persists_with_an_offset():
    room = await make_room()
    alice = await joined(room.viewers[0], room.lecture.pk)
    lecturer = await joined(room.lecturer, room.lecture.pk)
    ack = await alice.request("question.ask", text="斜率是什么?")
    new = await lecturer.wait_type("question.new")
    assert new["question"]["id"] == ack["question_id"]
    assert new["question"]["text"] == "斜率是什么?" and new["question"]["votes"] == 0
    assert new["question"]["user"]["name"] == room.viewers[0].display_name
    question = await sync_to_async(Question.objects.get)(pk=ack["question_id"])
    assert question.author_id == room.viewers[0].pk and question.offset_ms > 0
    assert not any(f.get("type") == "chat.message" for f in lecturer.received)  # a separate queue
    await alice.leave()
    await lecturer.leave()


async def test_ask_limits():
    room = await make_room()
    alice = await joined(room.viewers[0], room.lecture.pk)
    assert (await alice.request("question.ask", text="问" * 501))["code"] == "too_long"
    assert (await alice.request("question.ask", text="一"))["type"] == "ack"
    assert (await alice.request("question.ask", text="二"))["type"] == "ack"
    assert (await alice.request("question.ask", text="三"))["code"] == "rate_limited"
    await alice.leave()


async def test_one_upvote_per_user_and_coalesced_vote_frames():
    room = await make_room(viewers=4)
    clients = [await joined(v, room.lecture.pk) for v in room.viewers]
    question_id = (await clients[0].request("question.ask", text="为什么?"))["question_id"]
    for client in clients:
        assert (await client.request("question.upvote", question_id=question_id))["type"] == "ack"
    refused = await clients[1].request("question.upvote", question_id=question_id)
    assert refused["code"] == "already_voted"
    assert (await clients[1].request("question.upvote", question_id=987654))["code"] == "not_found"
    watcher = clients[3]
    votes = await watcher.wait_for(lambda f: f.get("type") == "question.votes" and f["votes"] == 4)
    assert votes["id"] == question_id
    await asyncio.sleep(0.2)
    # four votes, fewer frames than votes (at most one per question per interval)
    frames = [f for f in watcher.received if f.get("type") == "question.votes"]
    assert 1 <= len(frames) < 4
    # saved in a batch, not per vote
    assert (await sync_to_async(Question.objects.get)(pk=question_id)).votes == 0
    await get_room_handler().flush()
    assert (await sync_to_async(Question.objects.get)(pk=question_id)).votes == 4
    for client in clients:
        await client.leave()


async def test_a_viewer_cannot_pin_or_answer_the_lecturer_can():
    room = await make_room()
    alice = await joined(room.viewers[0], room.lecture.pk)
    admin = await joined(room.admin, room.lecture.pk)
    lecturer = await joined(room.lecturer, room.lecture.pk)
    question_id = (await alice.request("question.ask", text="考试考吗?"))["question_id"]
    assert (await alice.request("question.pin", question_id=question_id, pinned=True))["code"] == "forbidden"
    assert (await alice.request("question.answer", question_id=question_id))["code"] == "forbidden"
    assert (await admin.request("question.pin", question_id=question_id, pinned=True))["code"] == "forbidden"
    not_bool = await lecturer.request("question.pin", question_id=question_id, pinned="yes")
    assert not_bool["code"] == "bad_request"
    assert (await lecturer.request("question.pin", question_id=question_id, pinned=True))["type"] == "ack"
    await alice.wait_type("question.pinned", id=question_id, pinned=True)
    assert (await lecturer.request("question.answer", question_id=question_id))["type"] == "ack"
    await alice.wait_type("question.answered", id=question_id)
    question = await sync_to_async(Question.objects.get)(pk=question_id)
    assert question.pinned and question.answered_at is not None
    for client in (alice, admin, lecturer):
        await client.leave()


async def test_the_snapshot_lists_pinned_first_then_by_votes():
    room = await make_room(viewers=3)
    clients = [await joined(v, room.lecture.pk) for v in room.viewers]
    lecturer = await joined(room.lecturer, room.lecture.pk)
    ids = [(await c.request("question.ask", text=f"问题{i}"))["question_id"] for i, c in enumerate(clients)]
    for client in clients:
        await client.request("question.upvote", question_id=ids[2])
    await clients[0].request("question.upvote", question_id=ids[1])
    await lecturer.request("question.pin", question_id=ids[0], pinned=True)
    newcomer = await joined(room.assistant, room.lecture.pk)
    listed = newcomer.received[0]["questions"]
    assert [q["id"] for q in listed] == [ids[0], ids[2], ids[1]]
    assert [q["votes"] for q in listed] == [0, 3, 1]
    assert listed[0]["pinned"] is True
    for client in [*clients, lecturer, newcomer]:
        await client.leave()
