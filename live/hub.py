"""The per-process live room hub: fan-out, sequence numbers, resume, coalescing, presence, kicks.

One hub per server process (per event loop). It holds the process's connections of every room
and, with Redis, ONE pub/sub subscription per room per process (not per connection). A frame is
JSON-encoded once, by the publisher, and the same string is queued on every local socket of the
room; nothing per message goes through Channels' channel layer (docs/live-transport.md has the
measurements behind this design).

Ordering and resume: every published frame gets the room-wide ``seq`` from one atomic step
(memory: in-process; Redis: a Lua script that INCRs the sequence, appends the encoded frame to
a capped list with a TTL, and PUBLISHes it, so every process receives frames in seq order).
The sequence has an ``epoch``, a random token made with it (memory: per hub and room; Redis: in
the same Lua step, whenever the room's sequence key is new, e.g. after a flush or expiry): the
snapshot carries it. A client that reconnects with ``?last_seq=N&epoch=E`` gets the frames after
N from that buffer if E is the room's current epoch, else (or when they are gone) a fresh
snapshot; a joining connection buffers live frames while its resume or snapshot is prepared,
then drops those it already has, so there is neither a gap nor a duplicate seq.

Coalescing: ``publish(..., coalesce=True)`` (chat) and ``react`` are delivered at most once per
room per interval; the interval grows with the room's local size:
``interval = clamp(LIVE_COALESCE_MIN, LIVE_COALESCE_MAX, 4 * local_viewers / LIVE_SEND_BUDGET)``
so the two coalesced streams together use at most half of the process's send budget.

Backpressure: each connection has a bounded outbox (frames and bytes); queuing never awaits, so
one slow socket cannot stall the room; a connection whose outbox is full is closed with 4008.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import uuid
import weakref
from collections import deque

from django.conf import settings

from live.redis import get_redis, live_key

logger = logging.getLogger(__name__)

# Close codes (docs/live-transport.md; ROOM copies them into docs/live-protocol.md).
CLOSE_NORMAL = 1000
CLOSE_NOT_JSON = 1003  # an incoming frame that is not a JSON object
CLOSE_BANNED = 4003
CLOSE_TOO_SLOW = 4008  # the client could not keep up (outbox full)
CLOSE_TOO_LARGE = 4009  # an incoming frame over MAX_INCOMING_BYTES
CLOSE_RESYNC = 4012  # the room's sequence restarted (new epoch): reconnect for a snapshot
CLOSE_NO_TICKET = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_NOT_OPEN = 4409
CLOSE_INTERNAL = 1011

MAX_INCOMING_BYTES = 4096


class _Limits:
    """Per-connection outbox bounds, read from settings when a hub is made (tests change them)."""

    frames = 512
    bytes = 512 * 1024


_LIMITS = _Limits()


def _setting(name: str, default):
    return getattr(settings, name, default)


def room_key(lecture_id: int) -> str:
    return f"lecture:{lecture_id}"


def encode(frame: dict) -> str:
    """The one JSON encoding of a frame (compact, UTF-8 kept as is)."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False, default=str)


def new_epoch() -> str:
    """A room sequence's epoch: 16 URL-safe characters (``[A-Za-z0-9_-]``)."""
    return secrets.token_urlsafe(12)


def _with_seq(seq: int, body: str) -> str:
    """``{"seq":N,...}`` from an encoded object without seq: string work, no second encoding."""
    return f'{{"seq":{seq}}}' if body == "{}" else f'{{"seq":{seq},{body[1:]}'


class Refuse(Exception):  # noqa: N818 - the contract's name
    """Raised by the room handler's on_connect to close the connection with ``code``."""

    def __init__(self, code: int, reason: str = ""):
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


# --- one websocket -------------------------------------------------------------------------


class Connection:
    """One websocket of a live room, created by the transport (live/asgi_app.py).

    ``deliver``/``send`` only queue (never await), so the hub writes a frame to thousands of
    sockets in one pass. An idle connection holds no task and no buffer: a writer task exists
    only while its outbox has frames, and drains it at the socket's pace.
    """

    __slots__ = (
        "user", "lecture_id", "room", "role", "last_seq", "epoch", "sent_seq", "close_code", "close_reason",
        "client_close_code", "close_sent", "_asgi_send", "_outbox", "_outbox_bytes", "_early",
        "_writer_task", "_writing", "_reader_task", "__weakref__",
    )

    def __init__(self, *, user, lecture_id: int, last_seq: int | None = None, epoch: str | None = None,
                 asgi_send=None):
        self.user = user
        self.lecture_id = lecture_id
        self.room = room_key(lecture_id)
        self.role = "viewer"
        self.last_seq = last_seq
        self.epoch = epoch  # the epoch of last_seq's sequence (the client's ?epoch=)
        self.sent_seq = 0  # the highest seq queued for this client
        self.close_code: int | None = None  # set once we decided to close
        self.close_reason = ""
        self.client_close_code: int | None = None  # set when the client went away
        self.close_sent = False
        self._asgi_send = asgi_send
        self._outbox: deque[str] | None = None  # created when needed, dropped when drained
        self._outbox_bytes = 0
        self._early: list | None = None  # live frames held back while joining
        self._writer_task: asyncio.Task | None = None
        self._writing = False  # the transport started the writer (after the join)
        self._reader_task: asyncio.Task | None = None  # parked in receive(), see wait_receive

    def __repr__(self) -> str:
        return f"<Connection {self.room} user={getattr(self.user, 'pk', None)} role={self.role}>"

    @property
    def is_staff(self) -> bool:
        return self.role != "viewer"

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "pk", None)

    @property
    def closed(self) -> bool:
        return self.close_code is not None or self.client_close_code is not None

    # -- queueing (synchronous) --

    def _push(self, text: str) -> None:
        if self.closed:
            return
        outbox = self._outbox
        if outbox is None:
            outbox = self._outbox = deque()
        if len(outbox) >= _LIMITS.frames or self._outbox_bytes + len(text) > _LIMITS.bytes:
            self._too_slow()
            return
        outbox.append(text)
        self._outbox_bytes += len(text)
        if self._writer_task is None and self._writing:
            self._start_writer()

    def _too_slow(self) -> None:
        logger.info("live: closing a client that cannot keep up", extra={"room": self.room})
        stuck = self._writer_task
        self._drop_outbox()
        self._early = None
        self._begin_close(CLOSE_TOO_SLOW, "too slow")
        if isinstance(stuck, asyncio.Task):
            # The writer is stuck in a send to a socket that does not drain: stop it there;
            # it then sends the close frame.
            stuck.cancel()

    def _drop_outbox(self) -> None:
        self._outbox = None
        self._outbox_bytes = 0

    def _begin_close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.close_code, self.close_reason = code, reason
        self._early = None
        if self._writer_task is None and self._writing:
            self._start_writer()

    def deliver(self, seq: int, text: str) -> None:
        """A room frame (seq > 0) or a seq-less room frame (presence, reactions; seq 0)."""
        if self._early is not None:
            self._early.append((seq, text))
            if len(self._early) > _LIMITS.frames:
                self._too_slow()
            return
        if seq:
            if seq <= self.sent_seq:
                return
            self.sent_seq = seq
        self._push(text)

    def deliver_batch(self, items: list[tuple[int, str]], text: str) -> None:
        """A coalesced batch: ``items`` are (seq, frame text) in seq order, ``text`` their batch
        frame. A connection that already has some of them (it joined meanwhile) gets the rest."""
        if self._early is not None:
            for item in items:
                self.deliver(*item)
            return
        if items[-1][0] <= self.sent_seq:
            return
        if items[0][0] <= self.sent_seq:
            text = batch_text([item for item in items if item[0] > self.sent_seq])
        self.sent_seq = items[-1][0]
        self._push(text)

    # -- the contract's API --

    async def send(self, frame: dict) -> None:
        """A direct frame to this client (errors, acks), no seq; bounded like everything else."""
        self._push(encode(frame))

    async def close(self, code: int, reason: str = "") -> None:
        """Close after what is already queued has been written."""
        self._begin_close(code, reason)

    # -- used by the transport --

    def start_writing(self) -> None:
        """From now on queued frames are written (the join queued the resume or snapshot)."""
        self._writing = True
        if self._writer_task is None and (self._outbox or self.close_code is not None):
            self._start_writer()

    def _start_writer(self) -> None:
        """Runs the writer at once, in the caller's stack: while the socket takes the frames
        (the usual case) they are written without a task (a task per frame per connection
        was the biggest cost of a fan-out). Only a writer that has to wait for the socket
        continues in a task, so a slow socket never holds up the caller."""
        coro = self._write()
        self._writer_task = _WRITING_NOW
        try:
            waiting_on = coro.send(None)
        except StopIteration:
            return
        except BaseException:
            if self._writer_task is _WRITING_NOW:
                self._writer_task = None
            logger.exception("live: writing to a socket failed", extra={"room": self.room})
            return
        task = asyncio.get_running_loop().create_task(_resume(coro, waiting_on))
        task.add_done_callback(lambda task: self._writer_ended(task, coro))
        self._writer_task = task

    def _writer_ended(self, task: asyncio.Task, coro) -> None:
        """A writer task cancelled before its first step never ran ``_resume``, so the
        cancellation never reached ``_write`` (``_too_slow`` can cancel it in the same pass
        that started it): finish that here, sending the 4008 close if it is still owed."""
        if not task.cancelled() or coro.cr_frame is None:
            return
        if self.close_code == CLOSE_TOO_SLOW and self.client_close_code is None and not self.close_sent:
            again = asyncio.get_running_loop().create_task(_resume(coro, _CANCEL_FIRST))
            # Cancelled before its first step too (the client left in the same pass): same again.
            again.add_done_callback(lambda again: self._writer_ended(again, coro))
            self._writer_task = again
        else:
            coro.close()
            if self._writer_task is task:
                self._writer_task = None

    async def _write(self) -> None:
        send = self._asgi_send
        try:
            outbox = self._outbox
            while outbox:
                text = outbox.popleft()
                self._outbox_bytes -= len(text)
                await send({"type": "websocket.send", "text": text})
            if self._outbox is outbox:
                self._drop_outbox()  # an idle connection keeps no buffer
        except asyncio.CancelledError:
            if self.close_code != CLOSE_TOO_SLOW:
                self._writer_task = None
                raise
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
        except OSError:  # uvicorn's ClientDisconnected is one
            self.client_went_away(1006)
        self._writer_task = None
        if self.close_code is not None and self.client_close_code is None and not self.close_sent:
            self.close_sent = True
            with contextlib.suppress(OSError):
                await send({"type": "websocket.close", "code": self.close_code, "reason": self.close_reason})
            # Servers answer our close with websocket.disconnect; harnesses may not: stop waiting.
            reader = self._reader_task
            if reader is not None:
                reader.cancel()

    async def wait_receive(self, receive):
        """``receive()``, or None once we have sent our close (the reader stops there)."""
        if self.close_sent:
            return None
        self._reader_task = asyncio.current_task()
        try:
            return await receive()
        except asyncio.CancelledError:
            if not self.close_sent:
                raise
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            return None
        finally:
            self._reader_task = None

    def client_went_away(self, code: int) -> None:
        if self.client_close_code is None:
            self.client_close_code = code
        self._drop_outbox()
        self._early = None

    async def finish(self) -> None:
        """Waits for the writer to finish (the connection is over)."""
        task = self._writer_task
        if isinstance(task, asyncio.Task) and not task.done():
            if self.client_close_code is not None:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task

    # -- joining --

    def hold_live_frames(self) -> None:
        self._early = []

    def release_live_frames(self, watermark: int) -> None:
        """Frames up to ``watermark`` were sent by the resume/snapshot: queue the newer ones."""
        early, self._early = self._early, None
        if early is None:
            return
        self.sent_seq = max(self.sent_seq, watermark)
        for seq, text in early:
            self.deliver(seq, text)


_WRITING_NOW = object()  # Connection._writer_task while the writer runs in its caller's stack
_CANCEL_FIRST = object()  # _resume: throw the cancellation into the coroutine before waiting


async def _resume(coro, waiting_on) -> None:
    """Drives ``coro`` (started outside any task, now suspended on ``waiting_on``) to its end,
    the way a task would: resumes it when what it waits for is done, and throws a
    cancellation of this task into it."""
    while True:
        try:
            if waiting_on is _CANCEL_FIRST:
                raise asyncio.CancelledError
            if waiting_on is None:
                await asyncio.sleep(0)  # a bare yield
            else:
                await _until_done(waiting_on)
        except asyncio.CancelledError:
            try:
                waiting_on = coro.throw(asyncio.CancelledError())
            except StopIteration:
                return
            continue
        try:
            waiting_on = coro.send(None)
        except StopIteration:
            return


async def _until_done(future) -> None:
    """Waits for ``future`` without taking its result or exception (the coroutine reads them)."""
    if future.done():
        return
    waiter = asyncio.get_running_loop().create_future()

    def wake(_):
        if not waiter.done():
            waiter.set_result(None)

    future.add_done_callback(wake)
    try:
        await waiter
    finally:
        future.remove_done_callback(wake)


def batch_text(items: list[tuple[int, str]]) -> str:
    """``{"type":"batch","seq":<last>,"items":[...]}`` from already encoded frames."""
    return f'{{"type":"batch","seq":{items[-1][0]},"items":[{",".join(text for _, text in items)}]}}'


# --- a room in this process ----------------------------------------------------------------


class _Room:
    __slots__ = (
        "key", "conns", "pending", "reactions", "reactions_out", "flush_handle", "last_presence",
        "last_seq", "epoch", "ready",
    )

    def __init__(self, key: str):
        self.key = key
        self.conns: dict[Connection, None] = {}  # insertion-ordered set
        self.pending: list[tuple[int, str, bool]] = []  # coalesced (seq, text, staff_only)
        self.reactions: dict[str, int] = {}  # to deliver to local sockets
        self.reactions_out: dict[str, int] = {}  # Redis: local reactions to share with the others
        self.flush_handle: asyncio.TimerHandle | None = None
        self.last_presence: int | None = None
        self.last_seq = 0  # highest seq dispatched here
        self.epoch: str | None = None  # Redis: the epoch of that sequence
        self.ready: asyncio.Future | None = None  # Redis: resolved once subscribed


class Hub:
    """The process's room hub. ``MemoryHub`` without REDIS_URL, ``RedisHub`` with it."""

    def __init__(self):
        _LIMITS.frames = _setting("LIVE_OUTBOX_FRAMES", 512)
        _LIMITS.bytes = _setting("LIVE_OUTBOX_BYTES", 512 * 1024)
        self.id = uuid.uuid4().hex[:12]
        self._rooms: dict[str, _Room] = {}
        self._ticker: asyncio.Task | None = None
        self._closed = False
        self.buffer_size = _setting("LIVE_RESUME_BUFFER", 1000)
        self.buffer_ttl = _setting("LIVE_RESUME_TTL_SECONDS", 300)
        self.send_budget = _setting("LIVE_SEND_BUDGET", 20000)
        self.coalesce_min = _setting("LIVE_COALESCE_MIN_SECONDS", 0.1)
        self.coalesce_max = _setting("LIVE_COALESCE_MAX_SECONDS", 3.0)
        self.presence_interval = _setting("LIVE_PRESENCE_SECONDS", 1.0)
        self._listeners: list = []

    # ---- the contract ----

    async def publish(self, room: str, frame: dict, *, audience: str = "all", coalesce: bool = False) -> int:
        """Assigns the room-wide seq (``frame["seq"]``), keeps the frame in the resume buffer and
        delivers it to every process's connections of the room, in seq order. Returns the seq."""
        if audience not in ("all", "staff"):
            raise ValueError(f"unknown audience {audience!r}")
        body = encode({k: v for k, v in frame.items() if k != "seq"})
        seq = await self._publish(room, body, audience == "staff", coalesce)
        frame["seq"] = seq
        return seq

    async def react(self, room: str, reaction: str, count: int = 1) -> None:
        """Counted, never forwarded one by one: ``{"type": "reactions", "counts": {...}}`` at
        most once per room per interval."""
        raise NotImplementedError

    async def kick(self, room: str, *, user_id: int, code: int, reason: str = "") -> None:
        """Closes that user's connections in the room on every process."""
        raise NotImplementedError

    async def announce(self, room: str, event: dict) -> None:
        """Tells the room's handler on every process that holds connections of the room (an
        event for the server, never sent to clients): each calls its listeners with
        ``(room, event)``. E.g. the end of a lecture, so every process stops taking messages."""
        raise NotImplementedError

    def add_listener(self, listener) -> None:
        """``listener(room, event)``, called on the hub's loop for every announced event of a
        room this process holds; it must not block (schedule async work)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def _notify(self, room: str, event: dict) -> None:
        for listener in list(self._listeners):
            try:
                listener(room, event)
            except Exception:
                logger.exception("live: a room event listener failed", extra={"room": room})

    def local_viewers(self, room: str) -> int:
        local = self._rooms.get(room)
        return len(local.conns) if local else 0

    async def viewers(self, room: str) -> int:
        raise NotImplementedError

    async def peak_viewers(self, room: str) -> int:
        raise NotImplementedError

    # ---- used by the transport ----

    async def join(self, conn: Connection, handler) -> None:
        """Adds the connection to its room and queues what it must see first: the frames after
        its ``last_seq`` from the resume buffer (only if its ``epoch`` is the room's), or a
        snapshot from ``handler`` with the room's ``seq`` and ``epoch``."""
        local = await self._enter(conn.room)
        conn.hold_live_frames()
        local.conns[conn] = None
        self._joined(local)
        self._ensure_ticker()
        try:
            missed = None
            if conn.last_seq is not None and conn.epoch is not None:
                missed = await self._since(conn.room, conn.last_seq, conn.epoch)
            if missed is not None:
                watermark = conn.last_seq
                for seq, text, staff_only in missed:
                    if conn.is_staff or not staff_only:
                        conn._push(text)
                    watermark = seq
                conn.release_live_frames(watermark)
            else:
                # Read the seq BEFORE the snapshot: a frame is published after its change is
                # committed, so every frame up to it is reflected in the snapshot.
                seq, epoch = await self._sequence(conn.room)
                conn.epoch = epoch
                snapshot = await handler.snapshot(conn)
                snapshot = dict(snapshot, seq=seq, epoch=epoch)
                snapshot.setdefault("type", "snapshot")
                conn._push(encode(snapshot))
                conn.release_live_frames(seq)
            self._epoch_seen(local, conn.epoch)
        except BaseException:
            self.leave(conn)
            raise

    def leave(self, conn: Connection) -> None:
        local = self._rooms.get(conn.room)
        if local is None or conn not in local.conns:
            return
        del local.conns[conn]
        if not local.conns:
            self._room_emptied(local)

    async def aclose(self) -> None:
        """Stops the background work (tests: each event loop gets its own hub)."""
        self._closed = True
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._ticker
            self._ticker = None
        for local in self._rooms.values():
            if local.flush_handle is not None:
                local.flush_handle.cancel()
        self._rooms.clear()

    # ---- local delivery ----

    def _dispatch(self, key: str, seq: int, text: str, staff_only: bool, coalesce: bool) -> None:
        local = self._rooms.get(key)
        if local is None:
            return
        if seq:
            local.last_seq = max(local.last_seq, seq)
        if coalesce:
            local.pending.append((seq, text, staff_only))
            self._schedule_flush(local)
            return
        if local.pending:
            self._flush_batch(local)  # keep seq order: earlier coalesced frames go first
        for conn in local.conns:
            if conn.is_staff or not staff_only:
                conn.deliver(seq, text)

    def _kick_local(self, room: str, user_id: int, code: int, reason: str) -> None:
        local = self._rooms.get(room)
        if local is None:
            return
        for conn in list(local.conns):
            if conn.user_id == user_id:
                conn._begin_close(code, reason)

    def _joined(self, local: _Room) -> None:
        pass

    def _epoch_seen(self, local: _Room, epoch: str) -> None:
        """Redis: notices a restarted sequence (memory: one epoch per hub and room, never)."""

    def _deliver_unsequenced(self, local: _Room, frame: dict) -> None:
        text = encode(frame)
        for conn in local.conns:
            conn.deliver(0, text)

    def interval(self, local_viewers: int) -> float:
        """The coalescing interval of a room with this many local viewers (module docstring)."""
        wanted = 4 * local_viewers / max(1, self.send_budget)
        return min(self.coalesce_max, max(self.coalesce_min, wanted))

    def _schedule_flush(self, local: _Room) -> None:
        if local.flush_handle is None and not self._closed:
            loop = asyncio.get_running_loop()
            local.flush_handle = loop.call_later(self.interval(len(local.conns)), self._flush, local)

    def _flush(self, local: _Room) -> None:
        local.flush_handle = None
        if local.pending:
            self._flush_batch(local)
        if local.reactions_out:
            self._share_reactions(local)
        if local.reactions:
            counts, local.reactions = local.reactions, {}
            self._deliver_unsequenced(local, {"type": "reactions", "counts": counts})

    def _flush_batch(self, local: _Room) -> None:
        pending, local.pending = local.pending, []
        everyone = [(seq, text) for seq, text, staff_only in pending if not staff_only]
        staff = [(seq, text) for seq, text, _ in pending]
        everyone_text = batch_text(everyone) if everyone else None
        staff_text = everyone_text if len(staff) == len(everyone) else batch_text(staff)
        for conn in local.conns:
            if conn.is_staff:
                conn.deliver_batch(staff, staff_text)
            elif everyone:
                conn.deliver_batch(everyone, everyone_text)

    def _share_reactions(self, local: _Room) -> None:
        local.reactions_out = {}

    def _add_reactions(self, local: _Room, counts: dict[str, int]) -> None:
        for name, count in counts.items():
            local.reactions[name] = local.reactions.get(name, 0) + count
        self._schedule_flush(local)

    # ---- presence ----

    def _ensure_ticker(self) -> None:
        if self._ticker is None and not self._closed:
            self._ticker = asyncio.get_running_loop().create_task(self._presence_loop())

    async def _presence_loop(self) -> None:
        while True:
            await asyncio.sleep(self.presence_interval)
            try:
                await self._presence_tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("live: presence tick failed")

    async def _presence_tick(self) -> None:
        for local in list(self._rooms.values()):
            if not local.conns:
                continue
            count = await self._report_presence(local)
            if count != local.last_presence:
                local.last_presence = count
                self._deliver_unsequenced(local, {"type": "presence", "viewers": count})

    # ---- backend ----

    async def _enter(self, key: str) -> _Room:
        raise NotImplementedError

    def _room_emptied(self, local: _Room) -> None:
        raise NotImplementedError

    async def _publish(self, room: str, body: str, staff_only: bool, coalesce: bool) -> int:
        raise NotImplementedError

    async def _since(self, room: str, last_seq: int, epoch: str | None = None) -> list | None:
        """The buffered frames after ``last_seq``: ``[]`` if up to date, None if they are gone,
        if ``last_seq`` is ahead of the sequence, or if ``epoch`` is given and is not the
        sequence's (it restarted since)."""
        raise NotImplementedError

    async def _sequence(self, room: str) -> tuple[int, str]:
        """The room's current ``(seq, epoch)``; makes the epoch if the sequence has none yet."""
        raise NotImplementedError

    async def _report_presence(self, local: _Room) -> int:
        raise NotImplementedError


# --- one process: memory --------------------------------------------------------------------


class MemoryHub(Hub):
    """Everything in this process (development, the default test run)."""

    def __init__(self):
        super().__init__()
        self._seq: dict[str, int] = {}
        self._epochs: dict[str, str] = {}  # made with the room's sequence, per hub (process)
        self._buffers: dict[str, deque] = {}
        self._touched: dict[str, float] = {}
        self._peaks: dict[str, int] = {}

    async def _enter(self, key: str) -> _Room:
        local = self._rooms.get(key)
        if local is None:
            local = self._rooms[key] = _Room(key)
            local.last_seq = self._seq.get(key, 0)
        return local

    def _room_emptied(self, local: _Room) -> None:
        if local.flush_handle is not None:
            local.flush_handle.cancel()
        self._rooms.pop(local.key, None)

    def _expire(self, room: str) -> None:
        touched = self._touched.get(room)
        if touched is not None and time.monotonic() - touched > self.buffer_ttl:
            self._buffers.pop(room, None)

    async def _publish(self, room: str, body: str, staff_only: bool, coalesce: bool) -> int:
        self._expire(room)
        seq = self._seq.get(room, 0) + 1
        self._seq[room] = seq
        self._epoch(room)
        text = _with_seq(seq, body)
        buffer = self._buffers.get(room)
        if buffer is None:
            buffer = self._buffers[room] = deque(maxlen=self.buffer_size)
        buffer.append((seq, text, staff_only))
        self._touched[room] = time.monotonic()
        self._dispatch(room, seq, text, staff_only, coalesce)
        return seq

    def _epoch(self, room: str) -> str:
        epoch = self._epochs.get(room)
        if epoch is None:
            epoch = self._epochs[room] = new_epoch()
        return epoch

    async def _since(self, room: str, last_seq: int, epoch: str | None = None):
        self._expire(room)
        current = self._seq.get(room, 0)
        if epoch is not None and epoch != self._epochs.get(room):
            return None
        if last_seq > current:
            return None
        if last_seq == current:
            return []
        buffer = self._buffers.get(room)
        if not buffer or buffer[0][0] > last_seq + 1:
            return None
        return [item for item in buffer if item[0] > last_seq]

    async def _sequence(self, room: str) -> tuple[int, str]:
        return self._seq.get(room, 0), self._epoch(room)

    async def react(self, room: str, reaction: str, count: int = 1) -> None:
        local = self._rooms.get(room)
        if local is not None:
            self._add_reactions(local, {reaction: count})

    async def kick(self, room: str, *, user_id: int, code: int, reason: str = "") -> None:
        self._kick_local(room, user_id, code, reason)

    async def announce(self, room: str, event: dict) -> None:
        self._notify(room, event)

    def _joined(self, local: _Room) -> None:
        count = len(local.conns)
        if count > self._peaks.get(local.key, 0):
            self._peaks[local.key] = count

    async def viewers(self, room: str) -> int:
        count = self.local_viewers(room)
        self._peaks[room] = max(self._peaks.get(room, 0), count)
        return count

    async def peak_viewers(self, room: str) -> int:
        return max(self._peaks.get(room, 0), self.local_viewers(room))

    async def _report_presence(self, local: _Room) -> int:
        return await self.viewers(local.key)


# --- several processes: Redis ---------------------------------------------------------------

# KEYS: sequence (a hash: n, epoch), buffer. ARGV: body (encoded object without seq), flag,
# buffer size, buffer TTL, channel, sequence TTL, a new epoch. The entry is
# "<flag><seq>:<epoch>|<frame>": the same string is buffered and published, and the frame text
# is built here so that seq order == publish order. A sequence without an epoch is new (first
# frame, or its key was lost: flush, failover, expiry): it gets the new epoch here, and whatever
# buffer survived is dropped.
_PUBLISH_LUA = """
local seq = redis.call('HINCRBY', KEYS[1], 'n', 1)
if redis.call('HSETNX', KEYS[1], 'epoch', ARGV[7]) == 1 then redis.call('DEL', KEYS[2]) end
local epoch = redis.call('HGET', KEYS[1], 'epoch')
redis.call('EXPIRE', KEYS[1], ARGV[6])
local body = ARGV[1]
local text
if body == '{}' then text = '{"seq":' .. seq .. '}'
else text = '{"seq":' .. seq .. ',' .. string.sub(body, 2) end
local entry = ARGV[2] .. seq .. ':' .. epoch .. '|' .. text
redis.call('RPUSH', KEYS[2], entry)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[5], entry)
return seq
"""

# KEYS: sequence, buffer. ARGV: a new epoch, sequence TTL. Returns {n, epoch}, making the
# sequence (n = 0, the new epoch; no buffer) if it has no epoch yet.
_SEQUENCE_LUA = """
if redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1]) == 1 then
  redis.call('HSETNX', KEYS[1], 'n', 0)
  redis.call('DEL', KEYS[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return redis.call('HMGET', KEYS[1], 'n', 'epoch')
"""

SEQUENCE_TTL = 86400

# KEYS: presence hash, peak. ARGV: this process's id, its count, now (ms), entry TTL (ms).
# Returns the viewers across processes (fresh entries only) and keeps the peak.
_PRESENCE_LUA = """
local now = tonumber(ARGV[3])
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. (now + tonumber(ARGV[4])))
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local entries = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #entries, 2 do
  local value = entries[i + 1]
  local sep = string.find(value, ':')
  if tonumber(string.sub(value, sep + 1)) < now then
    redis.call('HDEL', KEYS[1], entries[i])
  else
    total = total + tonumber(string.sub(value, 1, sep - 1))
  end
end
local peak = tonumber(redis.call('GET', KEYS[2]) or '0')
if total > peak then redis.call('SET', KEYS[2], total, 'EX', 86400) end
return total
"""

_FLAGS = {(False, False): "A", (True, False): "S", (False, True): "a", (True, True): "s"}
_KICK, _REACTIONS, _EVENT = "K", "R", "E"


def _parse_entry(entry: str) -> tuple[str, int, str, str]:
    """``(flag, seq, epoch, frame text)`` of a buffered or published entry."""
    bar = entry.index("|")
    seq, _, epoch = entry[1:bar].partition(":")
    return entry[0], int(seq), epoch, entry[bar + 1:]


class RedisHub(Hub):
    """Several processes: one Redis pub/sub subscription per room per process."""

    def __init__(self, redis):
        super().__init__()
        self.redis = redis
        self._pubsub = None
        self._reader: asyncio.Task | None = None
        self._publish_script = redis.register_script(_PUBLISH_LUA)
        self._presence_script = redis.register_script(_PRESENCE_LUA)
        self._sequence_script = redis.register_script(_SEQUENCE_LUA)
        self._channels: dict[str, str] = {}  # channel -> room key
        self._subscriptions = asyncio.Lock()  # SUBSCRIBE/UNSUBSCRIBE of one channel in order

    def _channel(self, room: str) -> str:
        return live_key("room", room)

    async def _enter(self, key: str) -> _Room:
        local = self._rooms.get(key)
        if local is None:
            local = self._rooms[key] = _Room(key)
            local.ready = asyncio.get_running_loop().create_future()
            channel = self._channel(key)
            self._channels[channel] = key
            try:
                async with self._subscriptions:
                    if self._pubsub is None:
                        self._pubsub = self.redis.pubsub()
                    await self._pubsub.subscribe(channel)
                if self._reader is None:
                    self._reader = asyncio.get_running_loop().create_task(self._read_loop())
            except BaseException as error:
                self._rooms.pop(key, None)
                self._channels.pop(channel, None)
                if not local.ready.done():
                    local.ready.set_exception(error)
                    local.ready.exception()  # retrieved: no "never retrieved" warning
                raise
        if local.ready is not None and not local.ready.done():
            await asyncio.shield(local.ready)
        return local

    def _room_emptied(self, local: _Room) -> None:
        if local.flush_handle is not None:
            local.flush_handle.cancel()
            local.flush_handle = None
        if local.reactions_out:
            self._share_reactions(local)
        self._rooms.pop(local.key, None)
        channel = self._channel(local.key)
        self._channels.pop(channel, None)
        if self._pubsub is not None and not self._closed:
            asyncio.get_running_loop().create_task(self._unsubscribe(channel, local))

    async def _unsubscribe(self, channel: str, local: _Room) -> None:
        try:
            async with self._subscriptions:
                # The room may have been entered again meanwhile: then it stays subscribed.
                if channel not in self._channels and self._pubsub is not None:
                    await self._pubsub.unsubscribe(channel)
            await self._presence_script(
                keys=[live_key("presence", local.key), live_key("peak", local.key)],
                args=[self.id, 0, int(time.time() * 1000), self._presence_ttl_ms()],
            )
        except Exception:
            logger.warning("live: unsubscribe failed", exc_info=True)

    async def _read_loop(self) -> None:
        while not self._closed:
            try:
                message = await self._pubsub.get_message(ignore_subscribe_messages=False, timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("live: Redis subscription failed; retrying")
                await asyncio.sleep(0.5)
                continue
            if message is None:
                continue
            kind = message["type"]
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else channel
            key = self._channels.get(channel)
            local = self._rooms.get(key) if key else None
            if kind == "subscribe":
                if local is not None and local.ready is not None and not local.ready.done():
                    local.ready.set_result(None)
                continue
            if kind != "message" or local is None:
                continue
            data = message["data"]
            entry = data.decode() if isinstance(data, bytes) else data
            try:
                await self._receive(local, entry)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("live: bad room message")

    async def _receive(self, local: _Room, entry: str) -> None:
        flag = entry[0]
        if flag == _KICK:
            payload = json.loads(entry[1:])
            self._kick_local(local.key, payload["user_id"], payload["code"], payload["reason"])
            return
        if flag == _REACTIONS:
            self._add_reactions(local, json.loads(entry[1:]))
            return
        if flag == _EVENT:
            self._notify(local.key, json.loads(entry[1:]))
            return
        flag, seq, epoch, text = _parse_entry(entry)
        self._epoch_seen(local, epoch)
        if local.last_seq and seq > local.last_seq + 1:
            # A message was lost (a Redis reconnect): fill the gap from the buffer.
            missed = await self._since(local.key, local.last_seq, epoch) or []
            for item_seq, item_text, staff_only in missed:
                if item_seq < seq:
                    self._dispatch(local.key, item_seq, item_text, staff_only, False)
        self._dispatch(local.key, seq, text, flag in "Ss", flag in "as")

    def _epoch_seen(self, local: _Room, epoch: str) -> None:
        """A frame or a join of the room's sequence ``epoch``. A different epoch than the one
        this process knew means the sequence restarted (its Redis keys were lost): the local
        connections of the old epoch would take the new, lower seq numbers as seen, so they
        are closed with 4012 and come back for a snapshot; pending old frames are dropped."""
        if epoch == local.epoch:
            return
        if local.epoch is not None:
            logger.warning("live: the room's sequence restarted", extra={"room": local.key})
            local.last_seq = 0
            local.pending = []
            for conn in list(local.conns):
                if conn.epoch is not None and conn.epoch != epoch:
                    conn._begin_close(CLOSE_RESYNC, "room restarted")
        local.epoch = epoch

    async def _publish(self, room: str, body: str, staff_only: bool, coalesce: bool) -> int:
        return int(await self._publish_script(
            keys=[live_key("sequence", room), live_key("buffer", room)],
            args=[body, _FLAGS[staff_only, coalesce], self.buffer_size, self.buffer_ttl,
                  self._channel(room), SEQUENCE_TTL, new_epoch()],
        ))

    async def _since(self, room: str, last_seq: int, epoch: str | None = None):
        pipe = self.redis.pipeline(transaction=True)
        pipe.hmget(live_key("sequence", room), "n", "epoch")
        pipe.lrange(live_key("buffer", room), 0, -1)
        (current, current_epoch), entries = await pipe.execute()
        current = int(current or 0)
        if isinstance(current_epoch, bytes):
            current_epoch = current_epoch.decode()
        if epoch is not None and epoch != current_epoch:
            return None
        if last_seq > current:
            return None
        if last_seq == current:
            return []
        items = []
        for raw in entries:
            flag, seq, _, text = _parse_entry(raw.decode() if isinstance(raw, bytes) else raw)
            items.append((seq, text, flag in "Ss"))
        if not items or items[0][0] > last_seq + 1:
            return None
        return [item for item in items if item[0] > last_seq]

    async def _sequence(self, room: str) -> tuple[int, str]:
        seq, epoch = await self._sequence_script(
            keys=[live_key("sequence", room), live_key("buffer", room)], args=[new_epoch(), SEQUENCE_TTL])
        return int(seq or 0), epoch.decode() if isinstance(epoch, bytes) else epoch

    async def react(self, room: str, reaction: str, count: int = 1) -> None:
        local = self._rooms.get(room)
        if local is None:
            # No local socket: share at once (rare: reactions come from a local socket).
            await self.redis.publish(self._channel(room), _REACTIONS + encode({reaction: count}))
            return
        local.reactions_out[reaction] = local.reactions_out.get(reaction, 0) + count
        self._schedule_flush(local)

    def _share_reactions(self, local: _Room) -> None:
        counts, local.reactions_out = local.reactions_out, {}
        if not self._closed:
            asyncio.get_running_loop().create_task(
                self.redis.publish(self._channel(local.key), _REACTIONS + encode(counts)))

    async def kick(self, room: str, *, user_id: int, code: int, reason: str = "") -> None:
        payload = encode({"user_id": user_id, "code": code, "reason": reason})
        await self.redis.publish(self._channel(room), _KICK + payload)
        # Local sockets at once too (the message comes back as well; closing twice is a no-op).
        self._kick_local(room, user_id, code, reason)

    async def announce(self, room: str, event: dict) -> None:
        # Every subscribed process, this one included, gets it back from Redis; a process with
        # no connection in the room is not subscribed and has nothing to stop.
        await self.redis.publish(self._channel(room), _EVENT + encode(event))

    def _presence_ttl_ms(self) -> int:
        return int(max(5.0, 5 * self.presence_interval) * 1000)

    async def _report_presence(self, local: _Room) -> int:
        return int(await self._presence_script(
            keys=[live_key("presence", local.key), live_key("peak", local.key)],
            args=[self.id, len(local.conns), int(time.time() * 1000), self._presence_ttl_ms()],
        ))

    async def viewers(self, room: str) -> int:
        local = self._rooms.get(room)
        return int(await self._presence_script(
            keys=[live_key("presence", room), live_key("peak", room)],
            args=[self.id, len(local.conns) if local else 0, int(time.time() * 1000),
                  self._presence_ttl_ms()],
        ))

    async def peak_viewers(self, room: str) -> int:
        await self.viewers(room)
        return int(await self.redis.get(live_key("peak", room)) or 0)

    async def aclose(self) -> None:
        await super().aclose()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = None


# --- one hub per event loop -------------------------------------------------------------------

_hubs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """The hub of the running event loop (one per loop: a server process has one)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        # LIVE_HUB_BACKEND = "memory" keeps one process on the memory hub even with Redis
        # configured (the benchmark's in-memory path); unset, Redis whenever REDIS_URL is.
        redis = None if _setting("LIVE_HUB_BACKEND", "") == "memory" else get_redis()
        hub = RedisHub(redis) if redis is not None else MemoryHub()
        _hubs[loop] = hub
    return hub


async def reset_hub() -> None:
    """Closes and forgets the running loop's hub (tests)."""
    hub = _hubs.pop(asyncio.get_running_loop(), None)
    if hub is not None:
        await hub.aclose()
