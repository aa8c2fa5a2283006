"""Replay: chat kept for the replay player, written in batches, and read back by time window.

Each process buffers the chat messages it accepted and bulk-inserts them every
``LIVE_CHAT_FLUSH_SECONDS`` (2 s), as soon as ``LIVE_CHAT_FLUSH_SIZE`` (200) are waiting, at
lecture end and at shutdown. Questions are inserted when asked (live.questions); both carry
their offset into the lecture, which is what the replay API pages by.
"""

from __future__ import annotations

import base64
import binascii
import logging

from channels.db import database_sync_to_async

from live import services
from live.protocol import setting
from live.selectors import replay_chat, replay_questions

logger = logging.getLogger(__name__)


def deleted_key(lecture_id: int) -> str:
    return f"chat:{lecture_id}:deleted"


class ChatBuffer:
    """This process's chat waiting to be written."""

    def __init__(self):
        self.pending: list[dict] = []

    def add(self, row: dict) -> bool:
        """Buffers one message; True when the buffer is full enough to flush now."""
        self.pending.append(row)
        return len(self.pending) >= int(setting("LIVE_CHAT_FLUSH_SIZE", 200))

    async def flush(self, store) -> int:
        """Writes what is buffered (one bulk insert), then marks those deleted meanwhile."""
        if not self.pending:
            return 0
        rows, self.pending = self.pending, []
        try:
            await database_sync_to_async(services.chat_messages_persist)(messages=rows, deleted={})
            lectures = {row["lecture_id"] for row in rows}
            deleted = {lid: {n for n in await store.set_members(deleted_key(lid)) if isinstance(n, int)}
                       for lid in lectures}
            await database_sync_to_async(services.chat_messages_mark_deleted)(deleted=deleted)
        except Exception:
            # Keep them for the next flush rather than lose the replay (inserts are idempotent).
            logger.exception("chat flush failed; %s messages kept for the next one", len(rows))
            self.pending[:0] = rows
            return 0
        return len(rows)


# --- reading by time window --------------------------------------------------------------------

def encode_cursor(offset_ms: int, kind: int, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{offset_ms}:{kind}:{pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int, int] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        offset_ms, kind, pk = (int(part) for part in raw.split(":"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if offset_ms < 0 or kind not in (0, 1) or not 0 <= pk < 2**63:
        return None
    return offset_ms, kind, pk


CHAT, QUESTION = 0, 1


def replay_page(*, lecture, start_ms: int, end_ms: int, after: tuple[int, int, int] | None, size: int):
    """One page of the replay: chat (deleted left out) and questions with offset in
    [start_ms, end_ms), ordered by (offset, chat before questions, id), after the cursor.
    Returns (items, next cursor or None); two indexed queries of at most size + 1 rows each."""
    chat = replay_chat(lecture=lecture, start_ms=start_ms, end_ms=end_ms)
    questions = replay_questions(lecture=lecture, start_ms=start_ms, end_ms=end_ms)
    if after is not None:
        offset_ms, kind, pk = after
        from django.db.models import Q

        chat = chat.filter(Q(offset_ms__gt=offset_ms) | Q(offset_ms=offset_ms, number__gt=pk)
                           if kind == CHAT else Q(offset_ms__gt=offset_ms))
        questions = questions.filter(Q(offset_ms__gt=offset_ms) | Q(offset_ms=offset_ms, pk__gt=pk)
                                     if kind == QUESTION else Q(offset_ms__gte=offset_ms))
    merged = [((m.offset_ms, CHAT, m.number), m) for m in chat[:size + 1]]
    merged += [((q.offset_ms, QUESTION, q.pk), q) for q in questions[:size + 1]]
    merged.sort(key=lambda item: item[0])
    page = merged[:size]
    next_cursor = encode_cursor(*page[-1][0]) if len(merged) > size else None
    return [(key[1], obj) for key, obj in page], next_cursor
