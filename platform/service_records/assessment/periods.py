"""Assessment periods and the buckets duties are counted in.

A scheme's period is a range of local days (``period_start`` .. ``period_end``, inclusive, in
``TIME_ZONE``, Asia/Shanghai). A duty (a leaf with a required minimum) is counted per
``period``, ``year`` (calendar year), ``term`` or ``month``: the period is cut into buckets at
those boundaries and the minimum must be met in every bucket.

Terms: a school year has terms starting on the days listed in ``ASSESSMENT_TERM_STARTS``
(``MM-DD``; default ``02-01`` and ``08-01``: the spring term February-July and the autumn
term August-January).

A period rarely starts on a term (or year, or month) boundary: a calendar-year period starts
with January, the tail of the autumn term. A fragment at either end of the period that covers
less than half of its term (year, month) is not a bucket of its own: it joins its neighbour.
So a calendar year has two terms (January-July, August-December), an academic year
(September-August) has two terms (September-January, February-August) and one "year".
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PERIOD, YEAR, TERM, MONTH = "period", "year", "term", "month"


@dataclass(frozen=True)
class Bucket:
    start: datetime.date  # inclusive
    end: datetime.date  # exclusive


def local_midnight(day: datetime.date) -> datetime.datetime:
    """The aware instant a local day starts (TIME_ZONE)."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def period_bounds(start: datetime.date, end_inclusive: datetime.date):
    """[from, to) as aware datetimes for a period of local days."""
    return local_midnight(start), local_midnight(end_inclusive + datetime.timedelta(days=1))


def term_starts() -> list[tuple[int, int]]:
    starts = []
    for item in settings.ASSESSMENT_TERM_STARTS:
        try:
            month, day = (int(part) for part in str(item).split("-"))
            datetime.date(2001, month, day)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"ASSESSMENT_TERM_STARTS: {item!r} is not a month-day such as 02-01") from exc
        starts.append((month, day))
    if not starts:
        raise ImproperlyConfigured("ASSESSMENT_TERM_STARTS needs at least one term start")
    return sorted(set(starts))


def _unit_boundaries(per: str, start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """Every unit boundary from one unit before ``start`` to one after ``end``."""
    if per == MONTH:
        out, year, month = [], start.year, start.month - 1
        if month == 0:
            year, month = year - 1, 12
        day = datetime.date(year, month, 1)
        while day <= end:
            out.append(day)
            year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
            day = datetime.date(year, month, 1)
        out.append(day)
        return out
    if per == YEAR:
        return [datetime.date(y, 1, 1) for y in range(start.year - 1, end.year + 2)]
    if per == TERM:
        starts = term_starts()
        return [datetime.date(y, m, d) for y in range(start.year - 1, end.year + 2) for m, d in starts]
    raise ValueError(per)


def buckets(per: str, start: datetime.date, end_inclusive: datetime.date) -> list[Bucket]:
    """The buckets a duty counted ``per`` month / term / year / period is checked in."""
    end = end_inclusive + datetime.timedelta(days=1)
    if per == PERIOD:
        return [Bucket(start, end)]
    bounds = _unit_boundaries(per, start, end)
    pieces: list[tuple[Bucket, int]] = []  # fragment, length of its whole unit in days
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        a, b = max(lo, start), min(hi, end)
        if a < b:
            pieces.append((Bucket(a, b), (hi - lo).days))
    if len(pieces) > 1:
        first, unit = pieces[0]
        if (first.end - first.start).days * 2 < unit:
            pieces[1] = (Bucket(first.start, pieces[1][0].end), pieces[1][1])
            pieces.pop(0)
    if len(pieces) > 1:
        last, unit = pieces[-1]
        if (last.end - last.start).days * 2 < unit:
            pieces[-2] = (Bucket(pieces[-2][0].start, last.end), pieces[-2][1])
            pieces.pop()
    return [piece for piece, _unit in pieces]
