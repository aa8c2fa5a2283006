"""Quizzes pushed to the room: one open at a time, answered once per viewer before the deadline
(the server's clock), graded on the server.

The correct option is kept in the shared store and the database only; no frame carries it
before ``quiz.closed``. While the quiz is open each answer is ONE atomic store step
(``store.answer_once``: refused if the close has begun, else recorded once per user and counted
for the live counts, sent to staff coalesced: at most one ``quiz.results`` per interval). The
answers are written in one bulk insert when the quiz closes, by whichever process closes it
first: the pusher's timer at the deadline, a ``quiz.close``, or any process that notices the
deadline has passed (an answer, a snapshot, the room's periodic tick). The close claims the
quiz's closing flag, then reads the answers: an answer recorded before the claim is in that
read, one after it is refused (``quiz_closed``), so no acknowledged answer is ever left out.
"""

from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async
from django.utils.translation import gettext as _

from live import services
from live.chat import KEY_TTL
from live.models import Quiz, QuizAnswer
from live.protocol import (
    RoomError,
    int_field,
    now,
    publish_coalesced,
    spawn,
    text_field,
)

MIN_OPTIONS, MAX_OPTIONS = 2, 6
MIN_SECONDS, MAX_SECONDS = 10, 600


def open_key(lecture_id: int) -> str:
    return f"quiz:{lecture_id}:open"


def answers_key(quiz_id: int) -> str:
    return f"quiz:{quiz_id}:answers"


def counts_key(quiz_id: int) -> str:
    return f"quiz:{quiz_id}:counts"


def closing_key(quiz_id: int) -> str:
    return f"quiz:{quiz_id}:closing"


def final_key(quiz_id: int) -> str:
    return f"quiz:{quiz_id}:final"


def public(quiz: dict) -> dict:
    """What viewers see of an open quiz: never the correct option."""
    return {key: quiz[key] for key in ("id", "prompt", "options", "seconds", "closes_at")}


def _options(message: dict) -> list[str]:
    options = message.get("options")
    if not isinstance(options, list) or not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise RoomError(
            "bad_request",
            _("options must be a list of %(low)s to %(high)s answers.")
            % {"low": MIN_OPTIONS, "high": MAX_OPTIONS},
            field="options",
        )
    return [text_field({"option": o}, "option", max_length=200) for o in options]


async def quiz_push(ctx, message: dict) -> dict:
    ctx.require_teaching()
    if message.get("bank_question_id") is not None:
        # The hook for the question bank: pushing a bank question arrives with that issue.
        raise RoomError(
            "bad_request",
            _("Questions from the question bank cannot be pushed yet."),
            field="bank_question_id",
        )
    prompt = text_field(message, "prompt", max_length=1000)
    options = _options(message)
    correct = int_field(message, "correct", low=0, high=len(options) - 1)
    seconds = int_field(message, "seconds", low=MIN_SECONDS, high=MAX_SECONDS)
    store, room = ctx.store, ctx.room
    current = await store.get(open_key(room.lecture_id))
    if current is not None:
        if current["closes_ts"] > now():
            raise RoomError("quiz_open", _("Close the open quiz before pushing another."))
        await quiz_close(ctx.handler, room, current["id"])
    quiz = await database_sync_to_async(services.quiz_create)(
        lecture_id=room.lecture_id,
        created_by_id=ctx.conn.user.pk,
        prompt=prompt,
        options=options,
        correct=correct,
        seconds=seconds,
    )
    body = {
        "id": quiz.pk,
        "prompt": prompt,
        "options": options,
        "seconds": seconds,
        "closes_at": quiz.closes_at.isoformat(),
        "closes_ts": quiz.closes_at.timestamp(),
        "correct": correct,
    }
    if not await store.claim(open_key(room.lecture_id), seconds + 3600, body):
        await database_sync_to_async(services.quiz_delete_unopened)(quiz_id=quiz.pk)
        raise RoomError("quiz_open", _("Close the open quiz before pushing another."))
    await ctx.hub.publish(room.key, {"type": "quiz.open", "quiz": public(body)})
    spawn(_close_at_deadline(ctx.handler, room, quiz.pk, body["closes_ts"]))
    return {"quiz_id": quiz.pk}


async def _close_at_deadline(handler, room, quiz_id: int, closes_ts: float) -> None:
    await asyncio.sleep(max(0.0, closes_ts - now()))
    await quiz_close(handler, room, quiz_id)


async def quiz_close(handler, room, quiz_id: int) -> bool:
    """Closes the quiz once across every process: grades and writes its answers in bulk, then
    publishes ``quiz.closed`` with the correct option and the final counts. False if another
    caller closes it."""
    store = handler.store()
    if not await store.claim(closing_key(quiz_id), KEY_TTL):
        return False
    # From the claim on, every answer is refused (answer_once checks the flag in the same
    # atomic step that records it), so this read holds every answer that was acknowledged.
    raw = await store.hash_getall(answers_key(quiz_id))
    answers = {int(uid): (int(option), float(at)) for uid, (option, at) in raw.items()}
    quiz = await database_sync_to_async(services.quiz_close_persist)(quiz_id=quiz_id, answers=answers)
    if quiz is None:  # closed in the database already (an earlier run): report what it holds
        quiz = await database_sync_to_async(Quiz.objects.filter(pk=quiz_id).first)()
        if quiz is None:
            return False
    final = {
        "quiz_id": quiz_id,
        "correct": quiz.correct_option,
        "counts": quiz.counts,
        "total": quiz.answer_count,
    }
    await store.set(final_key(quiz_id), {**final, "lecture_id": room.lecture_id}, ttl=KEY_TTL)
    current = await store.get(open_key(room.lecture_id))
    if current is not None and current["id"] == quiz_id:
        await store.delete(open_key(room.lecture_id))
    await handler.hub().publish(room.key, {"type": "quiz.closed", **final})
    return True


async def close_if_expired(handler, room) -> None:
    """Closes the room's open quiz if its deadline has passed (whoever notices first)."""
    current = await handler.store().get(open_key(room.lecture_id))
    if current is not None and current["closes_ts"] <= now():
        await quiz_close(handler, room, current["id"])


async def quiz_answer(ctx, message: dict) -> dict:
    quiz_id = int_field(message, "quiz_id")
    store, room = ctx.store, ctx.room
    current = await store.get(open_key(room.lecture_id))
    if current is None or current["id"] != quiz_id:
        if await store.get(final_key(quiz_id)) is not None or await _closed_in_db(room.lecture_id, quiz_id):
            raise RoomError("quiz_closed", _("This quiz is closed."))
        raise RoomError("not_found", _("No such quiz in this room."))
    option = int_field(message, "option", low=0, high=len(current["options"]) - 1)
    if current["closes_ts"] <= now():
        spawn(quiz_close(ctx.handler, room, quiz_id))
        raise RoomError("quiz_closed", _("Time is up: this quiz is closed."))
    recorded = await store.answer_once(
        answers_key(quiz_id),
        str(ctx.conn.user.pk),
        [option, now()],
        counts=counts_key(quiz_id),
        count_field=str(option),
        closing=closing_key(quiz_id),
        ttl=KEY_TTL,
    )
    if recorded == "closing":
        raise RoomError("quiz_closed", _("This quiz is closed."))
    if recorded == "duplicate":
        raise RoomError("already_answered", _("You have answered this quiz already."))
    options = len(current["options"])

    async def publish():
        counts = await store.hash_getall(counts_key(quiz_id))
        row = [int(counts.get(str(i), 0)) for i in range(options)]
        await ctx.hub.publish(
            room.key,
            {"type": "quiz.results", "quiz_id": quiz_id, "counts": row, "total": sum(row)},
            audience="staff",
        )

    await publish_coalesced(store, f"quiz:{quiz_id}:results_pub", publish)
    return {"quiz_id": quiz_id}


async def quiz_close_request(ctx, message: dict) -> dict:
    ctx.require_teaching()
    quiz_id = int_field(message, "quiz_id")
    current = await ctx.store.get(open_key(ctx.room.lecture_id))
    if current is None or current["id"] != quiz_id:
        if await ctx.store.get(final_key(quiz_id)) is not None or await _closed_in_db(
            ctx.room.lecture_id, quiz_id
        ):
            return {"quiz_id": quiz_id}  # closed already: nothing to do
        raise RoomError("not_found", _("No such quiz in this room."))
    await quiz_close(ctx.handler, ctx.room, quiz_id)
    return {"quiz_id": quiz_id}


@database_sync_to_async
def _closed_in_db(lecture_id: int, quiz_id: int) -> bool:
    return Quiz.objects.filter(pk=quiz_id, lecture_id=lecture_id, closed_at__isnull=False).exists()


@database_sync_to_async
def _db_result(lecture_id: int, quiz_id: int, user_id: int):
    quiz = Quiz.objects.filter(pk=quiz_id, lecture_id=lecture_id, closed_at__isnull=False).first()
    if quiz is None:
        return None, None
    answer = QuizAnswer.objects.filter(quiz=quiz, user_id=user_id).values_list("option", flat=True).first()
    return quiz.correct_option, answer


async def quiz_result(ctx, message: dict) -> dict:
    """The sender's own result, after the close, sent to the sender only."""
    quiz_id = int_field(message, "quiz_id")
    store, room, user_id = ctx.store, ctx.room, ctx.conn.user.pk
    final = await store.get(final_key(quiz_id))
    if final is not None and final.get("lecture_id") != room.lecture_id:
        final = None
    mine = await store.hash_get(answers_key(quiz_id), str(user_id))
    if final is not None:
        correct, option = final["correct"], (mine[0] if mine else None)
    else:
        current = await store.get(open_key(room.lecture_id))
        if current is not None and current["id"] == quiz_id:
            raise RoomError("quiz_open", _("The result is known once the quiz closes."))
        correct, option = await _db_result(room.lecture_id, quiz_id, user_id)
        if correct is None:
            raise RoomError("not_found", _("No such quiz in this room."))
    await ctx.conn.send(
        {
            "type": "quiz.result",
            "quiz_id": quiz_id,
            "option": option,
            "correct": correct,
            "is_correct": option is not None and option == correct,
        }
    )
    return {"quiz_id": quiz_id}


async def quiz_snapshot(handler, room, user_id: int) -> dict | None:
    current = await handler.store().get(open_key(room.lecture_id))
    if current is None:
        return None
    if current["closes_ts"] <= now():
        spawn(quiz_close(handler, room, current["id"]))
        return None
    mine = await handler.store().hash_get(answers_key(current["id"]), str(user_id))
    return {**public(current), "your_option": mine[0] if mine else None}
