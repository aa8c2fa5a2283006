"""Shared pieces of the room protocol (docs/live-protocol.md): the refusal a message handler
raises, the checks of incoming fields, the room's clock and the coalesced publisher."""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Awaitable, Callable

from django.conf import settings
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


class RoomError(Exception):
    """A client frame refused: becomes ``{"type": "error", "id", "code", "message", **extra}``
    sent to that client only."""

    def __init__(self, code: str, message: str, **extra):
        super().__init__(code, message)
        self.code = code
        self.message = str(message)
        self.extra = extra


def setting(name: str, default):
    return getattr(settings, name, default)


def now() -> float:
    """Unix time of the server (answers' deadlines are checked against it, never the client's)."""
    return time.time()


def iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, tz=datetime.UTC).isoformat()


# --- field checks ----------------------------------------------------------------------------

def int_field(message: dict, name: str, *, low: int = 1, high: int = 2**63 - 1) -> int:
    value = message.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RoomError("bad_request", _("%(field)s must be a whole number from %(low)s to %(high)s.")
                        % {"field": name, "low": low, "high": high}, field=name)
    return value


def bool_field(message: dict, name: str) -> bool:
    value = message.get(name)
    if not isinstance(value, bool):
        raise RoomError("bad_request", _("%(field)s must be true or false.") % {"field": name}, field=name)
    return value


def text_field(message: dict, name: str, *, max_length: int, required: bool = True) -> str:
    value = message.get(name, "" if not required else None)
    if not isinstance(value, str):
        raise RoomError("bad_request", _("%(field)s must be text.") % {"field": name}, field=name)
    value = value.strip()
    if required and not value:
        raise RoomError("empty", _("%(field)s is empty.") % {"field": name}, field=name)
    if len(value) > max_length:
        raise RoomError("too_long", _("%(field)s is longer than %(n)s characters.")
                        % {"field": name, "n": max_length}, field=name, max_length=max_length)
    if "\x00" in value:
        raise RoomError("bad_request", _("%(field)s contains a NUL character.") % {"field": name}, field=name)
    return value


# --- coalesced frames ------------------------------------------------------------------------

_background: set[asyncio.Task] = set()


def spawn(coro: Awaitable) -> asyncio.Task:
    """Runs ``coro`` in the background, keeping a reference (asyncio keeps only weak ones)."""
    task = asyncio.ensure_future(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


async def drain_background() -> None:
    """Waits for the background work of this loop (tests; shutdown)."""
    loop = asyncio.get_running_loop()
    while pending := [t for t in _background if t.get_loop() is loop and not t.done()]:
        await asyncio.gather(*pending, return_exceptions=True)


def coalesce_interval() -> float:
    return float(setting("LIVE_COALESCE_SECONDS", 1.0))


async def publish_coalesced(store, claim_key: str, publish: Callable[[], Awaitable[None]]) -> None:
    """At most about one ``publish()`` per interval for ``claim_key`` across every process: the
    first caller claims the key (for 0.9 of the interval) and publishes after the interval,
    reading the state then, so changes made meanwhile ride along; a change after that read
    finds the claim expired and schedules the next frame. No update is lost."""
    interval = coalesce_interval()
    if await store.claim(claim_key, interval * 0.9):
        async def later():
            await asyncio.sleep(interval)
            try:
                await publish()
            except Exception:
                logger.exception("coalesced publish %s failed", claim_key)

        spawn(later())


# --- the room as the process knows it ----------------------------------------------------------

class RoomInfo:
    """What a process keeps about a lecture whose room it serves (refreshed on every connect
    and every attendance flush)."""

    __slots__ = ("lecture_id", "key", "title", "state", "went_live_at", "play_url")

    def __init__(self, *, lecture_id: int, key: str, title: str, state: str, went_live_at, play_url: str):
        self.lecture_id = lecture_id
        self.key = key
        self.title = title
        self.state = state
        self.went_live_at = went_live_at
        self.play_url = play_url

    def offset_ms(self, at: float) -> int:
        """Milliseconds into the lecture (0 before it went live)."""
        if self.went_live_at is None:
            return 0
        return max(0, int((at - self.went_live_at.timestamp()) * 1000))

    def public(self) -> dict:
        return {"id": self.lecture_id, "title": self.title, "state": self.state,
                "went_live_at": self.went_live_at.isoformat() if self.went_live_at else None,
                "play_url": self.play_url}


def display_name(user) -> str:
    """The name shown in the room: the display name, never a student's real name."""
    return user.display_name or user.username


def user_brief(user) -> dict:
    return {"id": user.pk, "name": display_name(user)}
