"""Questions to the lecturer: a queue apart from chat, upvoted once per user, pinned and marked
answered by the lecturer or an assistant.

Questions are few and are inserted when asked (the row's id is the question's id). Votes are
the hot part: each is one SADD (the per-user dedupe) and one ZINCRBY (the ranking) in the shared
store; ``question.votes`` frames are coalesced to at most one per question per interval, and
the counts reach the database in batches (every attendance flush and at lecture end).
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.utils.translation import gettext as _

from live import services
from live.chat import KEY_TTL, check_not_muted, check_rate, filtered
from live.protocol import (
    RoomError,
    bool_field,
    int_field,
    now,
    publish_coalesced,
    text_field,
    user_brief,
)

MAX_LENGTH = 500
RATE_INTERVAL, RATE_BURST = 10.0, 2
TOP = 20


def data_key(lecture_id: int) -> str:
    return f"q:{lecture_id}:data"


def rank_key(lecture_id: int) -> str:
    return f"q:{lecture_id}:rank"


def voters_key(question_id: int) -> str:
    return f"q:{question_id}:voters"


async def question_ask(ctx, message: dict) -> dict:
    store, room, user = ctx.store, ctx.room, ctx.conn.user
    text = filtered(text_field(message, "text", max_length=MAX_LENGTH))
    await check_not_muted(store, room.lecture_id, user.pk)
    await check_rate(store, f"rl:q:{room.lecture_id}:{user.pk}", interval=RATE_INTERVAL, burst=RATE_BURST)
    offset_ms = room.offset_ms(now())
    question = await database_sync_to_async(services.question_create)(
        lecture_id=room.lecture_id, author_id=user.pk, text=text, offset_ms=offset_ms)
    body = {"id": question.pk, "user": user_brief(user), "text": text, "votes": 0, "pinned": False,
            "answered": False, "offset": offset_ms / 1000}
    await store.hash_set(data_key(room.lecture_id), str(question.pk), body)
    await store.expire(data_key(room.lecture_id), KEY_TTL)
    await store.rank_incr(rank_key(room.lecture_id), question.pk, 0)
    await store.expire(rank_key(room.lecture_id), KEY_TTL)
    await ctx.hub.publish(room.key, {"type": "question.new", "question": body})
    return {"question_id": question.pk}


async def _question(ctx, message: dict) -> tuple[int, dict]:
    question_id = int_field(message, "question_id")
    body = await ctx.store.hash_get(data_key(ctx.room.lecture_id), str(question_id))
    if body is None:
        raise RoomError("not_found", _("No such question in this room."))
    return question_id, body


async def question_upvote(ctx, message: dict) -> dict:
    question_id, _body = await _question(ctx, message)
    store, room = ctx.store, ctx.room
    if not await store.set_add(voters_key(question_id), ctx.conn.user.pk):
        raise RoomError("already_voted", _("You have upvoted this question already."))
    await store.expire(voters_key(question_id), KEY_TTL)
    votes = int(await store.rank_incr(rank_key(room.lecture_id), question_id, 1))
    ctx.handler.votes_dirty.setdefault(room.lecture_id, set()).add(question_id)

    async def publish():
        current = await store.rank_all(rank_key(room.lecture_id))
        await ctx.hub.publish(room.key, {"type": "question.votes", "id": question_id,
                                         "votes": int(current.get(question_id, votes))})

    await publish_coalesced(store, f"q:{question_id}:votes_pub", publish)
    return {"question_id": question_id, "votes": votes}


async def question_pin(ctx, message: dict) -> dict:
    ctx.require_teaching()
    question_id, body = await _question(ctx, message)
    pinned = bool_field(message, "pinned")
    await database_sync_to_async(services.question_pin)(question_id=question_id, pinned=pinned)
    body["pinned"] = pinned
    await ctx.store.hash_set(data_key(ctx.room.lecture_id), str(question_id), body)
    await ctx.hub.publish(ctx.room.key, {"type": "question.pinned", "id": question_id, "pinned": pinned})
    return {"question_id": question_id, "pinned": pinned}


async def question_answer(ctx, message: dict) -> dict:
    ctx.require_teaching()
    question_id, body = await _question(ctx, message)
    if not body.get("answered"):
        await database_sync_to_async(services.question_mark_answered)(question_id=question_id)
        body["answered"] = True
        await ctx.store.hash_set(data_key(ctx.room.lecture_id), str(question_id), body)
        await ctx.hub.publish(ctx.room.key, {"type": "question.answered", "id": question_id})
    return {"question_id": question_id}


async def question_snapshot(store, lecture_id: int) -> list[dict]:
    """Pinned questions first, then the top ``TOP`` others by votes (ties: oldest first)."""
    data = await store.hash_getall(data_key(lecture_id))
    if not data:
        return []
    ranks = await store.rank_all(rank_key(lecture_id))
    questions = []
    for key, body in data.items():
        body["votes"] = int(ranks.get(int(key), body.get("votes", 0)))
        questions.append(body)
    pinned = sorted((q for q in questions if q["pinned"]), key=lambda q: (-q["votes"], q["id"]))
    others = sorted((q for q in questions if not q["pinned"]), key=lambda q: (-q["votes"], q["id"]))
    return pinned + others[:TOP]


async def votes_save(store, dirty: dict[int, set[int]]) -> int:
    """Writes the vote counts of the questions upvoted since the last save (one bulk update)."""
    votes: dict[int, int] = {}
    for lecture_id, question_ids in dirty.items():
        ranks = await store.rank_all(rank_key(lecture_id))
        votes.update({qid: int(ranks[qid]) for qid in question_ids if qid in ranks})
    if votes:
        await database_sync_to_async(services.question_votes_save)(votes=votes)
    return len(votes)
