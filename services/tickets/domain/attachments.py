"""Tickets' rules for attached files: which kinds are taken, how big, and what a file
really is.

The type an uploader declares is a claim; the file's first bytes (its "magic") decide.
A file whose bytes are none of the allowed kinds is refused whatever it claims to be, and
so is one whose bytes say another kind than the one declared (a renamed executable, a
page saved as .pdf). Office files of today are ZIP containers: the ZIP magic plus the
declared type or the name's extension among the office ones tells which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
        return declared if declared in ZIP_KINDS else None
    if content.startswith(_OLE):
        return declared if declared in OLE_KINDS else None
    return None


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
