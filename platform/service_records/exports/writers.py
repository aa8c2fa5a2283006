"""Streamed CSV and XLSX: rows in, bytes out, memory flat whatever the number of rows.

Both writers take typed columns (``Column``) and an iterable of row tuples (a queryset's
``values_list(...).iterator()``) and yield byte chunks of about ``CHUNK_BYTES``, for a
``StreamingHttpResponse``. Nothing but the current chunk is held in memory.

CSV: UTF-8 with a byte-order mark (Excel in China opens it as UTF-8 only with one), CRLF line
ends, text cells that Excel would run as a formula (``=``, ``+``, ``-``, ``@`` first) prefixed
with an apostrophe (OWASP "CSV injection").

XLSX: written here rather than with openpyxl, because a workbook built by openpyxl's
write-only mode exists only once the last row is in (it is zipped from a temporary file at
``save``): for a whole city that is minutes before the first byte, longer than the proxy and
gunicorn timeouts, and openpyxl is several times slower per cell. This writer streams the
package as it goes: the worksheet XML (inline strings, so no shared-string table grows in
memory) is deflated into a zip written to an unseekable sink, so each entry carries a data
descriptor (as Excel's own streaming writers do) and the central directory comes last. A
sheet holds at most 1,048,576 rows (Excel's limit); longer exports continue on further sheets.
The tests read every file back with openpyxl.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _

CHUNK_BYTES = 64 * 1024
BOM = "\ufeff"
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_CELL_CHARS = 32_767
# Stay clear of the 4 GiB zip entry limit (no ZIP64 extensions, which old Excel mishandles).
SHEET_MAX_BYTES = 3_500_000_000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 cannot carry (control characters other than tab, newline, return).
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Text that needs escaping, cleaning or xml:space before it goes into a cell.
_NEEDS_CARE = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|^\s|\s$")
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

TEXT, INT, DECIMAL, BOOL, DATETIME, DATE = "text", "int", "decimal", "bool", "datetime", "date"


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = TEXT
    width: int = 14  # XLSX column width in characters


# --- CSV -------------------------------------------------------------------------------------

_FORMULA_FIRST = frozenset(FORMULA_START)


def _csv_text(value) -> str:
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text[:1] in _FORMULA_FIRST else text


def csv_stream(columns: Sequence[Column], rows: Iterable[Sequence]) -> Iterator[bytes]:
    """The rows as CSV, UTF-8 with a BOM, in chunks of about ``CHUNK_BYTES``.

    Numbers, decimals, dates and None are written as the csv module writes them (``12.50``,
    ``2026-03-01``, empty); text is defused, booleans become yes/no and times local. The
    language and time zone are those active when this is called (the request's), not when
    the response is read."""
    return _csv_chunks(columns, rows, _("yes"), _("no"), timezone.get_current_timezone())


def _csv_chunks(columns, rows, yes: str, no: str, tz) -> Iterator[bytes]:

    def boolean(value):
        return "" if value is None else (yes if value else no)

    def moment(value):
        return "" if value is None else value.astimezone(tz).isoformat(" ", "seconds")[:19]

    texts = [i for i, column in enumerate(columns) if column.kind == TEXT]
    converted = [(i, boolean if column.kind == BOOL else moment) for i, column in enumerate(columns)
                 if column.kind in (BOOL, DATETIME)]
    first = _FORMULA_FIRST
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([_csv_text(column.header) for column in columns])
    for row in rows:
        out = list(row)
        for i in texts:
            value = out[i]
            if value.__class__ is str:
                if value[:1] in first:
                    out[i] = "'" + value
            elif value is not None:
                out[i] = _csv_text(value)
        for i, fn in converted:
            out[i] = fn(out[i])
        writer.writerow(out)
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


# --- XLSX ------------------------------------------------------------------------------------

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# Every ``.xml`` part is a worksheet unless overridden, so the content types are known before
# the number of sheets is.
_CONTENT_TYPES = (
    _XML_HEAD
    + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    _XML_HEAD + f'<Relationships xmlns="{_PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
# Style ids: 0 normal, 1 bold (header), 2 date and time, 3 date, 4 two decimals.
_STYLES = (
    _XML_HEAD + f'<styleSheet xmlns="{_MAIN_NS}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="2" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_EXCEL_EPOCH = datetime.datetime(1899, 12, 30)
_EXCEL_EPOCH_DATE = datetime.date(1899, 12, 30)


def _column_letters(n: int) -> list[str]:
    out = []
    for index in range(1, n + 1):
        name = ""
        while index:
            index, rest = divmod(index - 1, 26)
            name = chr(65 + rest) + name
        out.append(name)
    return out


def xlsx_text(value) -> str:
    """Text as a cell can hold it: XML-escaped, control characters dropped, at most 32,767
    characters (Excel's limit)."""
    text = _ILLEGAL_XML.sub("", str(value))
    if len(text) > EXCEL_MAX_CELL_CHARS:
        text = text[:EXCEL_MAX_CELL_CHARS]
    return escape(text)


def _inline(ref: str, text: str, style: str = "") -> str:
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{xlsx_text(text)}</t></is></c>'


def _text_cell(ref: str, value) -> str:
    if value is None or value == "":
        return ""
    return _inline(ref, str(value))


def _row_renderer(columns: Sequence[Column]) -> Callable[[Sequence, int], str]:
    """A function (row, row number) -> the row's XML, generated once per export: one
    expression per column, so that a cell costs no function call in the common case (plain
    text, numbers), which makes the XLSX writer several times faster than a call per cell.
    The generated code holds only column letters and indexes, never data."""
    tz = timezone.get_current_timezone()

    def serial(value: datetime.datetime) -> str:
        local = value.astimezone(tz).replace(tzinfo=None) if value.tzinfo else value
        return repr((local - _EXCEL_EPOCH).total_seconds() / 86400)

    cells = []
    for index, (letter, column) in enumerate(zip(_column_letters(len(columns)), columns, strict=True)):
        v, ref = f"row[{index}]", f'r="{letter}{{n}}"'
        if column.kind == TEXT:
            cells.append(
                f"('' if {v} is None or {v} == '' else "
                f"f'<c {ref} t=\"inlineStr\"><is><t>{{{v}}}</t></is></c>' "
                f"if {v}.__class__ is str and len({v}) <= {EXCEL_MAX_CELL_CHARS} and not care({v}) "
                f"else text_cell(f'{letter}{{n}}', {v}))")
        elif column.kind == INT:
            cells.append(f"('' if {v} is None else f'<c {ref}><v>{{int({v})}}</v></c>')")
        elif column.kind == DECIMAL:
            cells.append(f"('' if {v} is None else f'<c {ref} s=\"4\"><v>{{{v}:f}}</v></c>')")
        elif column.kind == BOOL:
            cells.append(f"('' if {v} is None else f'<c {ref} t=\"b\"><v>{{1 if {v} else 0}}</v></c>')")
        elif column.kind == DATETIME:
            cells.append(f"('' if {v} is None else f'<c {ref} s=\"2\"><v>{{serial({v})}}</v></c>')")
        elif column.kind == DATE:
            days = f"({v} - epoch_date).days"
            cells.append(f"('' if {v} is None else f'<c {ref} s=\"3\"><v>{{{days}}}</v></c>')")
        else:
            raise ValueError(column.kind)
    source = "def render(row, n):\n    return f'<row r=\"{n}\">' + " + " + ".join(cells) + " + '</row>'\n"
    namespace = {"care": _NEEDS_CARE.search, "text_cell": _text_cell, "serial": serial,
                 "epoch_date": _EXCEL_EPOCH_DATE}
    exec(compile(source, "<xlsx row renderer>", "exec"), namespace)  # noqa: S102 - letters and indexes only
    return namespace["render"]


def sheet_name(title: str, number: int) -> str:
    """A valid sheet name (≤ 31 characters, none of []:*?/\\), numbered after the first."""
    base = _SHEET_NAME_FORBIDDEN.sub(" ", title).strip() or "Sheet"
    suffix = f" ({number})" if number > 1 else ""
    return base[: 31 - len(suffix)] + suffix


class _Sink:
    """An unseekable file the zip is written into; the stream takes its bytes as they come."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts, self.size = [], 0
        return data


def xlsx_stream(columns: Sequence[Column], rows: Iterable[Sequence], *, title: str,
                compresslevel: int = 1) -> Iterator[bytes]:
    """The rows as an XLSX workbook (a header row, frozen, then the rows), in chunks of
    about ``CHUNK_BYTES``; more sheets when the rows exceed one sheet. Times are written in
    the time zone active when this is called."""
    return _xlsx_chunks(columns, rows, str(title), compresslevel, _row_renderer(columns))


def _xlsx_chunks(columns, rows, title: str, compresslevel: int, render) -> Iterator[bytes]:
    sink = _Sink()
    archive = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel)
    archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
    archive.writestr("_rels/.rels", _ROOT_RELS)
    archive.writestr("xl/styles.xml", _STYLES)

    letters = _column_letters(len(columns))
    widths = "".join(f'<col min="{i}" max="{i}" width="{c.width}" customWidth="1"/>'
                     for i, c in enumerate(columns, start=1))
    header = "".join(_inline(f"{letter}1", column.header, ' s="1"')
                     for letter, column in zip(letters, columns, strict=True))
    sheet_head = (
        _XML_HEAD + f'<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        "</sheetView></sheetViews>"
        f"<cols>{widths}</cols><sheetData>"
        f'<row r="1">{header}</row>'
    ).encode()
    sheet_tail = b"</sheetData></worksheet>"

    names: list[str] = []
    iterator = iter(rows)
    row = next(iterator, None)
    while True:
        names.append(sheet_name(title, len(names) + 1))
        with archive.open(f"xl/worksheets/sheet{len(names)}.xml", "w") as sheet:
            sheet.write(sheet_head)
            number, written, pending, pending_bytes = 1, len(sheet_head), [], 0
            while row is not None and number < EXCEL_MAX_ROWS and written < SHEET_MAX_BYTES:
                number += 1
                line = render(row, number)
                pending.append(line)
                pending_bytes += len(line)
                if pending_bytes >= CHUNK_BYTES:
                    data = "".join(pending).encode()
                    sheet.write(data)
                    written += len(data)
                    pending, pending_bytes = [], 0
                    if sink.size >= CHUNK_BYTES:
                        yield sink.take()
                row = next(iterator, None)
            sheet.write("".join(pending).encode() + sheet_tail)
        if sink.size >= CHUNK_BYTES:
            yield sink.take()
        if row is None:
            break

    sheets = "".join(f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
                     for i, name in enumerate(names, start=1))
    archive.writestr("xl/workbook.xml", _XML_HEAD + f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
                     f"<sheets>{sheets}</sheets></workbook>")
    rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                   for i in range(1, len(names) + 1))
    rels += f'<Relationship Id="rId{len(names) + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
    archive.writestr("xl/_rels/workbook.xml.rels",
                     _XML_HEAD + f'<Relationships xmlns="{_PKG_REL_NS}">{rels}</Relationships>')
    archive.close()
    yield sink.take()
