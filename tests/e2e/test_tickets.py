"""Tickets end to end: the company through REST, the operator's desk over gRPC, billing's
settlement-change events through the broker, answers by e-mail to the dev sink."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import datetime

import grpc
import httpx
import pytest

from services.kit.broker import EventPublisher, connect_broker
from services.kit.events import encode_event, new_event
from tests.e2e.conftest import NewCompany, operator_metadata
from tests.e2e.test_catalog_hierarchy import add_node, assignable, root_node
from tests.e2e.test_catalog_numbers import give_numbers
from tests.e2e.test_identity_flows import bearer, register
from tests.e2e.test_identity_users_roles import create_user, login_as
from tests.support.kit import eventually
from tests.support.system import RunningSystem
from vm.billing.events.v1 import events_pb2 as billing_events
from vm.tickets.v1 import tickets_pb2 as pb
from vm.tickets.v1 import tickets_pb2_grpc as pb_grpc

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(300_000)  # more than one GridFS chunk


@pytest.fixture
async def desk(system: RunningSystem) -> AsyncIterator[pb_grpc.TicketsOperatorServiceStub]:
    async with grpc.aio.insecure_channel(system.settings.tickets_addr) as channel:
        yield pb_grpc.TicketsOperatorServiceStub(channel)


async def as_operator(system: RunningSystem, call, request):
    return await call(request, metadata=operator_metadata(system), timeout=30)


async def open_ticket(api: httpx.AsyncClient, headers, **body) -> dict:
    body = {"category": "technical", "subject": "Нет связи", "text": "С утра нет связи", **body}
    response = await api.post("/api/v1/tickets", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def upload(api, headers, ticket_id: str, name: str, content: bytes, kind: str):
    return await api.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        headers=headers,
        files={"file": (name, content, kind)},
    )


async def messages_to(api: httpx.AsyncClient, to: str) -> list[dict]:
    return (await api.get("/dev/messages", params={"to": to})).json()["items"]


async def test_the_whole_lifecycle_through_rest_and_the_operators_desk(
    api, company: NewCompany, system, desk
):
    admin = bearer(await register(api, company))
    me = (await api.get("/api/v1/me", headers=admin)).json()
    (msisdn,) = await give_numbers(system, company.id, [""])

    spaced = f"+7 ({msisdn[1:4]}) {msisdn[4:7]}-{msisdn[7:9]}-{msisdn[9:]}"
    created = await open_ticket(api, admin, msisdns=[spaced], category="billing")
    assert created["status"] == "open" and created["msisdns"] == [msisdn]
    assert created["overdue"] is False and created["due_at"] > created["created_at"]
    assert created["author"]["id"] == me["user"]["id"]
    assert [e["kind"] for e in created["history"]] == ["created"]
    ticket_id = created["id"]

    # the operator sees it in the queue, takes it and asks the customer
    queue = await as_operator(
        system, desk.ListQueue, pb.ListQueueRequest(company_id=company.id, page_size=50)
    )
    assert ticket_id in [t.id for t in queue.tickets]
    assigned = await as_operator(
        system, desk.AssignTicket, pb.AssignTicketRequest(ticket_id=ticket_id, assignee="petrova")
    )
    assert assigned.ticket.assignee == "petrova"
    await as_operator(
        system,
        desk.ChangeTicketStatus,
        pb.ChangeTicketStatusRequest(ticket_id=ticket_id, status="in_progress", agent="petrova"),
    )
    question = f"Уточните период начислений {secrets.token_hex(3)}"
    await as_operator(
        system,
        desk.ReplyToTicket,
        pb.ReplyToTicketRequest(
            ticket_id=ticket_id, text=question, agent="petrova", status="waiting_for_customer"
        ),
    )

    # the answer reached the author by e-mail
    async def mailed() -> bool:
        return any(question in m["text"] for m in await messages_to(api, me["user"]["email"]))

    await eventually(mailed, timeout=10, what="the answer's e-mail")

    # the customer answers with a comment and a file: back to the operator
    commented = await api.post(
        f"/api/v1/tickets/{ticket_id}/comments", headers=admin, json={"text": "За февраль"}
    )
    assert commented.status_code == 201, commented.text
    assert commented.json()["status"] == "in_progress"
    attached = await upload(api, admin, ticket_id, "счёт.pdf", PDF, "application/pdf")
    assert attached.status_code == 201, attached.text
    attachment = attached.json()
    assert attachment["content_type"] == "application/pdf" and attachment["size"] == len(PDF)

    downloaded = await api.get(attachment["url"], headers=admin)
    assert downloaded.status_code == 200 and downloaded.content == PDF
    assert downloaded.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''" in downloaded.headers["content-disposition"]

    # the operator downloads it too, and resolves the ticket
    chunks = desk.DownloadTicketAttachment(
        pb.DownloadTicketAttachmentRequest(ticket_id=ticket_id, attachment_id=attachment["id"]),
        metadata=operator_metadata(system),
    )
    parts = [message async for message in chunks]
    assert parts[0].attachment.filename == "счёт.pdf"
    assert b"".join(p.chunk for p in parts) == PDF
    await as_operator(
        system,
        desk.ReplyToTicket,
        pb.ReplyToTicketRequest(
            ticket_id=ticket_id, text="Начисление исправлено", status="resolved"
        ),
    )

    # the customer closes it, then reopens it
    closed = await api.post(f"/api/v1/tickets/{ticket_id}/close", headers=admin, json={})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed.json()["reopen_until"] > closed.json()["closed_at"]
    refused = await api.post(
        f"/api/v1/tickets/{ticket_id}/comments", headers=admin, json={"text": "ещё"}
    )
    assert refused.status_code == 409 and refused.json()["reason"] == "ticket_closed"
    reopened = await api.post(
        f"/api/v1/tickets/{ticket_id}/reopen", headers=admin, json={"text": "Снова списали"}
    )
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"

    history = (await api.get(f"/api/v1/tickets/{ticket_id}", headers=admin)).json()["history"]
    assert [(e["kind"], e.get("status")) for e in history] == [
        ("created", "open"),
        ("status_changed", "in_progress"),
        ("comment", None),
        ("status_changed", "waiting_for_customer"),
        ("comment", None),
        ("status_changed", "in_progress"),
        ("attachment", None),
        ("comment", None),
        ("status_changed", "resolved"),
        ("status_changed", "closed"),
        ("status_changed", "open"),
    ]
    # As moments: a moment on a whole second is written without its fraction ("…:59Z"), so
    # the texts alone do not sort in time.
    moments = [datetime.fromisoformat(e["at"]) for e in history]
    assert moments == sorted(moments)
    assert history[1]["actor"] == {"kind": "operator", "id": "petrova", "name": "petrova"}
    assert history[2]["text"] == question

    # filters
    async def ids(**params) -> list[str]:
        page = await api.get("/api/v1/tickets", headers=admin, params=params)
        assert page.status_code == 200, page.text
        return [t["id"] for t in page.json()["items"]]

    assert ticket_id in await ids(status="open", category="billing", msisdn=msisdn)
    assert ticket_id in await ids(q="снова СПИСАЛИ")
    assert ticket_id not in await ids(category="technical")
    assert ticket_id not in await ids(overdue="true")
    assert ticket_id in await ids(overdue="false", order="due")


async def test_bad_input_is_refused_precisely_and_nothing_is_written(api, company, system, desk):
    admin = bearer(await register(api, company))
    (msisdn,) = await give_numbers(system, company.id, [""])
    cases = [
        ({"category": "complaint"}, 422, "category"),
        ({"subject": "  "}, 422, "subject"),
        ({"text": ""}, 422, "text"),
        ({"msisdns": ["12345"]}, 422, "msisdns[0]"),
    ]
    for change, status, field in cases:
        body = {"category": "other", "subject": "s", "text": "t", "msisdns": [msisdn], **change}
        response = await api.post("/api/v1/tickets", headers=admin, json=body)
        assert response.status_code == status, response.text
        assert field in {e["field"] for e in response.json()["errors"]}
    stranger = await api.post(
        "/api/v1/tickets",
        headers=admin,
        json={"category": "other", "subject": "s", "text": "t", "msisdns": ["79990000001"]},
    )
    assert stranger.status_code == 404, stranger.text
    assert (await api.get("/api/v1/tickets", headers=admin)).json()["items"] == []

    ticket = await open_ticket(api, admin, msisdns=[msisdn])
    url = f"/api/v1/tickets/{ticket['id']}"
    forbidden = [
        ("program.pdf", b"MZ\x90\x00" + b"\x00" * 200, "application/pdf"),
        ("notes.txt", b"just text", "text/plain"),
        ("a.png", PDF, "image/png"),
    ]
    for name, content, kind in forbidden:
        response = await upload(api, admin, ticket["id"], name, content, kind)
        assert response.status_code == 422, (name, response.text)
        assert response.json()["errors"][0]["field"] == "file"
    too_big = await upload(
        api, admin, ticket["id"], "big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024), "application/pdf"
    )
    assert too_big.status_code == 422, too_big.text
    assert (await api.get(url, headers=admin)).json()["attachments"] == []

    # transitions that are not allowed: an open ticket reopened, closed by the operator
    reopened = await api.post(f"{url}/reopen", headers=admin, json={})
    assert reopened.status_code == 409 and reopened.json()["reason"] == "ticket_status_unchanged"
    refused = await as_operator_error(
        system,
        desk.ChangeTicketStatus,
        pb.ChangeTicketStatusRequest(ticket_id=ticket["id"], status="closed"),
    )
    assert refused == grpc.StatusCode.FAILED_PRECONDITION
    history = (await api.get(url, headers=admin)).json()["history"]
    assert [e["kind"] for e in history] == ["created"]

    # a large image goes in several chunks and comes back whole
    image = await upload(api, admin, ticket["id"], "фото.png", PNG, "application/octet-stream")
    assert image.status_code == 201, image.text
    assert (await api.get(image.json()["url"], headers=admin)).content == PNG


async def as_operator_error(system, call, request) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await as_operator(system, call, request)
    return error.value.code()


async def test_companies_never_see_each_others_tickets_or_files(
    api, company, other_company, system
):
    admin = bearer(await register(api, company))
    other = bearer(await register(api, other_company))
    ticket = await open_ticket(api, admin)
    attachment = (await upload(api, admin, ticket["id"], "a.pdf", PDF, "application/pdf")).json()

    assert (await api.get("/api/v1/tickets", headers=other)).json()["items"] == []
    for method, path, body in (
        ("GET", f"/api/v1/tickets/{ticket['id']}", None),
        ("GET", attachment["url"], None),
        ("POST", f"/api/v1/tickets/{ticket['id']}/comments", {"text": "чужой"}),
        ("POST", f"/api/v1/tickets/{ticket['id']}/close", {}),
    ):
        response = await api.request(method, path, headers=other, json=body)
        assert response.status_code == 404, (path, response.text)
        assert ticket["id"] not in response.text
    other_ticket = await open_ticket(api, other)
    foreign_file = await api.get(
        f"/api/v1/tickets/{other_ticket['id']}/attachments/{attachment['id']}", headers=other
    )
    assert foreign_file.status_code == 404


async def test_a_scoped_manager_sees_only_tickets_about_its_subtree(api, company, system):
    admin = bearer(await register(api, company))
    root = await root_node(api, admin)
    north = (await add_node(api, admin, root, "Север", "region"))["id"]
    south = (await add_node(api, admin, root, "Юг", "region"))["id"]
    in_north, in_south = await give_numbers(system, company.id, [north, south])
    manager = await create_user(api, admin)
    await assignable(
        api, admin, manager["id"], [{"role_id": "department_manager", "node_id": north}]
    )
    scoped = await login_as(api, manager["login"])

    mine = await open_ticket(api, scoped, msisdns=[in_north])
    theirs = await open_ticket(api, admin, msisdns=[in_south])
    both = await open_ticket(api, admin, msisdns=[in_north, in_south])
    general = await open_ticket(api, admin)

    listed = (await api.get("/api/v1/tickets", headers=scoped)).json()["items"]
    assert [t["id"] for t in listed] == [mine["id"]]
    for hidden in (theirs, both, general):
        response = await api.get(f"/api/v1/tickets/{hidden['id']}", headers=scoped)
        assert response.status_code == 404
    elsewhere = await api.post(
        "/api/v1/tickets",
        headers=scoped,
        json={"category": "other", "subject": "s", "text": "t", "msisdns": [in_south]},
    )
    assert elsewhere.status_code == 404
    no_number = await api.post(
        "/api/v1/tickets", headers=scoped, json={"category": "other", "subject": "s", "text": "t"}
    )
    assert no_number.status_code == 403
    assert len((await api.get("/api/v1/tickets", headers=admin)).json()["items"]) == 4


async def publish(system: RunningSystem, event_type: str, payload, company_id: str) -> None:
    """An event as billing's outbox relay would publish it (billing's RPCs come later)."""
    event = new_event(event_type, payload, source="/services/billing", company_id=company_id)
    connection = await connect_broker(system.settings.amqp_url, name="test-billing")
    try:
        publisher = EventPublisher(connection, system.settings.events_exchange)
        await publisher.start()
        await publisher.publish(event.id, event.type, encode_event(event))
        await publisher.publish(event.id, event.type, encode_event(event))  # a redelivery
    finally:
        await connection.close()


async def test_a_settlement_change_request_opens_a_contract_ticket_that_its_decision_resolves(
    api, company, system
):
    admin = bearer(await register(api, company))
    me = (await api.get("/api/v1/me", headers=admin)).json()
    request_id = f"scr_{secrets.token_hex(6)}"
    requested = billing_events.SettlementChangeRequested(
        company_id=company.id,
        request_id=request_id,
        account_id="acc_1",
        account_number="ЛС-000123",
        method="credit",
        credit_limit=5_000_000,
        requested_by=me["user"]["id"],
        requested_by_name="Главный администратор",
    )
    await publish(system, "vm.billing.settlement_change.requested.v1", requested, company.id)

    async def contract_tickets() -> list[dict]:
        page = await api.get("/api/v1/tickets", headers=admin, params={"category": "contract"})
        return page.json()["items"]

    await eventually(contract_tickets, timeout=15, what="the contract ticket")
    (ticket,) = await contract_tickets()
    assert ticket["subject"] == "Заявление на смену способа расчётов: кредитный"
    assert ticket["author"]["id"] == me["user"]["id"] and ticket["status"] == "open"

    decided = billing_events.SettlementChangeDecided(
        company_id=company.id,
        request_id=request_id,
        account_id="acc_1",
        approved=False,
        comment="Недостаточно истории платежей",
    )
    await publish(system, "vm.billing.settlement_change.decided.v1", decided, company.id)

    async def resolved() -> bool:
        read = await api.get(f"/api/v1/tickets/{ticket['id']}", headers=admin)
        return read.json()["status"] == "resolved"

    await eventually(resolved, timeout=15, what="the ticket resolved")
    history = (await api.get(f"/api/v1/tickets/{ticket['id']}", headers=admin)).json()["history"]
    assert history[-2]["kind"] == "comment"
    assert history[-2]["text"] == "Заявление отклонено. Недостаточно истории платежей"
    assert history[-1]["status"] == "resolved"
    assert len(await contract_tickets()) == 1  # one ticket per request, repeats or not
