"""Financial documents («Финансовые документы»): which there are, how a request for them
is checked, how each is numbered, and the figures each states — all taken from the
account's ledger entries for the period, so that a document agrees with the ledger to the
kopeck.

- Charges are the ledger's usage, subscription-fee and operation-fee entries (negative
  amounts: they take from the balance); payments are payment entries. The operator's
  prices include VAT 20%; a document shows the VAT inside each line, rounded half up to
  the kopeck, and its total VAT is the sum of its lines' (as an invoice-factura adds up).
- Numbers: one sequence per company, calendar year and type, without gaps: a number is
  taken in the same transaction that records the document, and a document once recorded
  keeps its number (its file is made again from the record if need be).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.documents.domain.money import vat_included
from services.kit.errors import InvalidArgument

INVOICE = "invoice"
ACT = "act"
INVOICE_FACTURA = "invoice_factura"
RECONCILIATION = "reconciliation"
BILL_DETAIL = "bill_detail"


@dataclass(frozen=True)
class DocumentType:
    id: str
    title: str
    prefix: str  # of its number
    description: str


DOCUMENT_TYPES: dict[str, DocumentType] = {
    t.id: t
    for t in (
        DocumentType(INVOICE, "Счёт на оплату", "СЧ", "счёт за услуги связи за период"),
        DocumentType(ACT, "Акт оказанных услуг", "АКТ", "акт об оказании услуг связи за период"),
        DocumentType(
            INVOICE_FACTURA,
            "Счёт-фактура",
            "СФ",
            "счёт-фактура по форме постановления Правительства РФ № 1137",
        ),
        DocumentType(
            RECONCILIATION,
            "Акт сверки взаимных расчётов",
            "АС",
            "начисления и платежи за период, сальдо на начало и на конец",
        ),
        DocumentType(
            BILL_DETAIL,
            "Детализация счёта",
            "ДЕТ",
            "начисления по каждому номеру лицевого счёта за период",
        ),
    )
}
OPERATION_TYPE = "documents"
OPERATION_TITLE = "Формирование финансовых документов"
PERMISSION = "documents.finance"
ACCOUNTS_MAX = 50
EMAIL_MAX = 254

# Ledger kinds, as billing names them.
CHARGE_KINDS = {
    "subscription_fee": "Абонентская плата",
    "usage": "Услуги связи",
    "operation_fee": "Плата за операции",
}
PAYMENT = "payment"
USAGE_KINDS = {
    "calls": ("Звонки", "мин"),
    "sms": ("SMS", "шт"),
    "data": ("Мобильный интернет", "МБ"),
    "roaming": ("Роуминг", "МБ"),
}


@dataclass(frozen=True)
class DocumentsRequest:
    account_ids: tuple[str, ...]
    types: tuple[str, ...]
    email: str


def checked_request(
    account_ids: Iterable[str], types: Iterable[str], email: str
) -> DocumentsRequest:
    """Accounts and types each once, in the order given; the e-mail if any."""
    accounts = tuple(dict.fromkeys(a.strip() for a in account_ids if a.strip()))
    wanted = tuple(dict.fromkeys(t.strip() for t in types if t.strip()))
    errors: dict[str, str] = {}
    if not accounts:
        errors["account_ids"] = "at least one account"
    elif len(accounts) > ACCOUNTS_MAX:
        errors["account_ids"] = f"at most {ACCOUNTS_MAX} accounts"
    if not wanted:
        errors["types"] = f"at least one of: {', '.join(DOCUMENT_TYPES)}"
    elif unknown := [t for t in wanted if t not in DOCUMENT_TYPES]:
        errors["types"] = f"unknown {', '.join(unknown)}; one of: {', '.join(DOCUMENT_TYPES)}"
    email = email.strip().lower()
    if email and (len(email) > EMAIL_MAX or not _looks_like_email(email)):
        errors["email"] = "an e-mail address"
    if errors:
        raise InvalidArgument("the request is not valid", errors)
    return DocumentsRequest(accounts, wanted, email)


def _looks_like_email(text: str) -> bool:
    local, _, domain = text.partition("@")
    return bool(local) and "." in domain and " " not in text and not domain.startswith(".")


def document_number(doc_type: str, year: int, seq: int) -> str:
    """«СЧ-2026-000001»."""
    return f"{DOCUMENT_TYPES[doc_type].prefix}-{year}-{seq:06d}"


# --- the figures -------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerLine:
    """One ledger entry as documents read it."""

    at: datetime
    kind: str
    amount: int  # signed kopecks: positive adds to the balance
    description: str = ""
    ref: str = ""


@dataclass(frozen=True)
class ChargeLine:
    title: str
    amount: int  # kopecks, VAT included

    @property
    def vat(self) -> int:
        return vat_included(self.amount)

    @property
    def net(self) -> int:
        return self.amount - self.vat


@dataclass(frozen=True)
class Figures:
    """What a document of one account and period states."""

    opening_balance: int
    closing_balance: int
    lines: tuple[ChargeLine, ...]
    payments: int  # received in the period
    other: int  # transfers and promised payments, signed
    entries: tuple[LedgerLine, ...] = field(default=())

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def vat(self) -> int:
        return sum(line.vat for line in self.lines)

    @property
    def net(self) -> int:
        return self.total - self.vat


def figures(opening_balance: int, entries: Sequence[LedgerLine]) -> Figures:
    """The document's figures from the account's entries of the period, in time order."""
    charged = dict.fromkeys(CHARGE_KINDS, 0)
    payments = other = 0
    for entry in entries:
        if entry.kind in charged:
            charged[entry.kind] -= entry.amount
        elif entry.kind == PAYMENT:
            payments += entry.amount
        else:
            other += entry.amount
    lines = tuple(
        ChargeLine(CHARGE_KINDS[kind], amount) for kind, amount in charged.items() if amount
    )
    closing = opening_balance + sum(e.amount for e in entries)
    return Figures(opening_balance, closing, lines, payments, other, tuple(entries))


@dataclass(frozen=True)
class Reconciliation:
    """The reconciliation statement's rows: each entry as a debit (what the company owes:
    charges) or a credit (what it paid), and the balance at both ends from the company's
    side: positive is the company's advance, negative its debt."""

    rows: tuple[tuple[datetime, str, int, int], ...]  # (at, what, debit, credit)
    debit: int
    credit: int


def reconciliation(entries: Sequence[LedgerLine]) -> Reconciliation:
    rows = []
    for entry in entries:
        what = entry.description or CHARGE_KINDS.get(entry.kind, entry.kind)
        debit, credit = (-entry.amount, 0) if entry.amount < 0 else (0, entry.amount)
        rows.append((entry.at, what, debit, credit))
    return Reconciliation(tuple(rows), sum(r[2] for r in rows), sum(r[3] for r in rows))
