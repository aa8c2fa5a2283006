"""Attendance: join/leave intervals per viewer, summed in this process's memory and written in
batches (``LIVE_ATTENDANCE_FLUSH_SECONDS``, 30 s, and at lecture end and shutdown).

No database write per connection, message or heartbeat: a join and a leave change two dicts;
a flush turns everything since the last flush into one upsert per 500 (lecture, user) pairs
that ADDS seconds to the row (live.services.attendance_add), so several processes, and
several flushes, sum correctly. A user with two tabs open counts once (open intervals per user,
not per socket, within a process).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from live.services import AttendanceRow


def _dt(ts: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ts, tz=datetime.UTC)


@dataclass
class _Pending:
    seconds: float = 0.0
    joins: int = 0
    first: float | None = None
    last: float | None = None


class AttendanceTracker:
    """This process's attendance since the last flush."""

    def __init__(self):
        self.open: dict[tuple[int, int], list] = {}  # (lecture, user) -> [sockets, since]
        self.pending: dict[tuple[int, int], _Pending] = {}

    def _pending(self, key) -> _Pending:
        entry = self.pending.get(key)
        if entry is None:
            entry = self.pending[key] = _Pending()
        return entry

    def join(self, lecture_id: int, user_id: int, at: float) -> None:
        key = (lecture_id, user_id)
        entry = self._pending(key)
        entry.joins += 1
        entry.first = at if entry.first is None else min(entry.first, at)
        entry.last = at
        current = self.open.get(key)
        if current is None:
            self.open[key] = [1, at]
        else:
            current[0] += 1

    def leave(self, lecture_id: int, user_id: int, at: float) -> None:
        key = (lecture_id, user_id)
        current = self.open.get(key)
        if current is None:
            return
        current[0] -= 1
        if current[0] > 0:
            return
        del self.open[key]
        entry = self._pending(key)
        entry.seconds += max(0.0, at - current[1])
        entry.last = at

    def drain(self, at: float, *, lecture_id: int | None = None) -> list[AttendanceRow]:
        """Everything since the last drain (of one lecture, or all): closed intervals, and open
        ones up to ``at`` (they continue from ``at``)."""
        for key, current in self.open.items():
            if lecture_id is not None and key[0] != lecture_id:
                continue
            entry = self._pending(key)
            entry.seconds += max(0.0, at - current[1])
            entry.last = at
            current[1] = at
        keys = [k for k in self.pending if lecture_id is None or k[0] == lecture_id]
        rows = []
        carried = {}
        for key in keys:
            entry = self.pending.pop(key)
            whole = int(entry.seconds)
            if whole == 0 and entry.joins == 0:
                carried[key] = entry
                continue
            # Fractions of a second wait for the next flush rather than being lost.
            if entry.seconds - whole:
                carried[key] = _Pending(seconds=entry.seconds - whole)
            rows.append(AttendanceRow(lecture_id=key[0], user_id=key[1], seconds=whole, joins=entry.joins,
                                      first_joined_at=_dt(entry.first if entry.first is not None else at),
                                      last_seen_at=_dt(entry.last if entry.last is not None else at)))
        self.pending.update(carried)
        return rows

    def restore(self, rows: list[AttendanceRow]) -> None:
        """Puts back rows a failed flush could not write."""
        for row in rows:
            entry = self._pending((row.lecture_id, row.user_id))
            entry.seconds += row.seconds
            entry.joins += row.joins
            first, last = row.first_joined_at.timestamp(), row.last_seen_at.timestamp()
            entry.first = first if entry.first is None else min(entry.first, first)
            entry.last = last if entry.last is None else max(entry.last, last)

    def lectures(self) -> set[int]:
        return {key[0] for key in self.open} | {key[0] for key in self.pending}
