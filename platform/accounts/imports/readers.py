"""Streaming readers for the sheets the bureaus send: .xlsx (openpyxl read-only mode) and .csv
(UTF-8 with or without BOM, UTF-16 as Excel's "Unicode text", or GB18030/GBK as Excel in China
writes it). Rows come out one at a time as (row number, tuple of cell texts); nothing keeps
the sheet in memory.

Row numbers are the ones a person sees in Excel: the first row of the sheet is row 1."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import PurePath
from typing import BinaryIO

from django.utils.translation import gettext as _

from common.errors import ServiceError

EXTENSIONS = (".xlsx", ".csv")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls (and other OLE files)
# A zip whose members inflate to more than this many times its size is refused (zip bomb).
_MAX_INFLATION = 100


class UnreadableFile(ServiceError):
    """The file cannot be read as the sheet it claims to be."""

    default_code = "unreadable_file"


def file_type(filename: str) -> str:
    """'xlsx' or 'csv' from the file name, or a ServiceError naming what is accepted."""
    suffix = PurePath(filename or "").suffix.lower()
    if suffix == ".xls":
        raise UnreadableFile(_("The old Excel format (.xls) is not supported: save the sheet as .xlsx "
                               "or CSV and upload it again."), code="unsupported_file_type",
                             fields={"file": [_("Use .xlsx or .csv.")]})
    if suffix not in EXTENSIONS:
        raise UnreadableFile(_("Upload an .xlsx or a .csv file."), code="unsupported_file_type",
                             fields={"file": [_("Use .xlsx or .csv.")]})
    return suffix[1:]


def sniff(file: BinaryIO, filename: str, *, max_bytes: int) -> str:
    """Checks that the content matches the extension (not only the name) and returns the type.
    Leaves the file at position 0."""
    kind = file_type(filename)
    file.seek(0)
    head = file.read(8192)
    file.seek(0)
    if not head:
        raise UnreadableFile(_("The file is empty."), code="empty_file",
                             fields={"file": [_("The file is empty.")]})
    if kind == "xlsx":
        if not head.startswith(_ZIP_MAGIC):
            raise UnreadableFile(_("The file is named .xlsx but is not an Excel workbook."),
                                 fields={"file": [_("Not an .xlsx workbook.")]})
        try:
            with zipfile.ZipFile(file) as archive:
                names = set(archive.namelist())
                inflated = sum(info.file_size for info in archive.infolist())
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise UnreadableFile(_("The workbook is damaged and cannot be opened."),
                                 fields={"file": [_("Not an .xlsx workbook.")]}) from exc
        finally:
            file.seek(0)
        if "xl/workbook.xml" not in names:
            raise UnreadableFile(_("The file is named .xlsx but is not an Excel workbook."),
                                 fields={"file": [_("Not an .xlsx workbook.")]})
        if inflated > max(max_bytes, 1) * _MAX_INFLATION:
            raise UnreadableFile(_("The workbook is too large once unpacked."), code="file_too_large",
                                 fields={"file": [_("The workbook is too large once unpacked.")]})
        return kind
    if head.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        raise UnreadableFile(_("The file is named .csv but is an Excel workbook: save it as CSV, or "
                               "upload it as .xlsx."), fields={"file": [_("Not a CSV file.")]})
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFile(_("The file is named .csv but holds binary data."),
                             fields={"file": [_("Not a CSV file.")]})
    return kind


def detect_encoding(file: BinaryIO) -> str:
    """UTF-8 (BOM or not) when the whole file decodes as UTF-8, UTF-16 with a BOM, otherwise
    GB18030 (a superset of GBK and GB2312). Reads the file once in chunks; keeps nothing."""
    file.seek(0)
    head = file.read(4)
    file.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := file.read(1 << 20):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"
    finally:
        file.seek(0)


def cell_text(value: object) -> str:
    """A cell as the text a person sees: 330302.0 typed as a number is '330302'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _xlsx_rows(file: BinaryIO) -> Iterator[tuple[int, tuple[str, ...]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
        raise UnreadableFile(_("The workbook is damaged and cannot be opened.")) from exc
    number = 0
    try:
        if not workbook.worksheets:
            raise UnreadableFile(_("The workbook has no worksheet."))
        sheet = workbook.worksheets[0]
        # Some generators write a wrong <dimension>; without it every row is read.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(min_row=1, values_only=True)
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # malformed XML inside the sheet: untrusted input
                message = _("The workbook is damaged after row %(row)s.") % {"row": number}
                raise UnreadableFile(message) from exc
            number += 1
            yield number, tuple(cell_text(v) for v in values)
    finally:
        workbook.close()


def _csv_rows(file: BinaryIO) -> Iterator[tuple[int, tuple[str, ...]]]:
    encoding = detect_encoding(file)
    text = io.TextIOWrapper(file, encoding=encoding, newline="")
    number = 0
    try:
        first_line = text.readline()
        text.seek(0)
        # Excel's "Unicode text" export separates with tabs; some European setups use ';'.
        delimiter = max(",\t;", key=first_line.count) if first_line else ","
        if first_line.count(delimiter) == 0:
            delimiter = ","
        for number, values in enumerate(csv.reader(text, delimiter=delimiter), start=1):  # noqa: B007
            yield number, tuple(values)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(_("Row %(row)s cannot be decoded: save the file as UTF-8 or GB18030 "
                               "(GBK).") % {"row": number + 1}) from exc
    except csv.Error as exc:
        raise UnreadableFile(_("Row %(row)s is not valid CSV: %(error)s")
                             % {"row": number + 1, "error": exc}) from exc
    finally:
        text.detach()


def iter_rows(file: BinaryIO, filename: str) -> Iterator[tuple[int, tuple[str, ...]]]:
    """(row number, cells as text) for every row of the first sheet, in order."""
    file.seek(0)
    if file_type(filename) == "xlsx":
        return _xlsx_rows(file)
    return _csv_rows(file)
