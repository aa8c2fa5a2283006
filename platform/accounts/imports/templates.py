"""Blank sheets to fill in, one per kind: the header row, and (in the workbook) a second sheet
explaining every column. Built from columns.COLUMNS, so they always match what is accepted."""

from __future__ import annotations

import csv
import io

from django.utils.translation import gettext as _

from accounts.imports.columns import COLUMNS

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


def template_csv(kind: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([c.header for c in COLUMNS[kind]])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")  # BOM: Excel then reads UTF-8


def template_xlsx(kind: str) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("list"))
    sheet.append([c.header for c in COLUMNS[kind]])
    notes = workbook.create_sheet(_("instructions"))
    notes.append([_("column"), _("required"), _("meaning"), _("example"), _("other accepted headers")])
    for c in COLUMNS[kind]:
        required = _("yes") if c.required_value else (_("column only") if c.required_column else _("no"))
        notes.append([c.header, required, str(c.help), c.example, ", ".join(c.aliases)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
