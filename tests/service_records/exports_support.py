"""Helpers for the exports tests: reading streamed files back, the ledger they export."""

from __future__ import annotations

import base64
import csv
import io
import re
import zlib
from decimal import Decimal

import openpyxl
import pytest

from tests.service_records.assessment_support import at, record

D = Decimal


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def csv_rows(response) -> list[list[str]]:
    data = body(response)
    assert data.startswith("\ufeff".encode()), "CSV without a byte-order mark"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def xlsx_rows(response) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(body(response)), read_only=True)
    return [row for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)]


def as_dicts(rows) -> list[dict]:
    header, *data = rows
    return [dict(zip(header, row, strict=True)) for row in data]


def march_ledger(world, other_teacher):
    """Service of teacher_a (county A), teacher_b (county B) and a teacher of another city."""
    events = {
        "a_answer": record(world.teacher_a, "answer_given", at(2026, 3, 1), accepted=True, rating=D("4.50")),
        "a_live": record(world.teacher_a, "live_minutes", at(2026, 3, 2), quantity=90),
        "b_lesson": record(world.teacher_b, "research_lesson", at(2026, 3, 5)),
        "other": record(other_teacher, "answer_given", at(2026, 3, 1)),
        "a_may": record(world.teacher_a, "answer_given", at(2026, 5, 1)),
    }
    return events


@pytest.fixture
def english(settings):
    """Pages and files in English: headers and labels are asserted by their English text
    (the site's language is LANGUAGE_CODE; i18n_patterns ignore Accept-Language)."""
    settings.LANGUAGE_CODE = "en"


_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
_SHOWN = re.compile(rb"\((?:[^()\\]|\\.)*\)\s*Tj", re.S)
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.S)
_SIMPLE = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def pdf_text(data: bytes) -> str:
    """The text a reportlab PDF shows in STSong-Light (UTF-16 strings in ASCII85 + Flate
    content streams), concatenated; enough to assert what a reader would see."""
    shown = []
    for match in _STREAM.finditer(data):
        raw = match.group(1).strip()
        try:
            content = zlib.decompress(base64.a85decode(raw, adobe=True))
        except (ValueError, zlib.error):
            continue
        for literal in _SHOWN.findall(content):
            body_ = literal[literal.index(b"(") + 1:literal.rindex(b")")]
            unescaped = _ESCAPE.sub(lambda m: bytes([int(m.group(1), 8)]) if m.group(1)[:1].isdigit()
                                    else _SIMPLE.get(m.group(1), m.group(1)), body_)
            shown.append(unescaped.decode("utf-16-be", errors="replace"))
    return "".join(shown)
