"""The streamed CSV and XLSX writers: what Excel (and openpyxl) reads back."""

import csv
import datetime
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from service_records.exports import writers
from service_records.exports.writers import (
    BOOL,
    DATE,
    DATETIME,
    DECIMAL,
    INT,
    TEXT,
    Column,
    csv_stream,
    xlsx_stream,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
COLUMNS = [Column("编号", INT), Column("教师", TEXT), Column("时间", DATETIME), Column("数量", DECIMAL),
           Column("采纳", BOOL), Column("日期", DATE)]
WHEN = datetime.datetime(2026, 3, 1, 2, 30, tzinfo=datetime.UTC)  # 10:30 in Shanghai


def _rows(n):
    for i in range(n):
        yield (i, f"教师{i}", WHEN, Decimal("12.50"), i % 2 == 0, datetime.date(2026, 3, 1))


def _workbook(chunks) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(b"".join(chunks)), read_only=True)


def test_csv_starts_with_a_bom_and_reads_back_as_utf8():
    data = b"".join(csv_stream(COLUMNS, _rows(3)))
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["编号", "教师", "时间", "数量", "采纳", "日期"]
    assert rows[1] == ["0", "教师0", "2026-03-01 10:30:00", "12.50", "yes", "2026-03-01"]
    assert rows[2][4] == "no"
    assert data.count(b"\r\n") == 4


def test_csv_text_that_excel_would_run_as_a_formula_is_defused():
    rows = [(1, "=HYPERLINK(\"http://evil\")", None, None, None, None), (2, "-3+4", None, None, None, None),
            (3, "@SUM(A1)", None, None, None, None), (4, "normal - text", None, None, None, None)]
    data = b"".join(csv_stream(COLUMNS, rows)).decode("utf-8-sig")
    parsed = list(csv.reader(io.StringIO(data)))
    assert [row[1] for row in parsed[1:]] == [
        "'=HYPERLINK(\"http://evil\")", "'-3+4", "'@SUM(A1)", "normal - text"]
    assert parsed[1][2:] == ["", "", "", ""]


def test_csv_comes_in_bounded_chunks():
    chunks = list(csv_stream(COLUMNS, _rows(20000)))
    assert len(chunks) > 5
    assert max(len(c) for c in chunks) < writers.CHUNK_BYTES * 2


def test_xlsx_reads_back_with_types_in_local_time():
    book = _workbook(xlsx_stream(COLUMNS, _rows(3), title="证据"))
    assert book.sheetnames == ["证据"]
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0] == ("编号", "教师", "时间", "数量", "采纳", "日期")
    assert rows[1] == (0, "教师0", datetime.datetime(2026, 3, 1, 10, 30), 12.5, True,
                       datetime.datetime(2026, 3, 1))
    assert rows[2][4] is False
    assert len(rows) == 4


def test_xlsx_cells_keep_markup_and_drop_characters_xml_cannot_hold():
    rows = [(1, "a<b>&\"c\" \x07bell ", None, None, None, None), (2, " x" * 20000, None, None, None, None)]
    sheet = _workbook(xlsx_stream(COLUMNS, rows, title="t")).worksheets[0]
    values = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert values[0] == "a<b>&\"c\" bell "
    assert len(values[1]) == writers.EXCEL_MAX_CELL_CHARS


def test_xlsx_continues_on_a_new_sheet_past_the_row_limit(monkeypatch):
    monkeypatch.setattr(writers, "EXCEL_MAX_ROWS", 101)  # a header and 100 rows a sheet
    book = _workbook(xlsx_stream(COLUMNS, _rows(250), title="Evidence: 2026/03"))
    assert book.sheetnames == ["Evidence  2026 03", "Evidence  2026 03 (2)", "Evidence  2026 03 (3)"]
    counts = [sum(1 for _row in sheet.iter_rows(min_row=2)) for sheet in book.worksheets]
    assert counts == [100, 100, 50]
    first_rows = book.worksheets[2].iter_rows(min_row=1, max_row=2, values_only=True)
    assert [row[0] for row in first_rows] == ["编号", 200]


def test_xlsx_of_exactly_a_full_sheet_has_no_empty_second_sheet(monkeypatch):
    monkeypatch.setattr(writers, "EXCEL_MAX_ROWS", 11)
    assert _workbook(xlsx_stream(COLUMNS, _rows(10), title="t")).sheetnames == ["t"]


def test_xlsx_without_rows_is_a_workbook_with_the_header():
    sheet = _workbook(xlsx_stream(COLUMNS, iter(()), title="")).worksheets[0]
    assert list(sheet.iter_rows(values_only=True)) == [("编号", "教师", "时间", "数量", "采纳", "日期")]


@pytest.mark.parametrize("title,number,expected", [
    ("a" * 40, 1, "a" * 31), ("a" * 40, 12, "a" * 26 + " (12)"), ("x[1]*?", 1, "x 1"),
])
def test_sheet_names_are_valid(title, number, expected):
    assert writers.sheet_name(title, number) == expected


def test_xlsx_starts_streaming_before_the_rows_end():
    produced = []

    def rows():
        for i in range(60000):
            produced.append(i)
            yield (i, "x" * 30, None, Decimal(i), None, None)

    stream = xlsx_stream(COLUMNS, rows(), title="t")
    next(stream)
    assert len(produced) < 60000
    rest = b"".join(stream)
    assert rest and len(produced) == 60000


def test_xlsx_keeps_spaces_and_line_breaks_of_text():
    texts = [" leading", "trailing ", "two\nlines", "plain", 42]
    rows = [(i, text, None, None, None, None) for i, text in enumerate(texts)]
    sheet = _workbook(xlsx_stream(COLUMNS, rows, title="t")).worksheets[0]
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        " leading", "trailing ", "two\nlines", "plain", "42"]
