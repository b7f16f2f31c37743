"""Application forms as PDF: the form's title, the applicant's details (the company's,
when prefilled; lines to fill in otherwise), the form's own fields, date and signature."""

from __future__ import annotations

from datetime import date

from services.documents.domain.forms import APPLICANT, FormTemplate
from services.documents.domain.requisites import OPERATOR, Requisites
from services.documents.render import pdf

BLANK = "_" * 48


def applicant_values(company: Requisites | None) -> list[str]:
    if company is None:
        return [BLANK] * len(APPLICANT)
    return [
        company.name,
        company.inn_kpp,
        company.ogrn or BLANK,
        company.address or BLANK,
        company.contract_number or BLANK,
        company.main_number,
        company.email or BLANK,
    ]


def form_pdf(template: FormTemplate, company: Requisites | None, today: date) -> bytes:
    story = [
        pdf.text(f"В {OPERATOR.name}", "small"),
        pdf.gap(2),
        pdf.title(template.title),
    ]
    if template.text:
        story += [pdf.text(template.text), pdf.gap()]
    story += [
        pdf.text("Сведения о заявителе", "bold"),
        pdf.pairs(list(zip(APPLICANT, applicant_values(company), strict=True))),
        pdf.gap(),
    ]
    if template.fields:
        story += [
            pdf.text("Заполняет заявитель", "bold"),
            pdf.pairs([(name, BLANK) for name in template.fields]),
            pdf.gap(),
        ]
    filled = f"{today:%d.%m.%Y}" if company is not None else "«___» __________ 20__ г."
    story += [
        pdf.text(f"Дата: {filled}"),
        pdf.signatures(["Руководитель организации", "Главный бухгалтер"]),
        pdf.gap(2),
        pdf.text("М.П.", "small"),
    ]
    return pdf.build(story, subject=template.title)
