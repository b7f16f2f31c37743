"""PDF building blocks shared by documents, reports and forms: A4 pages, Source Sans Pro
(a package's TTF, registered once and embedded in every file, so Cyrillic reads the same
everywhere), headings, requisites, tables and signature lines."""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import font_source_sans_pro
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

REGULAR = "SourceSansPro"
BOLD = "SourceSansPro-Bold"
CONTENT_TYPE = "application/pdf"


@cache
def fonts() -> tuple[str, str]:
    files = Path(font_source_sans_pro.font_directory)
    pdfmetrics.registerFont(TTFont(REGULAR, str(files / "SourceSansPro-Regular.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(files / "SourceSansPro-Bold.ttf")))
    pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD)
    return REGULAR, BOLD


@cache
def styles() -> dict[str, ParagraphStyle]:
    regular, bold = fonts()
    return {
        "title": ParagraphStyle(
            "title", fontName=bold, fontSize=14, leading=18, alignment=TA_CENTER, spaceAfter=4 * mm
        ),
        "text": ParagraphStyle("text", fontName=regular, fontSize=9.5, leading=12),
        "small": ParagraphStyle("small", fontName=regular, fontSize=8, leading=10),
        "bold": ParagraphStyle("bold", fontName=bold, fontSize=9.5, leading=12),
        "cell": ParagraphStyle("cell", fontName=regular, fontSize=8, leading=9.5),
        "head": ParagraphStyle("head", fontName=bold, fontSize=8, leading=9.5),
    }


def text(value: str, style: str = "text") -> Paragraph:
    safe = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Paragraph(safe, styles()[style])


def title(value: str) -> Paragraph:
    return text(value, "title")


def gap(height_mm: float = 4) -> Spacer:
    return Spacer(1, height_mm * mm)


def table(
    head: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[float] | None = None,
    *,
    numeric_from: int | None = None,
    footer: Sequence[Sequence[str]] = (),
) -> Table:
    """A ruled table; columns from `numeric_from` on are right-aligned (amounts)."""
    data = [[text(h, "head") for h in head]]
    data += [[text(str(c), "cell") for c in row] for row in rows]
    data += [[text(str(c), "head") for c in row] for row in footer]
    grid = Table(data, colWidths=[w * mm for w in widths] if widths else None, repeatRows=1)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if numeric_from is not None:
        style.append(("ALIGN", (numeric_from, 1), (-1, -1), "RIGHT"))
    grid.setStyle(TableStyle(style))
    return grid


def pairs(rows: Sequence[tuple[str, str]], widths: tuple[float, float] = (55, 125)) -> Table:
    """Label: value lines without rules (requisites, a form's fields)."""
    grid = Table([[text(k, "bold"), text(v)] for k, v in rows], colWidths=[w * mm for w in widths])
    grid.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return grid


def signatures(roles: Sequence[str]) -> Table:
    rows = [[text(role, "bold"), text("_______________ / _______________ /")] for role in roles]
    grid = Table(rows, colWidths=[60 * mm, 110 * mm])
    grid.setStyle(TableStyle([("TOPPADDING", (0, 0), (-1, -1), 5 * mm)]))
    return grid


def build(story: Sequence[Flowable], *, wide: bool = False, subject: str = "") -> bytes:
    """The story as an A4 PDF (landscape when `wide`)."""
    fonts()
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=landscape(A4) if wide else A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=subject,
        author="Виртуальный менеджер",
    )
    doc.build(list(story))
    return out.getvalue()
