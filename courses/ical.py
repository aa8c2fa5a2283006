"""iCalendar (RFC 5545) for a user's lectures, written by hand: text values escaped (backslash,
semicolon, comma, newlines), lines folded at 75 octets without splitting a UTF-8 character,
CRLF line ends, times in UTC."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from courses.models import Lecture

_UTC = datetime.UTC


def escape_text(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n"))


def fold(line: str) -> str:
    """Splits a content line into lines of at most 75 octets; continuation lines begin with a space."""
    data = line.encode()
    if len(data) <= 75:
        return line
    parts, start, limit = [], 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # inside a UTF-8 sequence
            end -= 1
        parts.append(data[start:end].decode())
        start, limit = end, 74  # the leading space counts
    return "\r\n ".join(parts)


def utc_stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(_UTC).strftime("%Y%m%dT%H%M%SZ")


def lectures_calendar(lectures: Iterable[Lecture], *, name: str, host: str, url_for) -> str:
    """The VCALENDAR of ``lectures``; ``url_for(lecture)`` gives each event's URL."""
    now = utc_stamp(datetime.datetime.now(_UTC))
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Xuewen//Lectures//ZH", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", f"X-WR-CALNAME:{escape_text(name)}", "X-WR-TIMEZONE:Asia/Shanghai"]
    for lecture in lectures:
        status = "CANCELLED" if lecture.state == Lecture.State.CANCELLED else "CONFIRMED"
        description = lecture.course.title
        if lecture.description:
            description += "\n" + lecture.description
        lines += [
            "BEGIN:VEVENT",
            f"UID:lecture-{lecture.pk}@{host}",
            f"DTSTAMP:{now}",
            f"DTSTART:{utc_stamp(lecture.starts_at)}",
            f"DTEND:{utc_stamp(lecture.ends_at)}",
            f"LAST-MODIFIED:{utc_stamp(lecture.updated_at)}",
            f"SUMMARY:{escape_text(lecture.title)}",
            f"DESCRIPTION:{escape_text(description)}",
            f"URL:{url_for(lecture)}",
            f"STATUS:{status}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
