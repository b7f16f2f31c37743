"""Tickets' input rules (categories, texts, numbers, filters), who sees a ticket (the
nodes its numbers share), and attached files (kinds by their bytes, sizes, names)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.kit.authz import Access
from services.kit.errors import InvalidArgument
from services.tickets.domain import attachments as files
from services.tickets.domain.tickets import (
    MSISDNS_MAX,
    SUBJECT_MAX,
    Actor,
    checked_category,
    checked_filter,
    checked_msisdns,
    checked_subject,
    checked_text,
    common_prefix,
    new_ticket,
    visible_within,
)
from tests.support.office_files import ole_with_stream, ooxml, opendocument, zip_of

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PDF = b"%PDF-1.7\n" + b"0" * 100
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 100
ZIP = zip_of({"readme.txt": b"a plain archive"})
XLSX = ooxml("xlsx")
DOCX = ooxml("docx")
OLE = ole_with_stream("Workbook")


def about(*paths: tuple[str, ...]):
    return new_ticket(
        ticket_id="tkt_1",
        company_id="cmp_1",
        category="other",
        subject="Вопрос",
        text="Текст",
        numbers={f"7916100000{i}": path for i, path in enumerate(paths)},
        author=Actor("customer", "usr_1", "Иванов"),
        now=NOW,
    )


@pytest.mark.parametrize("raw", ["", "  ", "complaint", "Billing"])
def test_an_unknown_category_is_refused(raw):
    with pytest.raises(InvalidArgument) as refused:
        checked_category(raw)
    assert "category" in refused.value.fields


def test_subject_and_text_must_say_something_and_not_too_much():
    assert checked_subject("  Нет связи ") == "Нет связи"
    for raw in ("", "   "):
        with pytest.raises(InvalidArgument) as refused:
            checked_subject(raw)
        assert "subject" in refused.value.fields
        with pytest.raises(InvalidArgument):
            checked_text(raw)
    with pytest.raises(InvalidArgument):
        checked_subject("я" * (SUBJECT_MAX + 1))


def test_numbers_are_normalised_once_each_and_bad_ones_named():
    assert checked_msisdns(["+7 (916) 100-00-01", "89161000001", "79161000002"]) == [
        "79161000001",
        "79161000002",
    ]
    with pytest.raises(InvalidArgument) as refused:
        checked_msisdns(["79161000001", "12345"])
    assert list(refused.value.fields) == ["msisdns[1]"]
    with pytest.raises(InvalidArgument):
        checked_msisdns([f"7916100{i:04d}" for i in range(MSISDNS_MAX + 1)])


def test_a_filter_checks_what_it_names():
    assert checked_filter(msisdn="+7 916 100-00-01").msisdn == "79161000001"
    for bad in ({"status": "done"}, {"category": "x"}, {"msisdn": "123"}, {"query": "я" * 101}):
        with pytest.raises(InvalidArgument):
            checked_filter(**bad)


def test_a_ticket_lives_at_the_nodes_all_its_numbers_share():
    assert common_prefix([]) == ()
    assert common_prefix([("r", "a", "x"), ("r", "a", "y")]) == ("r", "a")
    assert about(("r", "a", "x"), ("r", "b")).scope_nodes == ("r",)
    assert about().scope_nodes == ()


def test_a_scoped_caller_sees_a_ticket_only_when_every_number_is_in_its_subtree():
    in_a = about(("r", "a", "x"), ("r", "a", "y"))
    across = about(("r", "a", "x"), ("r", "b"))
    nowhere = about()
    assert visible_within(in_a, frozenset({"a"}))
    assert not visible_within(across, frozenset({"a"}))
    assert not visible_within(nowhere, frozenset({"a"}))
    assert all(visible_within(t, None) for t in (in_a, across, nowhere))
    scoped = Access.from_pairs("cmp_1", [("a", ["tickets.manage"])])
    assert scoped.allows("tickets.manage", in_a.scope_nodes)
    assert not scoped.allows("tickets.manage", across.scope_nodes)
    assert not scoped.allows("tickets.manage", nowhere.scope_nodes)


@pytest.mark.parametrize(
    ("name", "declared", "content", "kind"),
    [
        ("акт.pdf", "application/pdf", PDF, files.PDF),
        ("scan.png", "application/octet-stream", PNG, files.PNG),
        ("photo.jpg", "", b"\xff\xd8\xff\xe0" + b"0" * 10, files.JPEG),
        ("a.gif", "image/gif", b"GIF89a" + b"0" * 10, files.GIF),
        ("a.webp", "", b"RIFF\x00\x00\x00\x00WEBPVP8 ", files.WEBP),
        ("Реестр.xlsx", "application/octet-stream", XLSX, files.XLSX),
        ("письмо.docx", files.DOCX, DOCX, files.DOCX),
        ("слайды.pptx", files.PPTX, ooxml("pptx"), files.PPTX),
        ("текст.odt", files.ODT, opendocument("odt"), files.ODT),
        ("таблица.ods", "", opendocument("ods"), files.ODS),
        ("old.xls", "", OLE, files.XLS),
        ("old95.xls", files.XLS, ole_with_stream("Book"), files.XLS),
        ("old.doc", files.DOC, ole_with_stream("WordDocument"), files.DOC),
    ],
)
def test_allowed_kinds_are_known_by_their_bytes(name, declared, content, kind):
    checked = files.check_file(name, declared, content)
    assert checked.content_type == kind and checked.size == len(content)


@pytest.mark.parametrize(
    ("name", "declared", "content"),
    [
        ("run.exe", "application/octet-stream", b"MZ\x90\x00" + b"0" * 100),
        ("run.pdf", "application/pdf", b"MZ\x90\x00" + b"0" * 100),  # a renamed program
        ("page.pdf", "application/pdf", b"<html><body>hi</body></html>"),
        ("archive.zip", "application/zip", ZIP),  # a plain archive is not an office file
        # office files whose insides say another kind than declared, or no kind at all
        ("письмо.docx", files.DOCX, ZIP),  # a ZIP named DOCX
        ("письмо.docx", files.DOCX, XLSX),  # a workbook declared a document
        ("письмо.docx", files.DOCX, ooxml("docx", "application/xml")),
        # a macro-enabled document is not a DOCX
        (
            "письмо.docx",
            files.DOCX,
            ooxml("docx", "application/vnd.ms-word.document.macroEnabled.main+xml"),
        ),
        ("таблица.xlsx", files.XLSX, DOCX),
        ("слайды.pptx", files.PPTX, DOCX),
        ("текст.odt", files.ODT, opendocument("ods")),
        ("текст.odt", files.ODT, opendocument("odt", "application/epub+zip")),
        ("таблица.ods", files.ODS, XLSX),
        ("old.doc", files.DOC, OLE),  # a workbook declared a document
        ("old.xls", files.XLS, ole_with_stream("WordDocument")),
        ("old.xls", files.XLS, ole_with_stream("Contents")),  # neither stream
        ("old.doc", files.DOC, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"0" * 100),
        ("broken.docx", files.DOCX, b"PK\x03\x04" + b"0" * 100),  # not a ZIP inside
        ("a.png", "image/png", PDF),  # says one allowed kind, is another
        ("notes.txt", "text/plain", b"hello"),
    ],
)
def test_other_kinds_and_mismatches_are_refused(name, declared, content):
    with pytest.raises(InvalidArgument) as refused:
        files.check_file(name, declared, content)
    assert "file" in refused.value.fields


def test_size_limits_and_empty_files():
    with pytest.raises(InvalidArgument):
        files.check_file("a.pdf", "application/pdf", b"")
    with pytest.raises(InvalidArgument) as refused:
        files.check_file("a.pdf", "application/pdf", PDF[:5] + b"0" * files.MAX_SIZE)
    assert "MiB" in refused.value.fields["file"]
    files.check_file("a.pdf", "application/pdf", PDF[:5] + b"0" * (files.MAX_SIZE - 5))
    files.check_room(files.MAX_PER_TICKET - 1)
    with pytest.raises(InvalidArgument):
        files.check_room(files.MAX_PER_TICKET)


def test_file_names_lose_their_paths_and_odd_characters():
    assert files.safe_filename("C:\\Users\\x\\акт сверки.pdf") == "акт сверки.pdf"
    assert files.safe_filename("../../etc/passwd") == "passwd"
    assert files.safe_filename('a<b>:"c".pdf') == "a_b___c_.pdf"
    long = files.safe_filename("я" * 300 + ".pdf")
    assert len(long) == files.FILENAME_MAX and long.endswith(".pdf")
    with pytest.raises(InvalidArgument):
        files.safe_filename(" / ")
