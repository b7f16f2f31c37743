"""Report files written as their rows come, straight into a GridFS upload stream, so a
report of any size takes the same memory: CSV in pieces of 256 KiB, XLSX through
openpyxl's write-only workbook (rows go to a temporary file, which is then copied up in
chunks), PDF in pages (at most PDF_ROWS_MAX rows: a PDF is for reading)."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from openpyxl import Workbook

from services.documents.domain.reports import CSV, PDF, PDF_ROWS_MAX, XLSX, Cell, Kopecks
from services.documents.render import pdf
from services.documents.store.files import ChunkedUpload

PIECE = 256 * 1024


class RowWriter(Protocol):
    async def rows(self, rows: Sequence[Sequence[Cell]]) -> None: ...

    async def close(self) -> int:
        """Finish the file; returns its size in bytes."""
        ...


class CsvRows:
    def __init__(self, upload: ChunkedUpload, columns: Sequence[str]) -> None:
        self._upload = upload
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer, delimiter=";")
        self._size = 0
        self._buffer.write("\ufeff")  # so that spreadsheet programs read it as UTF-8
        self._csv.writerow(columns)

    async def rows(self, rows: Sequence[Sequence[Cell]]) -> None:
        self._csv.writerows([[str(c) for c in row] for row in rows])
        if self._buffer.tell() >= PIECE:
            await self._flush()

    async def _flush(self) -> None:
        data = self._buffer.getvalue().encode()
        self._buffer.seek(0)
        self._buffer.truncate()
        self._size += len(data)
        await self._upload.write(data)

    async def close(self) -> int:
        await self._flush()
        await self._upload.close()
        return self._size


def _xlsx_cell(cell: Cell) -> str | int | Decimal:
    if isinstance(cell, Kopecks):
        return Decimal(cell.amount) / 100
    return cell


class XlsxRows:
    def __init__(self, upload: ChunkedUpload, columns: Sequence[str], title: str) -> None:
        self._upload = upload
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(title[:31])
        self._sheet.append(list(columns))

    async def rows(self, rows: Sequence[Sequence[Cell]]) -> None:
        for row in rows:
            self._sheet.append([_xlsx_cell(c) for c in row])

    async def close(self) -> int:
        size = 0
        with tempfile.TemporaryFile() as spool:
            self._book.save(spool)
            spool.seek(0)
            while piece := spool.read(PIECE):
                size += len(piece)
                await self._upload.write(piece)
        await self._upload.close()
        return size


class PdfRows:
    def __init__(
        self, upload: ChunkedUpload, columns: Sequence[str], heading: Sequence[str]
    ) -> None:
        self._upload = upload
        self._columns = list(columns)
        self._heading = list(heading)
        self._rows: list[list[str]] = []
        self._cut = False

    async def rows(self, rows: Sequence[Sequence[Cell]]) -> None:
        room = PDF_ROWS_MAX - len(self._rows)
        self._rows += [[_pdf_cell(c) for c in row] for row in rows[: max(room, 0)]]
        self._cut = self._cut or len(rows) > room

    async def close(self) -> int:
        story = [pdf.title(self._heading[0])]
        story += [pdf.text(line) for line in self._heading[1:]]
        story.append(pdf.gap())
        story.append(pdf.table(self._columns, self._rows or [["—"] * len(self._columns)]))
        if self._cut:
            story += [
                pdf.gap(),
                pdf.text(
                    f"Показаны первые {PDF_ROWS_MAX} строк; полный отчёт — в форматах XLSX и CSV."
                ),
            ]
        content = pdf.build(story, wide=True, subject=self._heading[0])
        await self._upload.write(content)
        await self._upload.close()
        return len(content)


def _pdf_cell(cell: Cell) -> str:
    if isinstance(cell, Kopecks):
        return str(cell).replace(".", ",")
    return str(cell)


def writer(
    report_format: str, upload: ChunkedUpload, columns: Sequence[str], heading: Sequence[str]
) -> RowWriter:
    if report_format == CSV:
        return CsvRows(upload, columns)
    if report_format == XLSX:
        return XlsxRows(upload, columns, heading[0])
    assert report_format == PDF
    return PdfRows(upload, columns, heading)


def moment(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")
