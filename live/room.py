"""The live room's handler: what the messages of docs/live-protocol.md mean.

The transport (live/asgi_app.py, live/hub.py) owns the sockets and calls this handler:
``on_connect`` (who enters, with which role), ``snapshot``, ``on_message`` (dispatch to
live.chat / live.questions / live.quizzes) and ``on_disconnect``. The handler is thin: it
parses, authorizes and calls; the rules live in those modules and the shared store.

Per process, it also runs one background task per event loop that writes the batches: chat
every ``LIVE_CHAT_FLUSH_SECONDS`` (2 s), attendance, votes and peak viewers every
``LIVE_ATTENDANCE_FLUSH_SECONDS`` (30 s); ``flush()`` writes everything now (lecture end,
shutdown, tests).
"""

from __future__ import annotations

import asyncio
import logging
import time

from channels.db import database_sync_to_async
from django.utils.translation import gettext as _

from live import chat, questions, quizzes, services
from live.attendance import AttendanceTracker
from live.hub import (
    CLOSE_BANNED,
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_NOT_OPEN,
    Refuse,
    get_hub,
    room_key,
)
from live.protocol import RoomError, RoomInfo, now, setting, spawn, user_brief
from live.replay import ChatBuffer, deleted_key
from live.selectors import (
    MODERATOR_ROLES,
    OPEN_STATES,
    TEACHING_ROLES,
    lecture_for_room,
    lecture_role,
    room_ban_exists,
    room_state_saved,
)
from live.state import get_store

logger = logging.getLogger(__name__)

REACTIONS = frozenset({"like", "flower", "clap"})
REACTIONS_PER_SECOND = 10


class MessageContext:
    """One incoming frame: who sent it, in which room, and the process's tools."""

    __slots__ = ("conn", "room", "store", "hub", "handler")

    def __init__(self, *, conn, room: RoomInfo, handler: RoomHandler):
        self.conn = conn
        self.room = room
        self.handler = handler
        self.store = handler.store()
        self.hub = handler.hub()

    def require_moderator(self) -> None:
        if self.conn.role not in MODERATOR_ROLES:
            raise RoomError("forbidden", _("Only the lecture's staff and administrators may do this."))

    def require_teaching(self) -> None:
        if self.conn.role not in TEACHING_ROLES:
            raise RoomError("forbidden", _("Only the lecturer and assistants may do this."))


@database_sync_to_async
def _admit(user, lecture_id: int) -> tuple[RoomInfo, str]:
    """The room and the user's role, or Refuse (4404 / 4403 / 4409 / 4003). Three to five
    queries, on connect only."""
    lecture = lecture_for_room(lecture_id)
    if lecture is None:
        raise Refuse(CLOSE_NOT_FOUND, "no such lecture")
    role = lecture_role(user, lecture)
    if role is None:
        raise Refuse(CLOSE_FORBIDDEN, "you may not see this lecture")
    if lecture.state not in OPEN_STATES:
        raise Refuse(CLOSE_NOT_OPEN, "the lecture is not open")
    if role == "viewer" and room_ban_exists(lecture_id=lecture_id, user_id=user.pk):
        raise Refuse(CLOSE_BANNED, "banned from this room")
    return _room_info(lecture), role


def _room_info(lecture) -> RoomInfo:
    return RoomInfo(lecture_id=lecture.pk, key=room_key(lecture.pk), title=lecture.title, state=lecture.state,
                    went_live_at=lecture.went_live_at, play_url=lecture.stream_play_url)


@database_sync_to_async
def _refresh(lecture_ids: list[int]) -> dict[int, RoomInfo]:
    from courses.models import Lecture

    return {lecture.pk: _room_info(lecture) for lecture in Lecture.objects.filter(pk__in=lecture_ids)}


HANDLERS = {
    "chat.send": chat.chat_send,
    "chat.delete": chat.chat_delete,
    "chat.slow_mode": chat.chat_slow_mode,
    "user.mute": chat.user_mute,
    "user.unmute": chat.user_unmute,
    "user.ban": chat.user_ban,
    "question.ask": questions.question_ask,
    "question.upvote": questions.question_upvote,
    "question.pin": questions.question_pin,
    "question.answer": questions.question_answer,
    "quiz.push": quizzes.quiz_push,
    "quiz.answer": quizzes.quiz_answer,
    "quiz.close": quizzes.quiz_close_request,
    "quiz.result": quizzes.quiz_result,
}


class RoomHandler:
    """The process's room handler (one per process; ``get_room_handler()``)."""

    def __init__(self):
        self.rooms: dict[int, RoomInfo] = {}
        self.chat_buffer = ChatBuffer()
        self.attendance = AttendanceTracker()
        self.votes_dirty: dict[int, set[int]] = {}
        self._flushers: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}
        self._last_slow_flush = time.monotonic()
        self._reaction_second = 0
        self._reaction_counts: dict[int, int] = {}

    # -- tools (per event loop) --

    @staticmethod
    def store():
        return get_store()

    @staticmethod
    def hub():
        return get_hub()

    # -- the transport's calls --

    async def on_connect(self, conn) -> None:
        room, role = await _admit(conn.user, conn.lecture_id)
        conn.role = role
        self.rooms[room.lecture_id] = room
        await self._hydrate(room)
        self.attendance.join(room.lecture_id, conn.user.pk, now())
        self._ensure_flusher()

    async def _hydrate(self, room: RoomInfo) -> None:
        """Refills the shared store from the database the first time a room is entered while
        the store holds nothing of it (once per store lifetime: a claim): chat numbering
        continues after the saved messages, and the snapshot shows saved chat and questions."""
        store = self.store()
        lid = room.lecture_id
        if not await store.claim(f"room:{lid}:hydrated", chat.KEY_TTL):
            return
        saved = await database_sync_to_async(room_state_saved)(
            lecture_id=lid, recent=chat.RECENT, questions=500)
        if not saved["max_number"] and not saved["questions"]:
            return
        await store.raise_to(f"chat:{lid}:n", saved["max_number"])
        if not await store.list_all(chat.recent_key(lid)):
            for message in saved["chat"]:
                await store.list_push(chat.recent_key(lid), {
                    "type": "chat.message", "id": message.number, "user": user_brief(message.author),
                    "text": message.text, "offset": message.offset_ms / 1000,
                    "at": message.sent_at.isoformat()}, chat.RECENT)
        for number in saved["deleted"]:
            await store.set_add(deleted_key(lid), number)
        for question in saved["questions"]:
            body = {"id": question.pk, "user": user_brief(question.author), "text": question.text,
                    "votes": question.votes, "pinned": question.pinned,
                    "answered": question.answered_at is not None, "offset": question.offset_ms / 1000}
            if await store.hash_setnx(questions.data_key(lid), str(question.pk), body):
                await store.rank_incr(questions.rank_key(lid), question.pk, question.votes)

    async def snapshot(self, conn) -> dict:
        room = self.rooms[conn.lecture_id]
        store = self.store()
        return {
            "type": "snapshot",
            "lecture": room.public(),
            "you": {**user_brief(conn.user), "user_id": conn.user.pk, "role": conn.role,
                    "muted_until": await chat.muted_until(store, room.lecture_id, conn.user.pk)},
            "chat": await chat.recent_chat(store, room.lecture_id),
            "questions": await questions.question_snapshot(store, room.lecture_id),
            "quiz": await quizzes.quiz_snapshot(self, room, conn.user.pk),
            "slow_mode": await store.get(chat.slow_key(room.lecture_id)) or 0,
        }

    async def on_message(self, conn, message: dict) -> None:
        frame_id = message.get("id")
        if not isinstance(frame_id, str | int) or isinstance(frame_id, bool):
            frame_id = None
        kind = message["type"]
        try:
            room = self.rooms.get(conn.lecture_id)
            if room is None or room.state not in OPEN_STATES:
                raise RoomError("lecture_closed", _("The lecture has ended."))
            if kind == "react":
                await self._react(conn, room, message)
                if frame_id is not None:
                    await conn.send({"type": "ack", "id": frame_id})
                return
            handler = HANDLERS.get(kind)
            if handler is None:
                raise RoomError("unknown_type", _("Unknown message type %(type)s.") % {"type": kind[:40]})
            result = await handler(MessageContext(conn=conn, room=room, handler=self), message)
        except RoomError as error:
            await conn.send({"type": "error", "id": frame_id, "code": error.code, "message": error.message,
                             **error.extra})
            return
        await conn.send({"type": "ack", "id": frame_id, **result})

    async def on_disconnect(self, conn, code: int) -> None:
        self.attendance.leave(conn.lecture_id, conn.user.pk, now())

    # -- reactions: counted locally per connection, aggregated by the hub --

    async def _react(self, conn, room: RoomInfo, message: dict) -> None:
        reaction = message.get("reaction")
        if reaction not in REACTIONS:
            raise RoomError("bad_request", _("Unknown reaction."), field="reaction")
        second = int(time.monotonic())
        if self._reaction_second != second:
            self._reaction_second = second
            self._reaction_counts.clear()
        sent = self._reaction_counts[id(conn)] = self._reaction_counts.get(id(conn), 0) + 1
        if sent > REACTIONS_PER_SECOND:
            raise RoomError("rate_limited", _("Too many reactions."), retry_after=1)
        await self.hub().react(room.key, reaction)

    # -- batches --

    def flush_chat_soon(self) -> None:
        spawn(self.chat_buffer.flush(self.store()))

    def _ensure_flusher(self) -> None:
        loop = asyncio.get_running_loop()
        task = self._flushers.get(loop)
        if task is None or task.done():
            for stale in [lp for lp in self._flushers if lp.is_closed()]:
                del self._flushers[stale]
            self._flushers[loop] = loop.create_task(self._flush_loop())

    async def _flush_loop(self) -> None:
        chat_every = float(setting("LIVE_CHAT_FLUSH_SECONDS", 2.0))
        slow_every = float(setting("LIVE_ATTENDANCE_FLUSH_SECONDS", 30.0))
        while True:
            await asyncio.sleep(chat_every)
            try:
                await self.chat_buffer.flush(self.store())
                for room in list(self.rooms.values()):
                    await quizzes.close_if_expired(self, room)
                # A scheduled room learns quickly that it went live (offsets count from then).
                waiting = [lid for lid, room in self.rooms.items() if room.state == "scheduled"]
                if waiting:
                    for lid, room in (await _refresh(waiting)).items():
                        if lid in self.rooms:
                            self.rooms[lid] = room
                if time.monotonic() - self._last_slow_flush >= slow_every:
                    self._last_slow_flush = time.monotonic()
                    await self.flush_slow()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("live: periodic flush failed")

    async def flush_slow(self, *, lecture_id: int | None = None) -> None:
        """Attendance, votes and peak viewers; and forgets rooms whose lecture has ended."""
        rows = self.attendance.drain(now(), lecture_id=lecture_id)
        if rows:
            try:
                await database_sync_to_async(services.attendance_add)(rows=rows)
            except Exception:
                self.attendance.restore(rows)
                raise
        dirty, self.votes_dirty = self.votes_dirty, {}
        if dirty:
            await questions.votes_save(self.store(), dirty)
        hub = self.hub()
        lecture_ids = [lecture_id] if lecture_id is not None else list(self.rooms)
        peaks = {lid: await hub.peak_viewers(room_key(lid)) for lid in lecture_ids}
        if peaks:
            await database_sync_to_async(services.lecture_peak_viewers_record)(peaks=peaks)
        if lecture_ids:
            fresh = await _refresh(lecture_ids)
            for lid in lecture_ids:
                room = fresh.get(lid)
                known = self.rooms.get(lid)
                if room is not None and known is not None and known.state not in OPEN_STATES:
                    room.state = known.state  # told it ended before the row says so: stays ended
                if room is None or (room.state not in OPEN_STATES and not hub.local_viewers(room_key(lid))):
                    self.rooms.pop(lid, None)
                else:
                    self.rooms[lid] = room

    async def flush(self, *, lecture_id: int | None = None) -> None:
        """Writes every batch now: chat, attendance, votes, peak viewers."""
        await self.chat_buffer.flush(self.store())
        await self.flush_slow(lecture_id=lecture_id)

    async def lecture_ended(self, lecture_id: int) -> None:
        """This process learnt that the lecture ended: mark the room closed, write its batches."""
        room = self.rooms.get(lecture_id)
        if room is not None:
            room.state = "ended"
        await self.flush(lecture_id=lecture_id)

    async def shutdown(self) -> None:
        """Server shutdown: write everything (attendance up to now) and stop the flusher."""
        loop = asyncio.get_running_loop()
        task = self._flushers.pop(loop, None)
        if task is not None:
            task.cancel()
        await self.flush()


_handler: RoomHandler | None = None


def get_room_handler() -> RoomHandler:
    global _handler
    if _handler is None:
        _handler = RoomHandler()
    return _handler


def reset_room_handler() -> None:
    """Forget the handler's buffers (tests)."""
    global _handler
    _handler = None


async def announce_lecture_ended(lecture_id: int) -> None:
    """Called after the lecture's end commits (live.services): tell the room, write batches."""
    await get_hub().publish(room_key(lecture_id), {"type": "lecture.ended", "lecture_id": lecture_id})
    if _handler is not None and lecture_id in _handler.rooms:
        await _handler.lecture_ended(lecture_id)
