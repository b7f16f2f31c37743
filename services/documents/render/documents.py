"""Financial documents as PDF, in Russian, each in the layout a Russian accountant expects:

- счёт на оплату: the seller's bank details, the payer, the charges with the VAT in them,
  the total in words;
- акт оказанных услуг: the contractor and the customer, the services of the period, both
  signatures;
- счёт-фактура: the form of the Government's decree № 1137 (as amended), its numbered
  lines (1)–(8) and its thirteen-column table, landscape;
- акт сверки взаимных расчётов: the operator's entries of the period as debit and credit,
  the balance at both ends;
- детализация счёта: each number's charges by kind, then the account's own fees.

Every figure comes from `Figures` (the ledger's entries for the period), in kopecks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from reportlab.platypus import Flowable

from services.documents.domain import documents as rules
from services.documents.domain.documents import Figures
from services.documents.domain.money import CURRENCY_CODE, VAT_PERCENT, in_words, rubles
from services.documents.domain.periods import Period
from services.documents.domain.requisites import ACCOUNTANT, CHIEF, OPERATOR, Requisites
from services.documents.render import pdf

NONE = "—"
SIGN_HERE = "_______________ / _______________ /"
UNIT = ("876", "усл. ед.")  # ОКЕИ: условная единица


@dataclass(frozen=True)
class NumberCharges:
    """One number's charges of the period by usage kind (kopecks), for the bill detail."""

    msisdn: str
    by_kind: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())


@dataclass(frozen=True)
class DocumentSheet:
    """What one document states: its type, number and date, who to whom, for which
    account and period, and the figures."""

    type: str
    number: str
    day: date
    period: Period
    buyer: Requisites
    account_number: str
    figures: Figures
    numbers: Sequence[NumberCharges] = field(default=())
    seller: Requisites = OPERATOR

    @property
    def title(self) -> str:
        return rules.DOCUMENT_TYPES[self.type].title

    @property
    def heading(self) -> str:
        return f"{self.title} № {self.number} от {self.day:%d.%m.%Y}"

    @property
    def service_name(self) -> str:
        contract = self.buyer.contract_number
        on = f" по договору № {contract}" if contract else ""
        return f"{on}, лицевой счёт {self.account_number}, {self.period.words}".lstrip(", ")


def document_pdf(sheet: DocumentSheet) -> bytes:
    layouts: dict[str, Callable[[DocumentSheet], list[Flowable]]] = {
        rules.INVOICE: _invoice,
        rules.ACT: _act,
        rules.INVOICE_FACTURA: _invoice_factura,
        rules.RECONCILIATION: _reconciliation,
        rules.BILL_DETAIL: _bill_detail,
    }
    story = layouts[sheet.type](sheet)
    return pdf.build(story, wide=sheet.type == rules.INVOICE_FACTURA, subject=sheet.heading)


def _party(label: str, who: Requisites) -> tuple[str, str]:
    parts = [who.name, f"ИНН/КПП {who.inn_kpp}"]
    if who.address:
        parts.append(who.address)
    return label, ", ".join(parts)


def _charges_table(sheet: DocumentSheet) -> list[Flowable]:
    """The charges of the period, VAT included, with the totals below."""
    rows = [
        [
            str(index),
            f"{line.title}{_on(sheet)}",
            UNIT[1],
            "1",
            rubles(line.amount),
            rubles(line.amount),
        ]
        for index, line in enumerate(sheet.figures.lines, start=1)
    ] or [["", "Начислений за период нет", "", "", "", rubles(0)]]
    figures = sheet.figures
    return [
        pdf.table(
            ["№", "Наименование услуги", "Ед.", "Кол-во", "Цена, руб.", "Сумма, руб."],
            rows,
            [10, 85, 18, 15, 26, 26],
            numeric_from=3,
            footer=[
                ["", "", "", "", "Итого:", rubles(figures.total)],
                ["", "", "", "", f"В том числе НДС ({VAT_PERCENT}%):", rubles(figures.vat)],
                ["", "", "", "", "Всего к оплате:", rubles(figures.total)],
            ],
        ),
        pdf.gap(2),
        pdf.text(f"Всего наименований {len(figures.lines)}, на сумму {rubles(figures.total)} руб."),
        pdf.text(in_words(figures.total), "bold"),
    ]


def _on(sheet: DocumentSheet) -> str:
    return f" ({sheet.service_name})"


def _invoice(sheet: DocumentSheet) -> list[Flowable]:
    seller = sheet.seller
    bank = pdf.table(
        ["Банк получателя", "Реквизиты"],
        [
            [seller.bank, f"БИК {seller.bik}"],
            ["", f"Сч. № {seller.correspondent_account}"],
            [f"ИНН {seller.inn}  КПП {seller.kpp}", f"Сч. № {seller.settlement_account}"],
            [f"Получатель: {seller.name}", ""],
        ],
        [110, 70],
    )
    return [
        bank,
        pdf.gap(),
        pdf.title(sheet.heading),
        pdf.pairs(
            [
                _party("Поставщик:", seller),
                _party("Покупатель:", sheet.buyer),
                ("Основание:", sheet.service_name),
            ],
            (30, 150),
        ),
        pdf.gap(),
        *_charges_table(sheet),
        pdf.gap(),
        pdf.text(
            "Оплата по настоящему счёту означает согласие с условиями оказания услуг связи. "
            "В назначении платежа укажите номер счёта и номер лицевого счёта.",
            "small",
        ),
        pdf.signatures([CHIEF, ACCOUNTANT]),
    ]


def _act(sheet: DocumentSheet) -> list[Flowable]:
    return [
        pdf.title(sheet.heading),
        pdf.pairs(
            [
                _party("Исполнитель:", sheet.seller),
                _party("Заказчик:", sheet.buyer),
                ("Основание:", sheet.service_name),
            ],
            (30, 150),
        ),
        pdf.gap(),
        *_charges_table(sheet),
        pdf.gap(),
        pdf.text(
            "Вышеперечисленные услуги оказаны полностью и в срок. "
            "Заказчик претензий по объёму, качеству и срокам оказания услуг не имеет."
        ),
        pdf.gap(),
        pdf.pairs([("Исполнитель", sheet.seller.name), ("Заказчик", sheet.buyer.name)], (30, 150)),
        pdf.signatures(["Исполнитель", "Заказчик"]),
        pdf.text("М.П.", "small"),
    ]


FACTURA_COLUMNS = (
    "Наименование товара (описание выполненных работ, оказанных услуг), имущественного права",
    "Код вида товара",
    "Ед. изм.: код",
    "Ед. изм.: условное обозначение",
    "Коли-чество (объём)",
    "Цена (тариф) за единицу измерения",
    "Стоимость товаров (работ, услуг) без налога — всего",
    "В том числе сумма акциза",
    "Налоговая ставка",
    "Сумма налога, предъявляемая покупателю",
    "Стоимость товаров (работ, услуг) с налогом — всего",
    "Страна происхождения: код / наименование",
    "Регистрационный номер декларации на товары или партии товара",
)
FACTURA_WIDTHS = (52, 14, 14, 16, 16, 20, 22, 16, 15, 20, 22, 18, 18)  # 263 of 267 mm


def _invoice_factura(sheet: DocumentSheet) -> list[Flowable]:
    seller, buyer, figures = sheet.seller, sheet.buyer, sheet.figures
    rows = [
        [
            f"{line.title}{_on(sheet)}",
            NONE,
            UNIT[0],
            UNIT[1],
            "1",
            rubles(line.net),
            rubles(line.net),
            "без акциза",
            f"{VAT_PERCENT}%",
            rubles(line.vat),
            rubles(line.amount),
            NONE,
            NONE,
        ]
        for line in figures.lines
    ] or [["Начислений нет", *[NONE] * 5, rubles(0), "", "", rubles(0), rubles(0), NONE, NONE]]
    footer = [
        [
            "Всего к оплате (9)",
            "",
            "",
            "",
            "",
            "",
            rubles(figures.net),
            "X",
            "",
            rubles(figures.vat),
            rubles(figures.total),
            "",
            "",
        ]
    ]
    head = [f"{i}. {c}" for i, c in zip(_FACTURA_NUMBERS, FACTURA_COLUMNS, strict=True)]
    return [
        pdf.text(
            "Приложение № 1 к постановлению Правительства Российской Федерации "
            "от 26 декабря 2011 г. № 1137 (в ред. постановления от 2 апреля 2021 г. № 534)",
            "small",
        ),
        pdf.title(f"Счёт-фактура № {sheet.number} от {sheet.day:%d.%m.%Y} (1)"),
        pdf.text("Исправление № — от — (1а)"),
        pdf.pairs(
            [
                ("Продавец (2):", seller.name),
                ("Адрес (2а):", seller.address or NONE),
                ("ИНН/КПП продавца (2б):", seller.inn_kpp),
                ("Грузоотправитель и его адрес (3):", NONE),
                ("Грузополучатель и его адрес (4):", NONE),
                ("К платёжно-расчётному документу (5):", "№ — от —"),
                (
                    "Документ об отгрузке (5а):",
                    f"№ п/п 1–{max(len(figures.lines), 1)} {sheet.service_name}",
                ),
                ("Покупатель (6):", buyer.name),
                ("Адрес (6а):", buyer.address or NONE),
                ("ИНН/КПП покупателя (6б):", buyer.inn_kpp),
                ("Валюта: наименование, код (7):", f"Российский рубль, {CURRENCY_CODE}"),
                (
                    "Идентификатор государственного контракта, договора (соглашения) (8):",
                    NONE,
                ),
            ],
            (80, 180),
        ),
        pdf.gap(),
        pdf.table(head, rows, FACTURA_WIDTHS, numeric_from=4, footer=footer),
        pdf.gap(),
        pdf.pairs(
            [
                ("Руководитель организации или иное уполномоченное лицо", SIGN_HERE),
                ("Главный бухгалтер или иное уполномоченное лицо", SIGN_HERE),
            ],
            (110, 150),
        ),
    ]


_FACTURA_NUMBERS = ("1", "1а", "2", "2а", "3", "4", "5", "6", "7", "8", "9", "10/10а", "11")


def _reconciliation(sheet: DocumentSheet) -> list[Flowable]:
    """From the operator's side: charges are its debit (the company owes), payments its
    credit; a positive balance is the company's advance, so it opens on the credit side."""
    figures = sheet.figures
    statement = rules.reconciliation(figures.entries)

    def sides(balance: int) -> tuple[str, str]:
        return (rubles(-balance), "") if balance < 0 else ("", rubles(balance))

    opening, closing = sides(figures.opening_balance), sides(figures.closing_balance)
    rows = [["", "Сальдо начальное", *opening]]
    rows += [
        [f"{at:%d.%m.%Y}", what, rubles(debit) if debit else "", rubles(credit) if credit else ""]
        for at, what, debit, credit in statement.rows
    ]
    rows += [
        ["", "Обороты за период", rubles(statement.debit), rubles(statement.credit)],
        ["", "Сальдо конечное", *closing],
    ]
    balance = figures.closing_balance
    if balance < 0:
        result = f"задолженность {sheet.buyer.name} перед {sheet.seller.name} составляет"
    else:
        result = f"задолженность {sheet.seller.name} перед {sheet.buyer.name} (аванс) составляет"
    return [
        pdf.title(sheet.heading),
        pdf.text(
            f"{sheet.period.words.capitalize()} между {sheet.seller.name} "
            f"и {sheet.buyer.name}{_on(sheet)}"
        ),
        pdf.gap(2),
        pdf.pairs([_party("Оператор:", sheet.seller), _party("Абонент:", sheet.buyer)], (30, 150)),
        pdf.gap(),
        pdf.table(
            ["Дата", "Документ, операция", "Дебет, руб.", "Кредит, руб."],
            rows,
            [22, 98, 30, 30],
            numeric_from=2,
        ),
        pdf.gap(),
        pdf.text(
            f"По данным {sheet.seller.name} на {sheet.period.last:%d.%m.%Y} {result} "
            f"{rubles(abs(balance))} руб. ({in_words(abs(balance))})."
        ),
        pdf.gap(),
        pdf.pairs([("От", sheet.seller.name), ("От", sheet.buyer.name)], (30, 150)),
        pdf.signatures([sheet.seller.name, sheet.buyer.name]),
    ]


def _bill_detail(sheet: DocumentSheet) -> list[Flowable]:
    figures = sheet.figures
    kinds = list(rules.USAGE_KINDS)
    rows = [
        [n.msisdn, *(rubles(n.by_kind.get(kind, 0)) for kind in kinds), rubles(n.total)]
        for n in sheet.numbers
    ] or [[NONE, *([rubles(0)] * (len(kinds) + 1))]]
    by_number = sum(n.total for n in sheet.numbers)
    own = [line for line in figures.lines if line.title != rules.CHARGE_KINDS["usage"]]
    return [
        pdf.title(sheet.heading),
        pdf.pairs(
            [
                _party("Оператор:", sheet.seller),
                _party("Абонент:", sheet.buyer),
                ("Лицевой счёт:", sheet.account_number),
                ("Период:", sheet.period.words),
            ],
            (30, 150),
        ),
        pdf.gap(),
        pdf.text("Начисления по номерам (услуги связи)", "bold"),
        pdf.table(
            ["Номер", *(rules.USAGE_KINDS[k][0] + ", руб." for k in kinds), "Итого, руб."],
            rows,
            [34, 28, 28, 34, 28, 28],
            numeric_from=1,
            footer=[["Итого по номерам", *[""] * len(kinds), rubles(by_number)]],
        ),
        pdf.gap(),
        pdf.text("Начисления по лицевому счёту", "bold"),
        pdf.table(
            ["Начисление", "Сумма, руб."],
            [[line.title, rubles(line.amount)] for line in own] or [[NONE, rubles(0)]],
            [150, 30],
            numeric_from=1,
        ),
        pdf.gap(),
        pdf.pairs(
            [
                ("Всего начислено:", f"{rubles(figures.total)} руб."),
                (f"В том числе НДС ({VAT_PERCENT}%):", f"{rubles(figures.vat)} руб."),
                ("Платежи за период:", f"{rubles(figures.payments)} руб."),
                ("Баланс на начало периода:", f"{rubles(figures.opening_balance)} руб."),
                ("Баланс на конец периода:", f"{rubles(figures.closing_balance)} руб."),
            ],
            (60, 120),
        ),
    ]
