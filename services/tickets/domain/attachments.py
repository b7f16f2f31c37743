"""Tickets' rules for attached files: which kinds are taken, how big, and what a file
really is.

The type an uploader declares is a claim; the file's first bytes (its "magic") decide.
A file whose bytes are none of the allowed kinds is refused whatever it claims to be, and
so is one whose bytes say another kind than the one declared (a renamed executable, a
page saved as .pdf). Office files are containers, and what is inside tells which kind
one is: a DOCX, XLSX or PPTX is a ZIP whose `[Content_Types].xml` names its kind's main
part (ECMA-376 part 2), an ODT or ODS a ZIP whose `mimetype` entry says so (OpenDocument
part 3), a DOC or XLS an OLE2 compound file holding a `WordDocument`, or a `Workbook`
(`Book` before Excel 97), stream — read with olefile from the bytes in memory. A ZIP or
OLE file that is none of them (a plain archive, a renamed XLSX declared DOCX, a macro
document) is refused.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

import olefile

from services.kit.errors import InvalidArgument

MAX_SIZE = 10 * 1024 * 1024  # 10 MiB a file
MAX_PER_TICKET = 20
FILENAME_MAX = 200

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"

# The allowed kinds, by extension (what a person sees in the file's name).
EXTENSIONS: dict[str, str] = {
    "pdf": PDF,
    "png": PNG,
    "jpg": JPEG,
    "jpeg": JPEG,
    "gif": GIF,
    "webp": WEBP,
    "docx": DOCX,
    "xlsx": XLSX,
    "pptx": PPTX,
    "odt": ODT,
    "ods": ODS,
    "doc": DOC,
    "xls": XLS,
}
ALLOWED = frozenset(EXTENSIONS.values())
ZIP_KINDS = frozenset({DOCX, XLSX, PPTX, ODT, ODS})
OLE_KINDS = frozenset({DOC, XLS})

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
)
# An OOXML package's main part's content type, by kind (macro-enabled and template
# variants have types of their own, and are not taken).
OOXML_MAIN_TYPES: dict[str, str] = {
    DOCX: DOCX + ".main+xml",
    XLSX: XLSX + ".main+xml",
    PPTX: PPTX + ".main+xml",
}
# What an OpenDocument package's `mimetype` entry says, by kind.
OPENDOCUMENT_TYPES: dict[str, str] = {ODT: ODT, ODS: ODS}
# The stream that makes an OLE2 compound file a kind.
OLE_STREAMS: tuple[tuple[str, str], ...] = ((DOC, "WordDocument"), (XLS, "Workbook"), (XLS, "Book"))
# The most of a package's descriptive entry that is read (its content types list is small).
ENTRY_MAX = 1024 * 1024
_CONTENT_TYPE = re.compile(rb"""ContentType\s*=\s*["']([^"']{1,200})["']""")

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    size: int


def check_file(filename: str, declared_type: str, content: bytes) -> CheckedFile:
    """The file as it will be kept, or InvalidArgument saying what is wrong with it."""
    name = safe_filename(filename)
    if not content:
        raise InvalidArgument("the file is empty", {"file": "attach a file with content"})
    if len(content) > MAX_SIZE:
        raise too_large()
    declared = _declared_type(declared_type)
    found = sniff(content, declared or _extension_type(name))
    if found is None:
        raise _refused(
            "the file is not of an allowed kind",
            "PDF, images (PNG, JPEG, GIF, WebP) and office files (DOCX, XLSX, PPTX, ODT, ODS, "
            "DOC, XLS)",
        )
    if declared and declared != found:
        raise _refused(
            "the file's content does not match its type",
            f"it says {declared}, but its content is {found}",
        )
    return CheckedFile(filename=name, content_type=found, size=len(content))


def sniff(content: bytes, declared: str = "") -> str | None:
    """The allowed kind that the bytes are, or None."""
    for magic, kind in _MAGIC:
        if content.startswith(magic):
            return kind
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return WEBP
    if content.startswith(_ZIP):
        return zip_kind(content, declared)
    if content.startswith(_OLE):
        return ole_kind(content)
    return None


def zip_kind(content: bytes, declared: str = "") -> str | None:
    """The office kind a ZIP container is by what it holds (the declared one first when
    it is one), or None: not a ZIP after all, a plain archive, another document."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            content_types = _entry(archive, "[Content_Types].xml")
            mimetype = _entry(archive, "mimetype")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        return None
    named: set[str] = set()
    if content_types is not None:
        types = {found.decode("ascii", "replace") for found in _CONTENT_TYPE.findall(content_types)}
        named |= {kind for kind, main in OOXML_MAIN_TYPES.items() if main in types}
    if mimetype is not None:
        said = mimetype.decode("ascii", "replace").strip()
        named |= {kind for kind, value in OPENDOCUMENT_TYPES.items() if value == said}
    if declared in named:
        return declared
    return next(iter(sorted(named)), None) if len(named) == 1 else None


def ole_kind(content: bytes) -> str | None:
    """DOC or XLS by the stream an OLE2 compound file holds, or None."""
    try:
        with olefile.OleFileIO(io.BytesIO(content)) as ole:
            for kind, stream in OLE_STREAMS:
                if ole.exists(stream) and ole.get_type(stream) == olefile.STGTY_STREAM:
                    return kind
    except Exception:  # olefile raises many kinds on a malformed file: it is not one
        return None
    return None


def _entry(archive: zipfile.ZipFile, name: str) -> bytes | None:
    """A small entry's bytes; None when absent or not small (a bomb is never inflated)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > ENTRY_MAX:
        return None
    with archive.open(info) as entry:
        return entry.read(ENTRY_MAX + 1)[:ENTRY_MAX]


def too_large() -> InvalidArgument:
    return _refused("the file is too large", f"at most {MAX_SIZE // (1024 * 1024)} MiB")


def check_room(count: int) -> None:
    if count >= MAX_PER_TICKET:
        raise InvalidArgument(
            "the ticket has as many files as it may",
            {"file": f"at most {MAX_PER_TICKET} files a ticket"},
        )


def safe_filename(raw: str) -> str:
    """The name without a path or control characters, at most FILENAME_MAX characters
    (the extension kept)."""
    base = re.split(r"[/\\]", raw.strip())[-1]
    name = _UNSAFE_NAME.sub("_", base).strip(" .")
    if not name:
        raise InvalidArgument("the file has no name", {"filename": "give the file a name"})
    if len(name) > FILENAME_MAX:
        stem, dot, extension = name.rpartition(".")
        tail = f".{extension}" if dot and len(extension) <= 10 else ""
        name = (stem if tail else name)[: FILENAME_MAX - len(tail)] + tail
    return name


def _declared_type(raw: str) -> str:
    """The declared type when it is one we know (a browser often says only
    application/octet-stream: then the name's extension is the hint)."""
    declared = raw.split(";", 1)[0].strip().lower()
    return declared if declared in ALLOWED else ""


def _extension_type(filename: str) -> str:
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    return EXTENSIONS.get(extension, "")


def _refused(message: str, detail: str) -> InvalidArgument:
    return InvalidArgument(message, {"file": detail})
