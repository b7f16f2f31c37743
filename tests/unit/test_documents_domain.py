"""Documents' rules: VAT taken out in kopecks with explicit rounding, sums in words, the
figures of a document agreeing with the ledger, numbering, periods, the journal's order
and visibility, the forms' list."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.documents.domain import documents as docs
from services.documents.domain import journal
from services.documents.domain.forms import FORMS, form
from services.documents.domain.money import in_words, rubles, vat_included, without_vat
from services.documents.domain.periods import checked_period
from services.documents.domain.reports import Kopecks
from services.documents.domain.reports import checked_request as checked_report
from services.kit.errors import InvalidArgument, NotAllowed, NotFound

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("amount", "vat"),
    [
        (0, 0),
        (1, 0),  # 0.1667 kopecks → 0
        (2, 0),  # 0.333 → 0
        (3, 1),  # 0.5 exactly → half up
        (6, 1),
        (9, 2),  # 1.5 → 2
        (12_000, 2_000),
        (100, 17),  # 16.67 → 17
        (123_456_789, 20_576_132),  # 20 576 131.5 → half up
        (-3, -1),  # symmetric: a refund's VAT
    ],
)
def test_vat_inside_an_amount_is_rounded_half_up_to_the_kopeck(amount, vat):
    assert vat_included(amount) == vat
    assert without_vat(amount) == amount - vat


@given(st.integers(min_value=0, max_value=10**12))
def test_vat_is_within_half_a_kopeck_of_the_exact_share(amount):
    exact_twice = amount * 2 * 20 / 120
    assert abs(vat_included(amount) * 2 - exact_twice) <= 1


def test_sums_in_words_and_roubles():
    assert in_words(121_050) == "Одна тысяча двести десять рублей 50 копеек"
    assert in_words(2_100) == "Двадцать один рубль 00 копеек"
    assert in_words(200_000_003) == "Два миллиона рублей 03 копейки"
    assert rubles(123_456_789) == "1\u00a0234\u00a0567,89"
    assert str(Kopecks(-5)) == "-0.05" and str(Kopecks(123_45)) == "123.45"


def _at(day: int) -> datetime:
    return datetime(2026, 10, day, tzinfo=UTC)


def test_a_documents_figures_agree_with_the_ledger_to_the_kopeck():
    entries = [
        docs.LedgerLine(_at(1), "subscription_fee", -30_000),
        docs.LedgerLine(_at(2), "payment", 100_000),
        docs.LedgerLine(_at(5), "usage", -12_345),
        docs.LedgerLine(_at(9), "usage", -1),
        docs.LedgerLine(_at(9), "operation_fee", -5_000),
        docs.LedgerLine(_at(10), "transfer", -2_000),
    ]
    found = docs.figures(50_000, entries)
    assert found.total == 30_000 + 12_346 + 5_000  # every charge, nothing else
    assert found.total == -sum(e.amount for e in entries if e.kind in docs.CHARGE_KINDS)
    assert found.payments == 100_000 and found.other == -2_000
    assert found.closing_balance == 50_000 + sum(e.amount for e in entries)
    assert [line.title for line in found.lines] == [
        "Абонентская плата",
        "Услуги связи",
        "Плата за операции",
    ]
    # each line's VAT rounded on its own; the document's VAT is their sum
    assert found.vat == vat_included(30_000) + vat_included(12_346) + vat_included(5_000)
    assert found.net + found.vat == found.total
    statement = docs.reconciliation(entries)
    assert statement.debit == 30_000 + 12_346 + 5_000 + 2_000 and statement.credit == 100_000


def test_document_numbers_per_type_and_year():
    assert docs.document_number("invoice", 2026, 1) == "СЧ-2026-000001"
    assert docs.document_number("invoice_factura", 2027, 42) == "СФ-2027-000042"


def test_a_documents_request_is_checked_field_by_field():
    request = docs.checked_request(["acc_1", " acc_1 ", "acc_2"], ["act", "invoice", "act"], "")
    assert request.account_ids == ("acc_1", "acc_2") and request.types == ("act", "invoice")
    with pytest.raises(InvalidArgument) as refused:
        docs.checked_request([], ["receipt"], "not-an-address")
    assert set(refused.value.fields) == {"account_ids", "types", "email"}


@pytest.mark.parametrize(
    ("month", "first", "last", "field"),
    [
        ("2020-13", "", "", "period.month"),
        ("26-10", "", "", "period.month"),
        ("", "2026-01-32", "2026-02-01", "period.from"),
        ("", "", "", "period"),
        ("2026-10", "2026-10-01", "", "period"),
    ],
)
def test_bad_periods_are_refused_with_the_field(month, first, last, field):
    with pytest.raises(InvalidArgument) as refused:
        checked_period(month, first, last, TODAY)
    assert field in refused.value.fields


@pytest.mark.parametrize(
    ("month", "first", "last", "reason"),
    [
        ("2026-12", "", "", "PERIOD_NOT_BEGUN"),
        ("", "2025-01-01", "2026-01-01", "PERIOD_TOO_LONG"),  # over twelve months
        ("", "2026-03-01", "2026-02-01", "PERIOD_REVERSED"),
        ("", "2026-11-01", "2026-11-30", "PERIOD_NOT_ENDED"),  # ends in the future
    ],
)
def test_well_formed_periods_against_a_rule_are_not_allowed(month, first, last, reason):
    """Rules of two fields or of today, which no schema can say: 409 `not_allowed` (they
    were 422, which told a REST client its well-formed request was malformed)."""
    with pytest.raises(NotAllowed) as refused:
        checked_period(month, first, last, TODAY)
    assert refused.value.reason == reason


def test_good_periods_are_half_open_windows():
    october = checked_period("2026-10", "", "", TODAY)
    assert (october.start, october.end) == (_at(1), datetime(2026, 11, 1, tzinfo=UTC))
    assert october.label == "2026-10" and october.words == "за октябрь 2026 г."
    this_month = checked_period("2026-11", "", "", TODAY)
    assert this_month.last == date(2026, 11, 30)
    year = checked_period("", "2025-01-01", "2025-12-31", TODAY)
    assert year.end == datetime(2026, 1, 1, tzinfo=UTC)
    assert year.label == "2025-01-01_2025-12-31"


def test_the_journal_keeps_the_newest_state_whatever_the_order():
    running = journal.Progress("running", 40)
    assert journal.is_newer(running, None)
    assert journal.is_newer(journal.Progress("running", 80), running)
    assert journal.is_newer(running, running)  # the same news again
    assert not journal.is_newer(journal.Progress("running", 10), running)
    assert not journal.is_newer(journal.Progress("pending", 0), running)
    assert journal.is_newer(journal.Progress("cancelled", 0), journal.Progress("pending", 0))
    assert not journal.is_newer(running, journal.Progress("succeeded", 40))


def test_an_operation_is_seen_by_its_starter_and_company_wide_holders_of_its_permission():
    assert journal.visible("usr_1", "numbers.blocks", "usr_1", frozenset())
    assert journal.visible("usr_1", "numbers.blocks", "usr_2", frozenset({"numbers.blocks"}))
    assert not journal.visible("usr_1", "numbers.blocks", "usr_2", frozenset({"numbers.view"}))
    assert not journal.visible("usr_1", "", "usr_2", frozenset({"numbers.blocks"}))
    assert not journal.visible("", "numbers.blocks", "", frozenset())


def test_a_reports_request_is_checked_field_by_field():
    request = checked_report("usage", "XLSX", ["+7 (916) 123-45-67", "79161234567"], "")
    assert request.msisdns == ("79161234567",) and request.format == "xlsx"
    with pytest.raises(InvalidArgument) as refused:
        checked_report("weather", "docx", ["12345"], "nod_1")
    assert {"type", "format", "msisdns[0]", "node_id"} <= set(refused.value.fields)


def test_the_operators_forms_with_their_titles():
    assert len(FORMS) == 21
    assert form("connection").title == "Заявление на подключение"
    assert form("contract_termination").title == "Заявление на расторжение договора"
    with pytest.raises(NotFound):
        form("nope")


def test_every_document_type_prints_its_number_parties_and_figures():
    import io

    import pypdf

    from services.documents.domain.requisites import OPERATOR, Requisites
    from services.documents.render.documents import DocumentSheet, NumberCharges, document_pdf

    entries = [
        docs.LedgerLine(_at(1), "subscription_fee", -30_000, "абонентская плата"),
        docs.LedgerLine(_at(2), "payment", 100_000, "платёж"),
        docs.LedgerLine(_at(5), "usage", -12_345, "услуги связи"),
    ]
    found = docs.figures(50_000, entries)
    buyer = Requisites(name='ООО "Ромашка"', inn="7701234560", kpp="770101001")
    october = checked_period("2026-10", "", "", TODAY)
    for doc_type in docs.DOCUMENT_TYPES:
        number = docs.document_number(doc_type, 2026, 7)
        sheet = DocumentSheet(
            doc_type,
            number,
            date(2026, 11, 1),
            october,
            buyer,
            "ЛС-000001",
            found,
            [NumberCharges("79161234567", {"usage": 12_345})],
        )
        reader = pypdf.PdfReader(io.BytesIO(document_pdf(sheet)))
        text = "\n".join(p.extract_text() for p in reader.pages).replace("\u00a0", " ")
        assert number in text and buyer.name in text and OPERATOR.inn in text, doc_type
        assert "423,45" in text, doc_type  # 300.00 + 123.45, VAT included
        fonts = [f.get_object() for p in reader.pages for f in p["/Resources"]["/Font"].values()]
        embedded = [
            f for f in fonts if "/FontDescriptor" in f and "/FontFile2" in f["/FontDescriptor"]
        ]
        assert {str(f["/BaseFont"]).split("+")[-1] for f in embedded} >= {"SourceSansPro-Regular"}
        if doc_type == docs.INVOICE_FACTURA:
            assert rubles(found.vat).replace("\u00a0", " ") in text and "643" in text
        if doc_type == docs.RECONCILIATION:
            assert "1 000,00" in text and "Сальдо конечное" in text
