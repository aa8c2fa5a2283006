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
    CLOSE_NO_TICKET,
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
    room_entrants,
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


# Users per query at the door (SQLite allows 999 parameters per statement).
DOOR_BATCH = 500


def _admissions(requests: dict[int, tuple[list[int], object]]) -> dict[int, tuple]:
    """For each lecture id: (its user ids, the lecture when the caller has it cached, else
    None) -> (lecture or None, fresh: read now, {user id: (user, role)} for the users found).
    One query per ``DOOR_BATCH`` users (``room_entrants``: user, staff role, ban), one for a
    lecture not cached; a student's role takes no query (``lecture_role``)."""
    answers = {}
    for lecture_id, (user_ids, lecture) in requests.items():
        try:
            fresh = lecture is None
            if fresh:
                lecture = lecture_for_room(lecture_id)
            admitted = {}
            # Users are read even for a lecture that does not exist: a gone user hears 4401
            # first, as the door always answered.
            for start in range(0, len(user_ids), DOOR_BATCH):
                users = room_entrants(user_ids=user_ids[start:start + DOOR_BATCH], lecture_id=lecture_id)
                for user in users.values():
                    role = lecture_role(user, lecture, staff_role=user.room_staff_role) if lecture else None
                    admitted[user.pk] = (user, role)
            answers[lecture_id] = (lecture, fresh, admitted)
        except Exception as error:  # fails that lecture's connects only, not the whole batch
            logger.exception("live: admitting to lecture %s failed", lecture_id)
            answers[lecture_id] = error
    return answers


class _NextRead:
    """Shares one read of a room's shared state between the snapshots that ask for it at the
    same time, without ever handing out a read that started before the caller asked: callers
    that arrive while a read runs wait for the NEXT one. The transport reads the room's seq S
    before asking for a snapshot, so a read that starts after the ask reflects every frame up
    to S (docs/live-transport.md, "no gap, no duplicate") — as a read of its own would. A storm
    of snapshots costs one read of the store per round, not one per viewer."""

    def __init__(self, read):
        self._read = read
        self.pending: dict[int, list[asyncio.Future]] = {}
        self.task: asyncio.Task | None = None

    def read(self, key: int) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.pending.setdefault(key, []).append(future)
        if self.task is None or self.task.done():
            self.task = loop.create_task(self._drain())
        return future

    async def _drain(self) -> None:
        while self.pending:
            batch, self.pending = self.pending, {}
            for key, futures in batch.items():
                try:
                    value, error = await self._read(key), None
                except Exception as failure:
                    value, error = None, failure
                for future in futures:
                    if future.done():
                        continue
                    if error is not None:
                        future.set_exception(error)
                    else:
                        future.set_result(value)


class _Door:
    """The admissions of one event loop, batched: the connects that arrive while a batch is
    being read wait together for the next one, so a storm costs one thread hop and one query
    per batch, not per viewer, and a lone connect waits for nobody."""

    def __init__(self, handler: RoomHandler):
        self.handler = handler
        self.pending: dict[int, dict[int, list[asyncio.Future]]] = {}
        self.task: asyncio.Task | None = None

    def admit(self, user_id: int, lecture_id: int) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.pending.setdefault(lecture_id, {}).setdefault(user_id, []).append(future)
        if self.task is None or self.task.done():
            self.task = loop.create_task(self._drain())
        return future

    async def _drain(self) -> None:
        while self.pending:
            batch, self.pending = self.pending, {}
            cached = self.handler.cached_lecture
            requests = {lid: (list(waiting), cached(lid)) for lid, waiting in batch.items()}
            try:
                answers = await database_sync_to_async(_admissions)(requests)
                for lid, answer in answers.items():
                    if isinstance(answer, Exception):
                        _fail(batch[lid], answer)
                        continue
                    lecture, fresh, admitted = answer
                    # A lecture ended while this process held none of its connections (so it
                    # heard no room event) is marked in the shared store: seen here at once.
                    open_here = lecture is not None and lecture.state in OPEN_STATES
                    if (open_here and lid not in self.handler._finished
                            and await self.handler.store().get(ended_key(lid)) is not None):
                        self.handler.mark_finished(lid)
                    room = self.handler._remember(lecture) if fresh and lecture is not None else None
                    for user_id, futures in batch[lid].items():
                        user, role = admitted.get(user_id, (None, None))
                        for future in futures:
                            if not future.done():
                                future.set_result((user, lecture, role, room))
            except Exception as error:
                logger.exception("live: the door's batch failed")
                for waiting in batch.values():
                    _fail(waiting, error)
            finally:
                for waiting in batch.values():  # nobody waits for ever
                    _fail(waiting, RuntimeError("admission did not finish"))


def _for_this_loop(per_loop: dict, make):
    """The running loop's entry of ``per_loop`` (made by ``make()`` the first time); entries of
    closed loops are dropped then (each pytest-asyncio test runs its own loop)."""
    loop = asyncio.get_running_loop()
    value = per_loop.get(loop)
    if value is None:
        for stale in [lp for lp in per_loop if lp.is_closed()]:
            del per_loop[stale]
        value = per_loop[loop] = make()
    return value


def _fail(waiting: dict[int, list[asyncio.Future]], error: BaseException) -> None:
    for futures in waiting.values():
        for future in futures:
            if not future.done():
                future.set_exception(error)


class RoomUser:
    """What a connection keeps of its user once admitted: what the room shows (user_brief)."""

    __slots__ = ("pk", "username", "display_name")
    is_authenticated = True

    def __init__(self, pk: int, username: str, display_name: str):
        self.pk, self.username, self.display_name = pk, username, display_name

    @property
    def id(self) -> int:
        return self.pk


def ended_key(lecture_id: int) -> str:
    """Shared-store key set when a lecture ends (announce_lecture_ended), read by every door."""
    return f"room:{lecture_id}:ended"


def _cache_seconds() -> float:
    return float(setting("LIVE_ADMIT_CACHE_SECONDS", 5.0))


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
        # The door's per-process cache (see on_connect): lecture id -> (expires, Lecture, RoomInfo).
        self._lectures: dict[int, tuple[float, object, RoomInfo]] = {}
        self._doors: dict[asyncio.AbstractEventLoop, _Door] = {}
        self._shared: dict[asyncio.AbstractEventLoop, _NextRead] = {}
        # Lectures this process knows ended (a finished state never reopens): id -> when learnt.
        self._finished: dict[int, float] = {}
        # lecture id -> (recheck after, the refill of the shared store from the database).
        self._hydration: dict[int, tuple[float, asyncio.Future]] = {}

    # -- tools (per event loop) --

    @staticmethod
    def store():
        return get_store()

    @staticmethod
    def hub():
        return get_hub()

    # -- the transport's calls --

    async def on_connect(self, conn) -> None:
        """Admits the connection or raises ``Refuse``: 4401 (the ticket's user is gone, inactive
        or must change their password), 4404 (no such lecture), 4403 (may not see it), 4409 (not
        open), 4003 (banned). Sets ``conn.user`` to the full user and ``conn.role``.

        Cost: the connects that arrive together are admitted together (``_Door``): ONE query per
        batch (users + staff roles + bans), the lecture and its course served from a
        per-process cache of ``LIVE_ADMIT_CACHE_SECONDS`` (5 s); no write; the refill check of
        the shared store once per room per that interval. Staleness, exactly: the ban,
        the staff role and the user are read on every connect (a ban takes effect at once); a
        lecture's end is seen at once by the process that ended it (``lecture_ended``) and by
        every process holding the room (the hub's room event, ``_on_room_event``); a process
        holding no connection of the room sees it within ``LIVE_ADMIT_CACHE_SECONDS`` for new
        connects; a course unpublished, made narrower or moved is seen by new connects within
        the same interval (connected viewers stay until they leave)."""
        lid = conn.lecture_id
        user, lecture, role, fresh_room = await self._door().admit(conn.user.pk, lid)
        if user is None:
            raise Refuse(CLOSE_NO_TICKET, "a valid ticket is required")
        if lecture is None:
            raise Refuse(CLOSE_NOT_FOUND, "no such lecture")
        if role is None:
            raise Refuse(CLOSE_FORBIDDEN, "you may not see this lecture")
        if lecture.state not in OPEN_STATES or lid in self._finished:
            raise Refuse(CLOSE_NOT_OPEN, "the lecture is not open")
        if role == "viewer" and user.room_banned:
            raise Refuse(CLOSE_BANNED, "banned from this room")
        # The connection keeps only what the room shows of its user (a full User with its
        # profile, school and region is ~2.7 KB, times 13,000 viewers).
        conn.user = RoomUser(user.pk, user.username, user.display_name)
        conn.role = role
        room = self.rooms.get(lid)
        if room is None or (fresh_room is not None and room.state in OPEN_STATES):
            # A fresh read replaces what the process knew; a cached one never overrides a newer
            # refresh (a scheduled room that went live) nor an end this process was told of.
            room = self.rooms[lid] = fresh_room or _room_info(lecture)
        await self._hydrated(room)
        self.attendance.join(lid, user.pk, now())
        self._ensure_flusher()
        # Room events from other processes; per loop's hub, added once (a hub may be replaced).
        self.hub().add_listener(self._on_room_event)

    def _door(self) -> _Door:
        return _for_this_loop(self._doors, lambda: _Door(self))

    def cached_lecture(self, lecture_id: int):
        """The lecture (with its course) the door read less than ``LIVE_ADMIT_CACHE_SECONDS``
        ago, or None."""
        cached = self._lectures.get(lecture_id)
        return cached[1] if cached is not None and cached[0] > time.monotonic() else None

    def _remember(self, lecture) -> RoomInfo:
        clock = time.monotonic()
        if len(self._lectures) > 1000:
            self._lectures = {lid: entry for lid, entry in self._lectures.items() if entry[0] > clock}
        room = _room_info(lecture)
        self._lectures[lecture.pk] = (clock + _cache_seconds(), lecture, room)
        return room

    def forget_lectures(self, lecture_ids) -> None:
        """Drops the door's cached lecture facts: the next connect reads them again."""
        for lid in lecture_ids:
            self._lectures.pop(lid, None)

    async def _hydrated(self, room: RoomInfo) -> None:
        """Runs ``_hydrate`` once per room per ``LIVE_ADMIT_CACHE_SECONDS``; the connects that
        arrive meanwhile wait for that one refill instead of each asking the store."""
        lid = room.lecture_id
        loop = asyncio.get_running_loop()
        entry = self._hydration.get(lid)
        if entry is None or entry[0] <= time.monotonic() or entry[1].get_loop() is not loop:
            future = loop.create_task(self._hydrate(room))
            entry = self._hydration[lid] = (time.monotonic() + _cache_seconds(), future)
        try:
            await asyncio.shield(entry[1])
        except asyncio.CancelledError:
            raise
        except Exception:
            if self._hydration.get(lid) is entry:
                del self._hydration[lid]  # the next connect tries again
            raise

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
        shared = await self._shared_reads().read(room.lecture_id)
        return {
            "type": "snapshot",
            "lecture": room.public(),
            "you": {**user_brief(conn.user), "user_id": conn.user.pk, "role": conn.role,
                    "muted_until": await chat.muted_until(store, room.lecture_id, conn.user.pk)},
            **shared,
            "quiz": await quizzes.quiz_snapshot(self, room, conn.user.pk),
        }

    async def _read_shared(self, lecture_id: int) -> dict:
        """The parts of a snapshot that are the same for every viewer of the room."""
        store = self.store()
        return {
            "chat": await chat.recent_chat(store, lecture_id),
            "questions": await questions.question_snapshot(store, lecture_id),
            "slow_mode": await store.get(chat.slow_key(lecture_id)) or 0,
        }

    def _shared_reads(self) -> _NextRead:
        return _for_this_loop(self._shared, lambda: _NextRead(self._read_shared))

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
                            if room.state != self.rooms[lid].state:
                                self.forget_lectures([lid])
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
            self.forget_lectures(lecture_ids)
            for lid in lecture_ids:
                room = fresh.get(lid)
                known = self.rooms.get(lid)
                if room is not None and known is not None and known.state not in OPEN_STATES:
                    room.state = known.state  # told it ended before the row says so: stays ended
                if room is None or (room.state not in OPEN_STATES and not hub.local_viewers(room_key(lid))):
                    self.rooms.pop(lid, None)
                    self._hydration.pop(lid, None)
                else:
                    self.rooms[lid] = room

    async def flush(self, *, lecture_id: int | None = None) -> None:
        """Writes every batch now: chat, attendance, votes, peak viewers."""
        await self.chat_buffer.flush(self.store())
        await self.flush_slow(lecture_id=lecture_id)

    def _on_room_event(self, room: str, event: dict) -> None:
        """A room event announced through the hub by any process (``announce_lecture_ended``):
        a lecture ended elsewhere stops this process's room at once, not at the 30 s refresh."""
        lecture_id = event.get("lecture_id")
        if event.get("event") == "lecture.ended" and isinstance(lecture_id, int):
            spawn(self._lecture_ended_logged(lecture_id))

    async def _lecture_ended_logged(self, lecture_id: int) -> None:
        try:
            await self.lecture_ended(lecture_id)
        except Exception:
            logger.exception("live: closing the room of lecture %s failed", lecture_id)

    def mark_finished(self, lecture_id: int) -> bool:
        """Remembers that the lecture ended; False if this process knew it already."""
        if lecture_id in self._finished:
            return False
        clock = time.monotonic()
        if len(self._finished) > 1000:  # a lecture's end matters for a day at most
            self._finished = {lid: at for lid, at in self._finished.items() if clock - at < 86400}
        self._finished[lecture_id] = clock
        self.forget_lectures([lecture_id])
        room = self.rooms.get(lecture_id)
        if room is not None:
            room.state = "ended"  # its connections' frames are refused from now on
        return True

    async def lecture_ended(self, lecture_id: int) -> None:
        """This process learnt that the lecture ended: mark the room closed, write its batches
        (once: the process that ends it hears its own announcement too)."""
        if self.mark_finished(lecture_id):
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
    """Called after the lecture's end commits (live.services): tell the room's clients and every
    process holding the room (they stop taking messages and write their batches at once), then
    this process."""
    hub = get_hub()
    # First the lasting mark every process's door reads (a process holding no connection of the
    # room hears no room event), then the clients' frame, then the processes holding the room.
    await get_store().set(ended_key(lecture_id), 1, ttl=86400)
    await hub.publish(room_key(lecture_id), {"type": "lecture.ended", "lecture_id": lecture_id})
    await hub.announce(room_key(lecture_id), {"event": "lecture.ended", "lecture_id": lecture_id})
    if _handler is not None:
        await _handler.lecture_ended(lecture_id)
