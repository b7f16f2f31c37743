"""Small but real office files for the attachment tests: OOXML and OpenDocument ZIP
containers, and OLE2 compound files (the container of DOC and XLS) with one stream.

No office suite is needed: the containers are what tickets' type check reads, so they are
made here by their specifications (ECMA-376 part 2, OpenDocument 1.2 part 3, MS-CFB).
"""

from __future__ import annotations

import io
import struct
import zipfile

MAIN_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
}
PARTS = {"docx": "/word/document.xml", "xlsx": "/xl/workbook.xml", "pptx": "/ppt/presentation.xml"}
OPENDOCUMENT = {
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def ooxml(kind: str, main_type: str | None = None) -> bytes:
    """A DOCX, XLSX or PPTX container: `[Content_Types].xml` naming the main part with
    `main_type` (the kind's own unless given) and the part itself."""
    part = PARTS[kind]
    types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="{part}" ContentType="{main_type or MAIN_TYPES[kind]}"/>'
        "</Types>"
    )
    return zip_of({"[Content_Types].xml": types.encode(), part.lstrip("/"): b"<x/>"})


def opendocument(kind: str, mimetype: str | None = None) -> bytes:
    """An ODT or ODS container: the `mimetype` entry first, then its content."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", (mimetype or OPENDOCUMENT[kind]).encode())
        archive.writestr("content.xml", b"<office:document-content/>", zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


# --- OLE2 compound files (MS-CFB, version 3: 512-byte sectors) ------------------------

SECTOR = 512
FREE, END, FAT_SECTOR, NONE = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
STREAM_SECTORS = 8  # 4,096 bytes: at the mini-stream cutoff, so in the regular FAT


def _entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
    encoded = name.encode("utf-16-le")
    return (
        encoded.ljust(64, b"\0")
        + struct.pack("<HBB", len(encoded) + 2 if name else 0, kind, 1)
        + struct.pack("<III", NONE, NONE, child)
        + b"\0" * 16  # CLSID
        + b"\0" * 4  # state bits
        + b"\0" * 16  # creation and modification times
        + struct.pack("<IQ", start, size)
    )


def ole_with_stream(stream: str) -> bytes:
    """A compound file whose root holds one stream named `stream` (e.g. "WordDocument")."""
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIII", 0, 1, 1, 0)  # dir sectors, FAT sectors, first dir, transaction
        + struct.pack("<IIIII", 4096, END, 0, END, 0)  # cutoff, mini FAT, its count, DIFAT
        + struct.pack("<I", 0)  # the FAT is sector 0
        + struct.pack("<I", FREE) * 108
    )
    fat = [FAT_SECTOR, END] + [3 + i for i in range(STREAM_SECTORS - 1)] + [END]
    fat += [FREE] * (SECTOR // 4 - len(fat))
    directory = (
        _entry("Root Entry", 5, 1, END, 0)
        + _entry(stream, 2, NONE, 2, STREAM_SECTORS * SECTOR)
        + _entry("", 0, NONE, 0, 0) * 2
    )
    data = b"\x01" * (STREAM_SECTORS * SECTOR)
    return header + struct.pack(f"<{len(fat)}I", *fat) + directory + data
