"""Reports («Отчёты») over chosen numbers or a node's subtree and a period, as XLSX, CSV or
PDF. Each type says its columns; the worker writes rows as they come, so a report of any
size takes the same memory.

- `usage`, `cdr`, `spending_by_node` come from billing's rated usage records (what the
  operator's usage feed delivered): billing keeps no call records of its own, so a CDR row
  is one rated record (date and time, kind, quantity, charge).
- `payments`: the payments received on the accounts the numbers are billed to.
- `services`, `inventory`: the numbers as catalog showed them to the caller when asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.kit.errors import InvalidArgument
from services.kit.phone import normalize_msisdn

USAGE = "usage"
CDR = "cdr"
PAYMENTS = "payments"
SERVICES = "services"
INVENTORY = "inventory"
SPENDING_BY_NODE = "spending_by_node"

PDF = "pdf"
XLSX = "xlsx"
CSV = "csv"
FORMATS = (XLSX, CSV, PDF)
CONTENT_TYPES = {
    PDF: "application/pdf",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    CSV: "text/csv; charset=utf-8",
}

OPERATION_TYPE = "report"
PERMISSION = "reports.run"
TARGETS_MAX = 20_000
# A PDF is for reading, not for a quarter of call records: past this many rows it says
# so and ends (XLSX and CSV carry every row).
PDF_ROWS_MAX = 5_000


@dataclass(frozen=True)
class ReportType:
    id: str
    title: str
    description: str
    columns: tuple[str, ...]


KIND_COLUMNS = ("Звонки, мин", "Звонки, ₽", "SMS, шт", "SMS, ₽", "Интернет, МБ", "Интернет, ₽")
REPORT_TYPES: dict[str, ReportType] = {
    t.id: t
    for t in (
        ReportType(
            USAGE,
            "Статистика потребления услуг",
            "расход и начисления по каждому номеру за период",
            ("Номер", "Узел иерархии", *KIND_COLUMNS, "Роуминг, МБ", "Роуминг, ₽", "Итого, ₽"),
        ),
        ReportType(
            CDR,
            "Детализация звонков, SMS и интернета",
            "каждая тарифицированная запись по номерам за период",
            ("Номер", "Дата и время (UTC)", "Услуга", "Количество", "Ед.", "Сумма, ₽"),
        ),
        ReportType(
            PAYMENTS,
            "Платежи",
            "платежи на лицевые счета номеров за период",
            ("Дата", "Лицевой счёт", "Сумма, ₽", "Назначение"),
        ),
        ReportType(
            SERVICES,
            "Подключённые услуги и опции",
            "тариф и подключённые услуги каждого номера",
            ("Номер", "Тарифный план", "Услуга", "Подключена"),
        ),
        ReportType(
            INVENTORY,
            "Список номеров",
            "номера, SIM-карты, статус, узел иерархии, тариф, лицевой счёт",
            (
                "Номер",
                "ICCID",
                "Статус",
                "Узел иерархии",
                "Тарифный план",
                "Лицевой счёт",
                "Метка",
            ),
        ),
        ReportType(
            SPENDING_BY_NODE,
            "Расходы по узлам иерархии",
            "начисления за период по каждому узлу и его поддереву",
            ("Узел иерархии", "Номеров", "Начислено по узлу, ₽", "Всего с подузлами, ₽"),
        ),
    )
}


@dataclass(frozen=True)
class ReportRequest:
    type: str
    format: str
    msisdns: tuple[str, ...]
    node_id: str


def checked_request(
    report_type: str, report_format: str, msisdns: Sequence[str], node_id: str
) -> ReportRequest:
    """The type, the format and the targets (a list of normalised numbers, or a node)."""
    errors: dict[str, str] = {}
    report_type, report_format, node_id = (
        report_type.strip(),
        report_format.strip().lower(),
        node_id.strip(),
    )
    if report_type not in REPORT_TYPES:
        errors["type"] = f"one of: {', '.join(REPORT_TYPES)}"
    if report_format not in FORMATS:
        errors["format"] = f"one of: {', '.join(FORMATS)}"
    normalised: list[str] = []
    for index, raw in enumerate(msisdns):
        number = normalize_msisdn(raw)
        if number is None:
            errors[f"msisdns[{index}]"] = "a mobile number, 11 digits with the country code"
        else:
            normalised.append(number)
    if msisdns and node_id:
        errors["node_id"] = "give numbers or a node, not both"
    elif not msisdns and not node_id:
        errors["msisdns"] = "numbers, or a node_id for its whole subtree"
    if len(msisdns) > TARGETS_MAX:
        errors["msisdns"] = f"at most {TARGETS_MAX} numbers"
    if errors:
        raise InvalidArgument("the request is not valid", errors)
    return ReportRequest(report_type, report_format, tuple(dict.fromkeys(normalised)), node_id)


def file_name(report_type: str, label: str, report_format: str) -> str:
    return f"report-{report_type}-{label}.{report_format}"


@dataclass(frozen=True)
class Kopecks:
    """An amount in a report row; each format writes it exactly (never as a float)."""

    amount: int

    def __str__(self) -> str:
        sign = "-" if self.amount < 0 else ""
        whole, rest = divmod(abs(self.amount), 100)
        return f"{sign}{whole}.{rest:02d}"


Cell = str | int | Kopecks


def node_path_title(path: Iterable[str]) -> str:
    return " / ".join(path)
