"""Documents through REST: the operation-results journal (every operation, who sees it,
its results) and the application forms (PDF with the company's details printed in)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import openpyxl
import pypdf
import pytest

from tests.e2e.test_billing import (
    billed_numbers,
    billing_operator,
    feed_usage,
    open_account,
    pay,
    usage_record,
)
from tests.e2e.test_catalog_bulk_operations import finished, journal_lists, results, start
from tests.e2e.test_catalog_numbers import give_numbers
from tests.e2e.test_identity_flows import bearer, register
from tests.e2e.test_identity_users_roles import create_user, login_as
from tests.support.kit import eventually
from vm.billing.v1 import billing_pb2

pytestmark = pytest.mark.e2e


@pytest.fixture
async def admin(api, company) -> dict[str, str]:
    return bearer(await register(api, company))


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


# ---------------------------------------------------------------- forms


async def test_the_forms_are_listed_with_the_operators_titles(api, admin):
    response = await api.get("/api/v1/forms", headers=admin)
    assert response.status_code == 200, response.text
    forms = {f["id"]: f for f in response.json()["items"]}
    assert len(forms) == 21
    assert forms["connection"]["title"] == "Заявление на подключение"
    assert forms["global_admin_guide"]["title"] == "Инструкция Глобального администратора"
    assert forms["contract_termination"]["url"] == "/api/v1/forms/contract_termination/file"


async def test_a_form_prefilled_with_the_companys_details(api, admin, company):
    prefilled = await api.get(
        "/api/v1/forms/connection/file", headers=admin, params={"prefill": "true"}
    )
    assert prefilled.status_code == 200, prefilled.text
    assert prefilled.headers["content-type"] == "application/pdf"
    assert "connection.pdf" in prefilled.headers["content-disposition"]
    text = pdf_text(prefilled.content)
    assert "Заявление на подключение" in text
    assert company.name in text and company.main_number in text and company.contact_email in text

    blank = await api.get("/api/v1/forms/connection/file", headers=admin)
    assert blank.status_code == 200
    assert "Заявление на подключение" in pdf_text(blank.content)
    assert company.name not in pdf_text(blank.content)

    missing = await api.get("/api/v1/forms/nope/file", headers=admin)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert (await api.get("/api/v1/forms/connection/file")).status_code == 401


async def test_every_form_is_a_pdf_with_its_title(api, admin):
    forms = (await api.get("/api/v1/forms", headers=admin)).json()["items"]
    for item in forms:
        response = await api.get(item["url"], headers=admin, params={"prefill": "true"})
        assert response.status_code == 200, (item["id"], response.text)
        # titles wrap across lines in the PDF: compare the words
        assert item["title"].split()[:2] == pdf_text(response.content).split("\n", 2)[1].split()[:2]


# ---------------------------------------------------------------- the journal


async def test_the_journal_shows_an_operation_to_its_starter_and_company_wide_holders(
    system, api, admin, company
):
    msisdns = await give_numbers(system, company.id, ["", ""])
    op = await start(
        api, admin, {"type": "block", "msisdns": msisdns, "params": {"type": "voluntary"}}
    )
    done = await finished(api, admin, op["id"])
    assert done["status"] == "succeeded"
    found = await results(api, admin, done)
    assert list(found) == msisdns  # in the order of the request
    assert {r["target"] for r in found.values()} == set(msisdns)

    async def listed(headers) -> list[str]:
        items = (await api.get("/api/v1/operations", headers=headers)).json()["items"]
        return [o["id"] for o in items]

    await eventually(lambda: _has(listed(admin), op["id"]), what="the journal has it")
    telecom = await create_user(api, admin, roles=["telecom_admin"])
    viewer = await create_user(api, admin, roles=["viewer"])
    telecom_headers = await login_as(api, telecom["login"])
    viewer_headers = await login_as(api, viewer["login"])
    assert op["id"] in await listed(telecom_headers)  # numbers.blocks for the whole company
    assert op["id"] not in await listed(viewer_headers)
    hidden = await api.get(f"/api/v1/operations/{op['id']}", headers=viewer_headers)
    assert hidden.status_code == 404
    ended = {"type": "block", "status": "succeeded"}
    await eventually(
        lambda: journal_lists(api, admin, [op["id"]], **ended), what="the journal has it ended"
    )
    none = await api.get("/api/v1/operations", headers=admin, params={"type": "report"})
    assert none.json()["items"] == []
    bad = await api.get("/api/v1/operations", headers=admin, params={"status": "done"})
    assert bad.status_code == 422


async def _has(listing, operation_id: str) -> bool:
    return operation_id in await listing


async def test_a_caller_sees_at_once_the_operation_it_has_just_started(api, admin, system, company):
    msisdns = await give_numbers(system, company.id, [""])
    for _ in range(5):
        op = await start(
            api,
            admin,
            {
                "type": "block",
                "msisdns": msisdns,
                "params": {"type": "voluntary"},
                "dry_run": True,
            },
        )
        seen = await api.get(f"/api/v1/operations/{op['id']}", headers=admin)
        assert seen.status_code == 200, seen.text
        assert seen.json()["id"] == op["id"]


# ---------------------------------------------------------------- reports


async def report(api, headers, body: dict, timeout: float = 60) -> tuple[dict, bytes]:
    op = await start(api, headers, body, "/api/v1/reports")
    assert op["type"] == "report" and op["title"].startswith("Отчёт")
    done = await finished(api, headers, op["id"], timeout)
    assert done["status"] == "succeeded", done
    (file,) = done["files"]
    response = await api.get(file["url"], headers=headers)
    assert response.status_code == 200, response.text
    assert len(response.content) == file["size"]
    return done, response.content


async def test_reports_of_usage_cdr_and_inventory_agree_with_billing(
    system, api, admin, company, other_company
):
    await open_account(system, company.id)
    msisdns = await billed_numbers(system, company.id, 2)
    month = datetime.now(UTC).strftime("%Y-%m")
    first_day = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    records = [
        usage_record(msisdns[0], "calls", 1_234, first_day + timedelta(minutes=1)),
        usage_record(msisdns[0], "data", 5_000, first_day + timedelta(minutes=2)),
        usage_record(msisdns[1], "sms", 99, first_day + timedelta(minutes=3)),
    ]
    assert (await feed_usage(system, records)).charged == 3

    done, content = await report(
        api, admin, {"type": "usage", "format": "xlsx", "msisdns": msisdns, "period": month}
    )
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).active
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == set(msisdns)
    # XLSX keeps numbers as doubles: compare in kopecks
    assert round(rows[msisdns[0]][-1] * 100) == 6_234 and round(rows[msisdns[1]][-1] * 100) == 99
    assert done["progress"] == 100 and done["total"] == 2

    _, cdr = await report(
        api,
        admin,
        {
            "type": "cdr",
            "format": "csv",
            "msisdns": msisdns,
            "period": {
                "from": first_day.date().isoformat(),
                "to": datetime.now(UTC).date().isoformat(),
            },
        },
    )
    lines = list(csv.reader(io.StringIO(cdr.decode("utf-8-sig")), delimiter=";"))
    charged = [row for row in lines[1:] if row[5] != "0.00"]
    assert sorted(row[5] for row in charged) == ["0.99", "12.34", "50.00"]

    _, inventory = await report(
        api, admin, {"type": "inventory", "format": "pdf", "msisdns": msisdns, "period": month}
    )
    text = pdf_text(inventory)
    assert "Список номеров" in text and company.name in text
    assert all(m in text for m in msisdns)

    stranger = bearer(await register(api, other_company))
    hidden = await api.get(done["files"][0]["url"], headers=stranger)
    assert hidden.status_code == 404


async def test_bad_report_requests_are_refused_and_create_nothing(system, api, admin, company):
    msisdns = await give_numbers(system, company.id, [""])
    month = datetime.now(UTC).strftime("%Y-%m")
    cases = [
        ({"type": "weather", "format": "xlsx", "msisdns": msisdns, "period": month}, 422),
        ({"type": "usage", "format": "docx", "msisdns": msisdns, "period": month}, 422),
        ({"type": "usage", "format": "xlsx", "msisdns": msisdns, "period": "2020-13"}, 422),
        # Well-formed periods a rule refuses (not begun, too long): 409 not_allowed.
        ({"type": "usage", "format": "xlsx", "msisdns": msisdns, "period": "2999-01"}, 409),
        (
            {
                "type": "usage",
                "format": "xlsx",
                "msisdns": msisdns,
                "period": {"from": "2024-01-01", "to": "2025-06-30"},
            },
            409,
        ),
        ({"type": "usage", "format": "xlsx", "msisdns": ["79990001122"], "period": month}, 404),
        ({"type": "usage", "format": "xlsx", "node_id": "nod_nope", "period": month}, 404),
    ]
    for body, status in cases:
        response = await api.post(
            "/api/v1/reports", headers={**admin, "idempotency-key": uuid.uuid4().hex}, json=body
        )
        assert response.status_code == status, (body, response.text)
    listed = await api.get("/api/v1/operations", headers=admin, params={"type": "report"})
    assert listed.json()["items"] == []


# ---------------------------------------------------------------- financial documents

ALL_TYPES = ["invoice", "act", "invoice_factura", "reconciliation", "bill_detail"]
CHARGE_KINDS = {"usage", "subscription_fee", "operation_fee"}


def rubles(kopecks: int) -> str:
    """As a document prints an amount (its no-break spaces read as spaces)."""
    whole, rest = divmod(abs(kopecks), 100)
    return ("-" if kopecks < 0 else "") + f"{whole:,}".replace(",", " ") + f",{rest:02d}"


def plain(text: str) -> str:
    return text.replace("\u00a0", " ")


def month_start() -> datetime:
    return datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def charges_in_ledger(api, headers, account_id: str) -> tuple[int, int]:
    """The account's charges and payments this month, from its statement."""
    response = await api.get(
        f"/api/v1/accounts/{account_id}/entries",
        headers=headers,
        params={"from": month_start().isoformat(), "page_size": 500},
    )
    assert response.status_code == 200, response.text
    entries = response.json()["items"]
    charged = -sum(e["amount"]["amount"] for e in entries if e["kind"] in CHARGE_KINDS)
    paid = sum(e["amount"]["amount"] for e in entries if e["kind"] == "payment")
    return charged, paid


async def billed_account(system, api, admin, company) -> tuple[str, list[str]]:
    """The company's account with two numbers, a payment, a month's fee and usage."""
    await open_account(system, company.id)
    msisdns = await billed_numbers(system, company.id, 2)
    card = (await api.get(f"/api/v1/numbers/{msisdns[0]}", headers=admin)).json()
    account_id = card["account_id"]
    await pay(system, company.id, account_id, 100_000)
    await billing_operator(
        system,
        "ChargeSubscriptionFees",
        billing_pb2.ChargeSubscriptionFeesRequest(
            period=month_start().strftime("%Y-%m"), company_id=company.id
        ),
    )
    records = [
        usage_record(msisdns[0], "calls", 1_234, month_start() + timedelta(minutes=1)),
        usage_record(msisdns[0], "data", 5_000, month_start() + timedelta(minutes=2)),
        usage_record(msisdns[1], "sms", 99, month_start() + timedelta(minutes=3)),
    ]
    assert (await feed_usage(system, records)).charged == 3
    return account_id, msisdns


async def test_each_financial_document_agrees_with_the_ledger_and_arrives_by_mail(
    system, api, admin, company, other_company
):
    account_id, msisdns = await billed_account(system, api, admin, company)
    email = f"buh-{uuid.uuid4().hex[:8]}@test.example"
    body = {
        "account_ids": [account_id],
        "types": ALL_TYPES,
        "period": month_start().strftime("%Y-%m"),
        "email": email,
    }
    op = await start(api, admin, body, "/api/v1/documents")
    assert op["type"] == "documents" and op["total"] == 5
    done = await finished(api, admin, op["id"])
    assert done["status"] == "succeeded", done
    assert len(done["files"]) == 5 and done["progress"] == 100
    charged, paid = await charges_in_ledger(api, admin, account_id)
    assert charged > 6_333  # the usage, and the month's fee

    listed = await api.get("/api/v1/documents", headers=admin, params={"account_id": account_id})
    assert listed.status_code == 200, listed.text
    documents = {d["type"]: d for d in listed.json()["items"]}
    assert set(documents) == set(ALL_TYPES)
    year = datetime.now(UTC).year
    prefixes = {"invoice": "СЧ", "act": "АКТ", "invoice_factura": "СФ", "reconciliation": "АС"}
    for doc_type, document in documents.items():
        assert document["total"]["amount"] == charged, doc_type  # to the kopeck
        if doc_type in prefixes:
            assert document["number"] == f"{prefixes[doc_type]}-{year}-000001"
        response = await api.get(document["file"]["url"], headers=admin)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/pdf"
        text = plain(pdf_text(response.content))
        assert company.name in text and document["number"] in text, doc_type
        assert rubles(charged) in text, (doc_type, rubles(charged))
    vat = documents["invoice_factura"]["vat"]["amount"]
    factura = plain(
        pdf_text(
            (await api.get(documents["invoice_factura"]["file"]["url"], headers=admin)).content
        )
    )
    assert "Счёт-фактура" in factura and rubles(vat) in factura and "643" in factura
    assert rubles(charged - vat) in factura  # the cost without the tax
    reconciliation = plain(
        pdf_text((await api.get(documents["reconciliation"]["file"]["url"], headers=admin)).content)
    )
    assert rubles(paid) in reconciliation and "Сальдо конечное" in reconciliation
    detail = pdf_text(
        (await api.get(documents["bill_detail"]["file"]["url"], headers=admin)).content
    )
    assert all(m in detail for m in msisdns) and "62,34" in detail  # 12.34 + 50.00 on the first

    found = (await api.get(done["results_url"], headers=admin)).json()["items"]
    assert [r["target"] for r in found] == [
        *(f"{account_id}:{t}" for t in ALL_TYPES),
        f"email:{email}",
    ]
    assert {r["status"] for r in found} == {"succeeded"}

    async def mailed() -> list[dict]:
        return (await api.get("/dev/messages", params={"to": email})).json()["items"]

    await eventually(mailed, what="the documents are mailed")
    (message,) = await mailed()
    assert message["subject"] == "Финансовые документы"
    assert sorted(a["name"] for a in message["attachments"]) == sorted(
        f["name"] for f in done["files"]
    )
    assert all(
        a["content_type"] == "application/pdf" and a["size"] > 0 for a in message["attachments"]
    )

    stranger = bearer(await register(api, other_company))
    for document in documents.values():
        hidden = await api.get(document["file"]["url"], headers=stranger)
        assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
    assert (await api.get("/api/v1/documents", headers=stranger)).json()["items"] == []


async def test_numbers_follow_on_without_gaps_and_mail_goes_to_the_bill_delivery_address(
    system, api, admin, company
):
    await open_account(system, company.id)
    first, second = (
        await open_account(system, company.id),
        await open_account(system, company.id),
    )
    address = f"bills-{uuid.uuid4().hex[:8]}@test.example"
    delivery = await api.put(
        f"/api/v1/accounts/{first}/bill-delivery",
        headers=admin,
        json={"method": "email", "address": address},
    )
    assert delivery.status_code == 200, delivery.text
    month = month_start().strftime("%Y-%m")
    op = await start(
        api,
        admin,
        {"account_ids": [first, second], "types": ["invoice", "act"], "period": month},
        "/api/v1/documents",
    )
    done = await finished(api, admin, op["id"])
    assert done["status"] == "succeeded" and done["total"] == 4
    again = await finished(
        api,
        admin,
        (
            await start(
                api,
                admin,
                {"account_ids": [second], "types": ["invoice"], "period": month},
                "/api/v1/documents",
            )
        )["id"],
    )
    assert again["status"] == "succeeded"
    items = (await api.get("/api/v1/documents", headers=admin, params={"type": "invoice"})).json()[
        "items"
    ]
    year = datetime.now(UTC).year
    assert sorted(d["number"] for d in items) == [f"СЧ-{year}-00000{i}" for i in (1, 2, 3)]
    assert all(d["total"]["amount"] == 0 for d in items)  # new accounts: nothing charged

    messages = (await api.get("/dev/messages", params={"to": address})).json()["items"]
    assert len(messages) == 1  # the first account's two; the second has no e-mail delivery
    assert len(messages[0]["attachments"]) == 2


async def test_bad_document_requests_are_refused_and_create_nothing(
    system, api, admin, company, other_company
):
    account = await open_account(system, company.id)
    foreign = await open_account(system, other_company.id)
    month = month_start().strftime("%Y-%m")
    cases = [
        ({"account_ids": [account], "types": ["receipt"], "period": month}, 422),
        ({"account_ids": [account], "types": ["invoice"], "period": "2020-13"}, 422),
        # Well-formed periods a rule refuses (not begun, too long): 409 not_allowed.
        ({"account_ids": [account], "types": ["invoice"], "period": "2999-01"}, 409),
        (
            {
                "account_ids": [account],
                "types": ["invoice"],
                "period": {"from": "2024-01-01", "to": "2025-06-30"},
            },
            409,
        ),
        ({"account_ids": [account], "types": ["invoice"], "period": month, "email": "x"}, 422),
        ({"account_ids": [foreign], "types": ["invoice"], "period": month}, 404),
        ({"account_ids": ["acc_nope"], "types": ["invoice"], "period": month}, 404),
    ]
    for body, status in cases:
        response = await api.post(
            "/api/v1/documents", headers={**admin, "idempotency-key": uuid.uuid4().hex}, json=body
        )
        assert response.status_code == status, (body, response.text)
        codes = {422: "validation_failed", 404: "not_found", 409: "not_allowed"}
        assert response.json()["code"] == codes[status]
    listed = await api.get("/api/v1/operations", headers=admin, params={"type": "documents"})
    assert listed.json()["items"] == []
    types = await api.get("/api/v1/document-types", headers=admin)
    assert [t["id"] for t in types.json()["items"]] == ALL_TYPES
    viewer = await login_as(api, (await create_user(api, admin, roles=["viewer"]))["login"])
    denied = await api.post(
        "/api/v1/documents",
        headers={**viewer, "idempotency-key": uuid.uuid4().hex},
        json={"account_ids": [account], "types": ["invoice"], "period": month},
    )
    assert denied.status_code == 403


async def test_reports_of_payments_services_and_spending_by_node(system, api, admin, company):
    account_id, msisdns = await billed_account(system, api, admin, company)
    month = month_start().strftime("%Y-%m")
    account = (await api.get(f"/api/v1/accounts/{account_id}", headers=admin)).json()

    _, payments = await report(
        api, admin, {"type": "payments", "format": "csv", "msisdns": msisdns, "period": month}
    )
    lines = list(csv.reader(io.StringIO(payments.decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == ["Дата", "Лицевой счёт", "Сумма, ₽", "Назначение"]
    assert [row[1:3] for row in lines[1:]] == [[account["number"], "1000.00"]]

    _, services = await report(
        api, admin, {"type": "services", "format": "pdf", "msisdns": msisdns, "period": month}
    )
    text = pdf_text(services)
    assert "Подключённые услуги и опции" in text and company.name in text
    tariff = (await api.get(f"/api/v1/numbers/{msisdns[0]}", headers=admin)).json()["tariff"]
    assert all(m in text for m in msisdns) and tariff["name"] in text

    _, spending = await report(
        api,
        admin,
        {"type": "spending_by_node", "format": "xlsx", "msisdns": msisdns, "period": month},
    )
    sheet = openpyxl.load_workbook(io.BytesIO(spending), read_only=True).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    # the root's subtree holds both numbers and all they were charged for usage
    top = max(rows, key=lambda row: row[3])
    assert round(top[3] * 100) == 1_234 + 5_000 + 99
    assert sum(row[1] for row in rows if round(row[2] * 100)) == 2
