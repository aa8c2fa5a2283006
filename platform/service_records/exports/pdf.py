"""The service certificate as a PDF (reportlab).

Chinese text is set in reportlab's built-in CID font STSong-Light (Adobe's Song, which every
PDF reader provides for Chinese), so no font file ships with the code and the PDF stays small.
The verification link is printed as a plain URL with the code (no QR image): anyone can type it.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from service_records.exports.selectors import CertificateDocument

FONT = "STSong-Light"
_registered = False


def _font() -> str:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    return FONT


def _p(text, style) -> Paragraph:
    return Paragraph(escape(str(text)), style)


def certificate_pdf(document: CertificateDocument, *, verify_url: str) -> bytes:
    """The certificate on one A4 page: teacher, school, period, totals by kind, assessment
    grade when attached, ledger position and hash, and how to verify it."""
    font = _font()
    title = ParagraphStyle("title", fontName=font, fontSize=20, leading=28, alignment=1, spaceAfter=6 * mm)
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=17)
    small = ParagraphStyle("small", fontName=font, fontSize=8.5, leading=12,
                           textColor=colors.HexColor("#444444"))
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=22 * mm, rightMargin=22 * mm, topMargin=22 * mm,
                            bottomMargin=20 * mm, title=_("Service certificate"),
                            author="Xuewen", subject=document.code)
    story = [_p(_("Service certificate"), title)]
    facts = [
        (_("Teacher"), document.teacher_name),
        (_("School"), f"{document.school_name}（{document.county_name}）" if document.county_name
         else document.school_name),
        (_("Period"), f"{document.period_label} "
                      f"({document.period_start:%Y-%m-%d} – {document.period_end:%Y-%m-%d})"),
    ]
    if document.grade:
        facts.append((_("Assessment"), f"{document.scheme_name}: {document.grade}"))
    for label, value in facts:
        story.append(_p(f"{label}: {value}", body))
    story.append(Spacer(1, 5 * mm))
    story.append(_p(_("Online service recorded in the period:"), body))
    story.append(Spacer(1, 2 * mm))
    rows = [[_p(_("Kind of service"), body), _p(_("Quantity"), body), _p(_("Unit"), body),
             _p(_("Events"), body)]]
    for total in document.totals:
        rows.append([_p(total.name, body), _p(f"{total.quantity:.2f}", body), _p(total.unit, body),
                     _p(total.events, body)])
    if not document.totals:
        rows.append([_p(_("No service recorded in this period."), body), "", "", ""])
    table = Table(rows, colWidths=[70 * mm, 30 * mm, 30 * mm, 30 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    story += [table, Spacer(1, 8 * mm)]
    issued = date_format(timezone.localtime(document.issued_at), "Y-m-d H:i")
    story.append(_p(_("Issued %(when)s from the service ledger at entry %(position)s.")
                    % {"when": issued, "position": document.chain_sequence}, body))
    story.append(_p(_("Ledger hash: %(hash)s") % {"hash": document.chain_hash}, small))
    story.append(Spacer(1, 6 * mm))
    story.append(_p(_("Verification code: %(code)s") % {"code": document.code}, title.clone(
        "code", fontSize=14, leading=20, alignment=0, spaceAfter=2 * mm)))
    story.append(_p(_("Check this certificate at %(url)s (or enter the code at the address's /verify/ "
                      "page). The check recomputes it from the tamper-evident service ledger.")
                    % {"url": verify_url}, body))
    pdf.build(story)
    return buffer.getvalue()
