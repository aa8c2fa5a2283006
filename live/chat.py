"""Chat in a live room and its moderation, all enforced on the server.

A message passes, in order: the word filter (``LIVE_WORD_FILTER``), the sender's mute, slow
mode (one message per N seconds per user, set by a moderator) and the per-user rate limit (3 at
once, then 1 per 2 s). Staff are exempt from slow mode and the rate limit. The state behind
each check is in the shared store, so every process of the room applies the same limits.
Accepted messages go out through the hub coalesced (a ``batch`` frame per interval) and into
this process's replay buffer; nothing is written to the database per message.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from functools import cache

from channels.db import database_sync_to_async
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from live import services
from live.hub import CLOSE_BANNED
from live.protocol import RoomError, int_field, iso, now, setting, text_field, user_brief
from live.replay import deleted_key

MAX_LENGTH = 500
RATE_INTERVAL, RATE_BURST = 2.0, 3
MAX_SLOW_MODE = 600
MAX_MUTE_MINUTES = 1440
RECENT = 50
KEY_TTL = 2 * 24 * 3600  # the room's chat state outlives any lecture, then goes


def recent_key(lecture_id: int) -> str:
    return f"chat:{lecture_id}:recent"


def slow_key(lecture_id: int) -> str:
    return f"chat:{lecture_id}:slow"


def mute_key(lecture_id: int, user_id: int) -> str:
    return f"mute:{lecture_id}:{user_id}"


# --- word filter -----------------------------------------------------------------------------

# A small built-in list; deployments point LIVE_WORD_FILTER at their own callable.
BLOCKED_WORDS = ("法轮", "六四事件", "代写作业", "加微信", "刷单")
MASKED_WORDS = ("傻逼", "他妈的", "草泥马", "fuck", "shit")
_masked = re.compile("|".join(re.escape(w) for w in MASKED_WORDS), re.IGNORECASE)


def default_word_filter(text: str) -> str | None:
    """None (refuse) for text with a blocked word; otherwise the text with masked words
    replaced by asterisks."""
    if any(word in text for word in BLOCKED_WORDS):
        return None
    return _masked.sub(lambda m: "*" * len(m.group(0)), text)


@cache
def _load_filter(path: str) -> Callable[[str], str | None]:
    return import_string(path)


def word_filter(text: str) -> str | None:
    return _load_filter(setting("LIVE_WORD_FILTER", "live.chat.default_word_filter"))(text)


def filtered(text: str) -> str:
    cleaned = word_filter(text)
    if cleaned is None or not cleaned.strip():
        raise RoomError("blocked", _("The message contains words that are not allowed here."))
    return cleaned[:MAX_LENGTH]


# --- checks shared with questions -----------------------------------------------------------

async def check_not_muted(store, lecture_id: int, user_id: int) -> None:
    until = await store.get(mute_key(lecture_id, user_id))
    if until is not None and until > now():
        raise RoomError("muted", _("A moderator has muted you until %(until)s.") % {"until": iso(until)},
                        until=iso(until))


async def muted_until(store, lecture_id: int, user_id: int) -> str | None:
    until = await store.get(mute_key(lecture_id, user_id))
    return iso(until) if until is not None and until > now() else None


async def check_rate(store, key: str, *, interval: float, burst: int) -> None:
    retry = await store.rate_allow(key, interval=interval, burst=burst)
    if retry > 0:
        raise RoomError("rate_limited", _("Too fast: wait %(s).1f seconds.") % {"s": retry},
                        retry_after=round(retry, 2))


# --- messages --------------------------------------------------------------------------------

async def chat_send(ctx, message: dict) -> dict:
    conn, store, room = ctx.conn, ctx.store, ctx.room
    text = filtered(text_field(message, "text", max_length=MAX_LENGTH))
    user_id = conn.user.pk
    await check_not_muted(store, room.lecture_id, user_id)
    if not conn.is_staff:
        slow = await store.get(slow_key(room.lecture_id)) or 0
        if slow and not await store.claim(f"chat:{room.lecture_id}:slow:{user_id}", slow):
            retry = await store.ttl(f"chat:{room.lecture_id}:slow:{user_id}")
            raise RoomError("slow_mode", _("Slow mode: one message every %(n)s seconds.") % {"n": slow},
                            retry_after=round(max(retry, 0), 2))
        await check_rate(store, f"rl:chat:{room.lecture_id}:{user_id}", interval=RATE_INTERVAL,
                         burst=RATE_BURST)
    at = now()
    number = await store.incr(f"chat:{room.lecture_id}:n")
    offset_ms = room.offset_ms(at)
    frame = {"type": "chat.message", "id": number, "user": user_brief(conn.user), "text": text,
             "offset": offset_ms / 1000, "at": iso(at)}
    await store.list_push(recent_key(room.lecture_id), frame, RECENT)
    if ctx.handler.chat_buffer.add({"lecture_id": room.lecture_id, "number": number, "author_id": user_id,
                                    "text": text, "offset_ms": offset_ms, "sent_at": _dt(at)}):
        ctx.handler.flush_chat_soon()
    await ctx.hub.publish(room.key, frame, coalesce=True)
    return {"message_id": number}


def _dt(ts: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ts, tz=datetime.UTC)


async def recent_chat(store, lecture_id: int) -> list[dict]:
    messages = await store.list_all(recent_key(lecture_id))
    if not messages:
        return []
    deleted = await store.set_members(deleted_key(lecture_id))
    return [m for m in messages if m["id"] not in deleted]


async def chat_delete(ctx, message: dict) -> dict:
    ctx.require_moderator()
    number = int_field(message, "message_id")
    lecture_id = ctx.room.lecture_id
    if number > int(await ctx.store.get(f"chat:{lecture_id}:n") or 0):
        raise RoomError("not_found", _("No such message."))
    if await ctx.store.set_add(deleted_key(lecture_id), number):
        await ctx.store.expire(deleted_key(lecture_id), KEY_TTL)
        # A message already written is marked now; one still in some process's buffer is
        # marked by that process's flush (it reads the deleted set after inserting).
        await database_sync_to_async(services.chat_messages_mark_deleted)(
            deleted={lecture_id: {number}}, by_id=ctx.conn.user.pk)
        await ctx.hub.publish(ctx.room.key, {"type": "chat.deleted", "id": number})
    return {"message_id": number}


async def chat_slow_mode(ctx, message: dict) -> dict:
    ctx.require_moderator()
    seconds = int_field(message, "seconds", low=0, high=MAX_SLOW_MODE)
    if seconds:
        await ctx.store.set(slow_key(ctx.room.lecture_id), seconds, ttl=KEY_TTL)
    else:
        await ctx.store.delete(slow_key(ctx.room.lecture_id))
    await ctx.hub.publish(ctx.room.key, {"type": "chat.slow_mode", "seconds": seconds})
    return {"seconds": seconds}


# --- moderation of people ----------------------------------------------------------------------

async def _target(ctx, message: dict):
    """The user a moderation frame names: must exist, may enter the room, and not be staff."""
    user_id = int_field(message, "user_id")
    role = await database_sync_to_async(_role_of)(user_id, ctx.room.lecture_id)
    if role is None:
        raise RoomError("not_found", _("No such user in this room."))
    if role != "viewer":
        raise RoomError("forbidden", _("The lecture's staff and administrators cannot be muted or banned."))
    return user_id


def _role_of(user_id: int, lecture_id: int) -> str | None:
    from accounts.models import User
    from courses.models import Lecture
    from live.selectors import lecture_role

    user = User.objects.filter(pk=user_id, is_active=True).first()
    lecture = Lecture.objects.filter(pk=lecture_id).first()
    if user is None or lecture is None:
        return None
    return lecture_role(user, lecture)


async def user_mute(ctx, message: dict) -> dict:
    ctx.require_moderator()
    minutes = int_field(message, "minutes", low=1, high=MAX_MUTE_MINUTES)
    user_id = await _target(ctx, message)
    until = now() + minutes * 60
    await ctx.store.set(mute_key(ctx.room.lecture_id, user_id), until, ttl=minutes * 60)
    await ctx.hub.publish(ctx.room.key, {"type": "user.muted", "user_id": user_id, "until": iso(until)},
                          audience="staff")
    return {"user_id": user_id, "until": iso(until)}


async def user_unmute(ctx, message: dict) -> dict:
    ctx.require_moderator()
    user_id = int_field(message, "user_id")
    await ctx.store.delete(mute_key(ctx.room.lecture_id, user_id))
    await ctx.hub.publish(ctx.room.key, {"type": "user.unmuted", "user_id": user_id, "until": None},
                          audience="staff")
    return {"user_id": user_id}


async def user_ban(ctx, message: dict) -> dict:
    ctx.require_moderator()
    reason = text_field(message, "reason", max_length=200, required=False)
    user_id = await _target(ctx, message)
    ban = await database_sync_to_async(services.room_ban_create)(
        lecture_id=ctx.room.lecture_id, user_id=user_id, banned_by_id=ctx.conn.user.pk, reason=reason)
    await ctx.hub.kick(ctx.room.key, user_id=user_id, code=CLOSE_BANNED, reason="banned")
    return {"user_id": user_id, "ban_id": ban.pk}
