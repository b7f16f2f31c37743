"""The authorization matrix: every REST route × every kind of caller.

Routes are read from the gateway's OpenAPI, so a new route joins the matrix by itself;
each route says who may call it (`x-access`: public, any_user or a permission), and each
needs a sample request here — a route without one fails `test_every_route_has_a_sample`.

Cells: no token, a garbage token, another company's global administrator, a user of the
company without the permission, a user scoped to another subtree, a user scoped to the
subtree where the object lives, and the company's global administrator. The scoped users
hold SCOPED_ROLE's permissions at one region each; every object the matrix acts on lives
in region A. Denied cells must be problems that show nothing of
the company's data.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import httpx
import pyotp
import pytest

from gateway.app import create_app
from services.identity.domain.access import ALL_PERMISSIONS
from services.kit.authz import COMPANY_LEVEL_PERMISSIONS
from services.kit.settings import Settings
from tests.e2e.conftest import NewCompany, new_company, operator_metadata
from tests.e2e.test_billing import billing_has, pay
from tests.e2e.test_catalog_catalogue import shared_catalogue
from tests.e2e.test_catalog_hierarchy import add_node, assignable, root_node
from tests.e2e.test_catalog_numbers import fresh_iccid, fresh_msisdn, give_numbers, number_admin
from tests.e2e.test_identity_flows import PASSWORD as ADMIN_PASSWORD
from tests.e2e.test_identity_flows import bearer, register
from tests.e2e.test_identity_users_roles import PASSWORD, create_user
from tests.support.kit import eventually
from tests.support.system import RunningSystem
from vm.catalog.v1 import numbers_pb2
from vm.tickets.v1 import tickets_pb2, tickets_pb2_grpc

STAFF_PASSWORD = PASSWORD

pytestmark = pytest.mark.e2e

CALLERS = (
    "scoped_here",
    "scoped_elsewhere",
    "no_token",
    "garbage_token",
    "other_company_admin",
    "without_permission",
    "global_admin",
)
PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "errors", "reason"}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    access: str
    params: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


SPEC = create_app(Settings(env="dev")).openapi()


def _routes() -> list[Route]:
    found = []
    for path, operations in SPEC["paths"].items():
        for method, operation in operations.items():
            params = tuple(p["name"] for p in operation.get("parameters", []) if p["in"] == "path")
            found.append(Route(method.upper(), path, operation.get("x-access", ""), params))
    return found


ROUTES = _routes()


@dataclass
class World:
    """Company A (whose objects are asked for) and company B (the other one)."""

    api: httpx.AsyncClient
    company: NewCompany
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    refresh: dict[str, str] = field(default_factory=dict)
    own_ids: set[str] = field(default_factory=set)
    nodes: dict[str, str] = field(default_factory=dict)
    # The operator's catalogue (a tariff and a service), shared by every company.
    catalogue: dict[str, str] = field(default_factory=dict)
    # The running system: the operator gives company A its numbers over gRPC.
    system: RunningSystem | None = None
    # The attachment of the ticket made last by `_ticket_with_attachment`.
    last_attachment: str = ""
    # The delivery of the endpoint made last by `_endpoint_with_a_delivery`.
    last_delivery: str = ""

    async def fresh_user(self, caller: str) -> str:
        user = await create_user(self.api, self.headers["global_admin"], roles=["viewer"])
        self.own_ids.add(user["id"])
        return user["id"]

    async def fresh_node(self, caller: str) -> str:
        """A node in region A, where `scoped_here` holds its role."""
        node = await add_node(
            self.api, self.headers["global_admin"], self.nodes["A"], f"Отдел {secrets.token_hex(3)}"
        )
        self.own_ids.add(node["id"])
        return node["id"]

    async def fresh_number(self, caller: str) -> str:
        """A number of company A in region A, given out by the operator."""
        assert self.system is not None
        (msisdn,) = await give_numbers(
            self.system, self.company.id, [self.nodes["A"]], self.catalogue["tariff_id"]
        )
        self.own_ids.add(msisdn)
        return msisdn

    async def fresh_role(self, caller: str) -> str:
        role = (
            await self.api.post(
                "/api/v1/roles",
                headers=self.headers["global_admin"],
                json={"name": f"Роль {secrets.token_hex(4)}", "permissions": ["numbers.view"]},
            )
        ).json()
        self.own_ids.add(role["id"])
        return role["id"]


Factory = Callable[[World, str], Awaitable[Any]]


def constant(value: Any) -> Factory:
    async def make(world: World, caller: str) -> Any:
        return value

    return make


async def _own_refresh_token(world: World, caller: str) -> dict[str, str]:
    return {"refresh_token": world.refresh.get(caller, "ses_x.not-a-token")}


async def _change_own_password(world: World, caller: str) -> dict[str, str]:
    staff = caller in ("without_permission", "scoped_here", "scoped_elsewhere")
    current = STAFF_PASSWORD if staff else ADMIN_PASSWORD
    return {"current_password": current, "new_password": f"New-{secrets.token_hex(6)}"}


async def _new_node_in_region_a(world: World, caller: str) -> dict[str, str]:
    return {
        "parent_id": world.nodes["A"],
        "name": f"Группа {secrets.token_hex(3)}",
        "kind": "group",
    }


async def _new_user_body(world: World, caller: str) -> dict[str, Any]:
    return {
        "login": f"m.{secrets.token_hex(4)}",
        "full_name": "Матрица",
        "email": "m@x.example",
        "password": PASSWORD,
        "assignments": [{"role_id": "viewer"}],
    }


async def _new_role_body(world: World, caller: str) -> dict[str, Any]:
    return {"name": f"Роль {secrets.token_hex(4)}", "permissions": ["numbers.view"]}


async def _unknown_login(world: World, caller: str) -> dict[str, Any]:
    # A login of its own each time: a login's repeated failures are throttled (429).
    return {"login": f"nobody.{secrets.token_hex(4)}", "password": "whatever-123"}


async def _enrol(world: World, caller: str) -> pyotp.TOTP | None:
    """The caller's TOTP app, enrolment started; None for a caller who cannot enrol."""
    started = await world.api.post("/api/v1/me/2fa", headers=world.headers[caller])
    return pyotp.TOTP(started.json()["secret"]) if started.status_code == 200 else None


async def _code_of_a_new_enrolment(world: World, caller: str) -> dict[str, Any]:
    app = await _enrol(world, caller)
    return {"code": app.now() if app else "000000"}


async def _code_with_two_factor_on(world: World, caller: str) -> dict[str, Any]:
    """Two-factor login on for the caller, and a code not used yet to turn it off."""
    app = await _enrol(world, caller)
    if app is None:
        return {"code": "000000"}
    confirmed = await world.api.post(
        "/api/v1/me/2fa/confirm", headers=world.headers[caller], json={"code": app.now()}
    )
    assert confirmed.status_code == 204, confirmed.text
    return {"code": app.at(time.time() + 30)}  # the next step's: each code is used once


async def _fresh_api_key(world: World, caller: str) -> str:
    created = await world.api.post(
        "/api/v1/api-keys",
        headers=world.headers["global_admin"],
        json={"name": "Матрица", "role_id": "viewer"},
    )
    world.own_ids.add(created.json()["api_key"]["id"])
    return created.json()["api_key"]["id"]


def catalogue_item(name: str) -> Factory:
    """An item of the operator's catalogue: not company A's, the same for every caller."""

    async def item(world: World, caller: str) -> str:
        return world.catalogue[name]

    return item


async def _move_a_fresh_number(world: World, caller: str) -> dict[str, Any]:
    """A fresh number of region A to a fresh node of region A."""
    return {
        "msisdns": [await world.fresh_number(caller)],
        "node_id": await world.fresh_node(caller),
    }


def number_with(method: str, tail: str, body: Factory) -> Factory:
    """A fresh number of region A on which the administrator made a change first (what
    a route then undoes: a connected service, a block, a forwarding)."""

    async def make(world: World, caller: str) -> str:
        msisdn = await world.fresh_number(caller)
        done = await world.api.request(
            method,
            f"/api/v1/numbers/{msisdn}{tail}",
            headers=world.headers["global_admin"],
            json=await body(world, caller),
        )
        assert done.status_code == 200, done.text
        return msisdn

    return make


async def _shared_service_body(world: World, caller: str) -> dict[str, Any]:
    return {"service_id": world.catalogue["service_id"]}


async def _shared_tariff_body(world: World, caller: str) -> dict[str, Any]:
    return {"tariff_id": world.catalogue["tariff_id"], "settings": {"minutes": 100}}


async def _fresh_iccid_body(world: World, caller: str) -> dict[str, Any]:
    return {"iccid": fresh_iccid()}


async def _free_number_body(world: World, caller: str) -> dict[str, Any]:
    """A number the operator put in the free pool just now, for a number replacement."""
    assert world.system is not None
    free = fresh_msisdn()
    await number_admin(
        world.system,
        "AddFreeNumbers",
        numbers_pb2.AddFreeNumbersRequest(
            numbers=[numbers_pb2.FreeNumber(msisdn=free, iccid=fresh_iccid())]
        ),
    )
    return {"new_msisdn": free}


async def _ticket_body(world: World, caller: str) -> dict[str, Any]:
    """A ticket about a fresh number of region A."""
    return {
        "category": "technical",
        "subject": "Нет связи",
        "text": "Матрица",
        "msisdns": [await world.fresh_number(caller)],
    }


async def _fresh_ticket(world: World, caller: str) -> str:
    """An open ticket of company A about a fresh number of region A."""
    created = await world.api.post(
        "/api/v1/tickets",
        headers=world.headers["global_admin"],
        json=await _ticket_body(world, caller),
    )
    assert created.status_code == 201, created.text
    world.own_ids.add(created.json()["id"])
    return created.json()["id"]


async def _resolved_ticket(world: World, caller: str) -> str:
    """A fresh ticket that the operator's desk has resolved (a customer may reopen it)."""
    assert world.system is not None
    ticket_id = await _fresh_ticket(world, caller)
    async with grpc.aio.insecure_channel(world.system.settings.tickets_addr) as channel:
        await tickets_pb2_grpc.TicketsOperatorServiceStub(channel).ChangeTicketStatus(
            tickets_pb2.ChangeTicketStatusRequest(ticket_id=ticket_id, status="resolved"),
            metadata=operator_metadata(world.system),
            timeout=30,
        )
    return ticket_id


async def _ticket_with_attachment(world: World, caller: str) -> str:
    """A fresh ticket with a PDF attached; `_its_attachment` names the file."""
    ticket_id = await _fresh_ticket(world, caller)
    attached = await world.api.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        headers=world.headers["global_admin"],
        files=await _pdf_upload(world, caller),
    )
    assert attached.status_code == 201, attached.text
    world.own_ids.add(attached.json()["id"])
    world.last_attachment = attached.json()["id"]
    return ticket_id


async def _its_attachment(world: World, caller: str) -> str:
    return world.last_attachment or "att_unknown"


# A webhook endpoint nobody listens at (the system runs with VM_ENV=dev: loopback allowed).
DEAF_ENDPOINT = {"url": "http://127.0.0.1:9/hook", "event_types": ["number.blocked"]}


async def _fresh_endpoint(world: World, caller: str) -> str:
    created = await world.api.post(
        "/api/v1/webhooks", headers=world.headers["global_admin"], json=DEAF_ENDPOINT
    )
    assert created.status_code == 201, created.text
    world.own_ids.add(created.json()["endpoint"]["id"])
    return created.json()["endpoint"]["id"]


async def _endpoint_with_a_delivery(world: World, caller: str) -> str:
    """A fresh endpoint with a test delivery whose first attempt failed (it waits for its
    next one, 5 s later: it may be sent again by hand); `_its_delivery` names it."""
    endpoint_id = await _fresh_endpoint(world, caller)
    admin = world.headers["global_admin"]
    sent = await world.api.post(f"/api/v1/webhooks/{endpoint_id}/test", headers=admin)
    assert sent.status_code == 202, sent.text
    world.last_delivery = sent.json()["id"]

    async def attempted() -> bool:
        listed = await world.api.get(f"/api/v1/webhooks/{endpoint_id}/deliveries", headers=admin)
        return any(d["attempts"] for d in listed.json()["items"])

    await eventually(attempted, timeout=60, interval=0.1, what="the first attempt")
    return endpoint_id


async def _its_delivery(world: World, caller: str) -> str:
    return world.last_delivery or "dlv_unknown"


async def _fresh_rule(world: World, caller: str) -> str:
    created = await world.api.post(
        "/api/v1/automation-rules", headers=world.headers["global_admin"], json=RULE_BODY
    )
    assert created.status_code == 201, created.text
    world.own_ids.add(created.json()["id"])
    return created.json()["id"]


RULE_BODY = {
    "name": "Матрица",
    "trigger": "limit.reached",
    "actions": [{"type": "block_numbers", "block_type": "voluntary"}],
}


async def _pdf_upload(world: World, caller: str) -> dict[str, Any]:
    return {"file": ("акт.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")}


async def _scheduled_operation(world: World, caller: str) -> str:
    """An operation the administrator scheduled for later on a fresh number of region A
    (so that it can still be cancelled)."""
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    started = await world.api.post(
        "/api/v1/operations",
        headers={**world.headers["global_admin"], "idempotency-key": secrets.token_hex(8)},
        json={
            "type": "block",
            "msisdns": [await world.fresh_number(caller)],
            "params": {"type": "voluntary"},
            "scheduled_at": later,
        },
    )
    assert started.status_code == 202, started.text
    world.own_ids.add(started.json()["id"])
    return started.json()["id"]


async def _block_a_fresh_number(world: World, caller: str) -> dict[str, Any]:
    return {
        "type": "block",
        "msisdns": [await world.fresh_number(caller)],
        "params": {"type": "voluntary"},
    }


async def _sms_to_a_fresh_number(world: World, caller: str) -> dict[str, Any]:
    return {"msisdns": [await world.fresh_number(caller)], "text": "Матрица"}


async def _report_body(world: World, caller: str) -> dict[str, Any]:
    """A small report over a fresh number of region A."""
    return {
        "type": "inventory",
        "format": "csv",
        "msisdns": [await world.fresh_number(caller)],
        "period": datetime.now(UTC).strftime("%Y-%m"),
    }


async def _finished_report(world: World, caller: str) -> str:
    """A report the administrator asked for, once its file is made."""
    started = await world.api.post(
        "/api/v1/reports",
        headers={**world.headers["global_admin"], "idempotency-key": secrets.token_hex(8)},
        json=await _report_body(world, caller),
    )
    assert started.status_code == 202, started.text
    report_id = started.json()["id"]
    world.own_ids.add(report_id)

    async def made() -> bool:
        op = await world.api.get(
            f"/api/v1/operations/{report_id}", headers=world.headers["global_admin"]
        )
        return op.json()["status"] == "succeeded"

    await eventually(made, timeout=60, what="the report is made")
    return report_id


async def _documents_body(world: World, caller: str) -> dict[str, Any]:
    """An invoice of a fresh account of company A for this month."""
    return {
        "account_ids": [await _fresh_account(world, caller)],
        "types": ["invoice"],
        "period": datetime.now(UTC).strftime("%Y-%m"),
    }


async def _finished_document(world: World, caller: str) -> str:
    """An invoice the administrator asked for, once it is made."""
    started = await world.api.post(
        "/api/v1/documents",
        headers={**world.headers["global_admin"], "idempotency-key": secrets.token_hex(8)},
        json=await _documents_body(world, caller),
    )
    assert started.status_code == 202, started.text
    world.own_ids.add(started.json()["id"])
    files: list[dict[str, Any]] = []

    async def made() -> bool:
        op = await world.api.get(
            f"/api/v1/operations/{started.json()['id']}", headers=world.headers["global_admin"]
        )
        files[:] = op.json()["files"]
        return op.json()["status"] == "succeeded"

    await eventually(made, timeout=60, what="the document is made")
    document_id = files[0]["url"].split("/")[-2]
    world.own_ids.add(document_id)
    return document_id


async def _fresh_account(world: World, caller: str) -> str:
    """A new, empty advance account of company A."""
    opened = await world.api.post(
        "/api/v1/accounts", headers=world.headers["global_admin"], json={"name": "Матрица"}
    )
    assert opened.status_code == 201, opened.text
    world.own_ids.add(opened.json()["id"])
    return opened.json()["id"]


async def _billed_number(world: World, caller: str) -> str:
    """A fresh number of region A, once billing has heard of it."""
    assert world.system is not None
    system = world.system
    msisdn = await world.fresh_number(caller)
    await eventually(
        lambda: billing_has(system, "billing_numbers", {"_id": msisdn}),
        what="billing has the number",
    )
    return msisdn


async def _billed_number_with_a_limit(world: World, caller: str) -> str:
    msisdn = await _billed_number(world, caller)
    done = await world.api.put(
        f"/api/v1/numbers/{msisdn}/limits/total",
        headers=world.headers["global_admin"],
        json={"amount": {"amount": 100_000, "currency": "RUB"}, "action": "notify"},
    )
    assert done.status_code == 200, done.text
    return msisdn


async def _transfer_body(world: World, caller: str) -> dict[str, Any]:
    """100 kopecks between two fresh accounts of company A, the donor paid 10,000."""
    assert world.system is not None
    donor = await _fresh_account(world, caller)
    await pay(world.system, world.company.id, donor, 10_000)
    return {
        "from_account_id": donor,
        "to_account_id": await _fresh_account(world, caller),
        "amount": {"amount": 100, "currency": "RUB"},
    }


async def _another_account_body(world: World, caller: str) -> dict[str, Any]:
    return {"account_id": await _fresh_account(world, caller)}


# Path parameters: a fresh object of company A for each call.
PATH_VALUES: dict[str, Factory] = {
    "user_id": World.fresh_user,
    "role_id": World.fresh_role,
    "registration_id": constant("reg_unknown"),
    "reset_id": constant("pwr_unknown"),
    "api_key_id": _fresh_api_key,
    "node_id": World.fresh_node,
    "tariff_id": catalogue_item("tariff_id"),
    "service_id": catalogue_item("service_id"),
    "msisdn": World.fresh_number,
    "type": constant("voluntary"),
    "condition": constant("busy"),
    "operation_id": _scheduled_operation,
    "ticket_id": _fresh_ticket,
    "attachment_id": _its_attachment,
    "account_id": _fresh_account,
    "kind": constant("total"),
    "form_id": constant("connection"),
    "report_id": _finished_report,
    "document_id": _finished_document,
    "endpoint_id": _fresh_endpoint,
    "delivery_id": _its_delivery,
    "rule_id": _fresh_rule,
}

# Path parameters that must name an object in a particular state for one route.
ROUTE_PATH_VALUES: dict[str, dict[str, Factory]] = {
    # billing's side of a number: the number must have reached billing first
    "PUT /api/v1/numbers/{msisdn}/account": {"msisdn": _billed_number},
    "GET /api/v1/numbers/{msisdn}/limits": {"msisdn": _billed_number},
    "PUT /api/v1/numbers/{msisdn}/limits/{kind}": {"msisdn": _billed_number},
    "DELETE /api/v1/numbers/{msisdn}/limits/{kind}": {"msisdn": _billed_number_with_a_limit},
    "GET /api/v1/numbers/{msisdn}/usage": {"msisdn": _billed_number},
    "POST /api/v1/tickets/{ticket_id}/reopen": {"ticket_id": _resolved_ticket},
    "GET /api/v1/tickets/{ticket_id}/attachments/{attachment_id}": {
        "ticket_id": _ticket_with_attachment
    },
    "DELETE /api/v1/numbers/{msisdn}/services/{service_id}": {
        "msisdn": number_with("POST", "/services", _shared_service_body)
    },
    "DELETE /api/v1/numbers/{msisdn}/blocks/{type}": {
        "msisdn": number_with("POST", "/blocks", constant({"type": "voluntary"}))
    },
    "DELETE /api/v1/numbers/{msisdn}/forwarding/{condition}": {
        "msisdn": number_with("PUT", "/forwarding/busy", constant({"target": "+7 495 123-45-67"}))
    },
    "POST /api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry": {
        "endpoint_id": _endpoint_with_a_delivery
    },
}

# Bodies by route; routes without a body need no entry.
BODIES: dict[str, Factory] = {
    "POST /api/v1/tickets": _ticket_body,
    "POST /api/v1/tickets/{ticket_id}/comments": constant({"text": "Матрица"}),
    "POST /api/v1/tickets/{ticket_id}/close": constant({}),
    "POST /api/v1/tickets/{ticket_id}/reopen": constant({}),
    "POST /api/v1/auth/registrations": constant(
        {"main_number": "79990000000", "email": "nobody@nowhere.example"}
    ),
    "POST /api/v1/auth/registrations/{registration_id}/confirm": constant(
        {"sms_code": "000000", "email_code": "000000", "password": "whatever-123"}
    ),
    "POST /api/v1/auth/login": _unknown_login,
    "POST /api/v1/auth/login/mfa": constant({"mfa_token": "mfa_unknown", "code": "000000"}),
    "POST /api/v1/me/2fa/confirm": _code_of_a_new_enrolment,
    "DELETE /api/v1/me/2fa": _code_with_two_factor_on,
    "POST /api/v1/auth/refresh": constant({"refresh_token": "ses_x.not-a-token"}),
    "POST /api/v1/auth/password-resets": constant({"login": "nobody.here"}),
    "POST /api/v1/auth/password-resets/{reset_id}/confirm": constant(
        {"code": "000000", "new_password": "whatever-123"}
    ),
    "PUT /api/v1/me/password": _change_own_password,
    "PUT /api/v1/me/preferences": constant({"pinned": ["tariff_change"], "locale": "ru"}),
    "POST /api/v1/auth/logout": _own_refresh_token,
    "POST /api/v1/users": _new_user_body,
    "PATCH /api/v1/users/{user_id}": constant({"full_name": "Переименован"}),
    "PUT /api/v1/users/{user_id}/assignments": constant([{"role_id": "viewer"}]),
    "POST /api/v1/roles": _new_role_body,
    "POST /api/v1/api-keys": constant({"name": "Матрица", "role_id": "viewer"}),
    "POST /api/v1/hierarchy/nodes": _new_node_in_region_a,
    "PATCH /api/v1/hierarchy/nodes/{node_id}": constant({"name": "Переименованный отдел"}),
    "PATCH /api/v1/roles/{role_id}": constant({"name": f"Другое имя {secrets.token_hex(3)}"}),
    "PATCH /api/v1/numbers/{msisdn}": constant({"label": "Матрица"}),
    "POST /api/v1/numbers/move": _move_a_fresh_number,
    "PUT /api/v1/numbers/{msisdn}/tariff": _shared_tariff_body,
    "PATCH /api/v1/numbers/{msisdn}/tariff/settings": constant({"settings": {"minutes": 200}}),
    "POST /api/v1/numbers/{msisdn}/services": _shared_service_body,
    "POST /api/v1/numbers/{msisdn}/blocks": constant({"type": "voluntary"}),
    "PUT /api/v1/numbers/{msisdn}/forwarding/{condition}": constant({"target": "+7 495 123-45-67"}),
    "POST /api/v1/numbers/{msisdn}/sim-replacement": _fresh_iccid_body,
    "POST /api/v1/numbers/{msisdn}/number-replacement": _free_number_body,
    "POST /api/v1/operations": _block_a_fresh_number,
    "POST /api/v1/accounts": constant({"name": "Матрица"}),
    "PUT /api/v1/accounts/{account_id}/settlement-method": constant(
        {"method": "credit", "credit_limit": {"amount": 100_000, "currency": "RUB"}}
    ),
    "PUT /api/v1/accounts/{account_id}/bill-delivery": constant(
        {"method": "post", "address": "Москва, Тверская, 1"}
    ),
    "POST /api/v1/accounts/{account_id}/promised-payments": constant(
        {"amount": {"amount": 1_000, "currency": "RUB"}}
    ),
    "POST /api/v1/transfers": _transfer_body,
    "PUT /api/v1/numbers/{msisdn}/account": _another_account_body,
    "PUT /api/v1/numbers/{msisdn}/limits/{kind}": constant(
        {"amount": {"amount": 50_000, "currency": "RUB"}, "action": "block"}
    ),
    "POST /api/v1/sms": _sms_to_a_fresh_number,
    "POST /api/v1/reports": _report_body,
    "POST /api/v1/documents": _documents_body,
    "PUT /api/v1/accounts/{account_id}/low-balance-threshold": constant(
        {"amount": 100_000, "currency": "RUB"}
    ),
    "PUT /api/v1/me/notifications": constant(
        {"choices": [{"kind": "file_ready", "email": False, "sms": False}]}
    ),
    "POST /api/v1/webhooks": constant(DEAF_ENDPOINT),
    "PATCH /api/v1/webhooks/{endpoint_id}": constant({"description": "Матрица"}),
    "POST /api/v1/automation-rules": constant(RULE_BODY),
    "PATCH /api/v1/automation-rules/{rule_id}": constant({"name": "Матрица, другое имя"}),
}


# Multipart bodies (files) by route.
UPLOADS: dict[str, Factory] = {
    "POST /api/v1/tickets/{ticket_id}/attachments": _pdf_upload,
}


def needs_body(route: Route) -> bool:
    return "requestBody" in SPEC["paths"][route.path][route.method.lower()]


def test_every_route_has_a_sample_and_says_who_may_call_it():
    for route in ROUTES:
        assert route.access, f"{route.key} has no x-access (use PUBLIC, ANY_USER or needs())"
        for param in route.params:
            assert param in PATH_VALUES, f"add a PATH_VALUES factory for {param} ({route.key})"
        if needs_body(route):
            assert route.key in BODIES or route.key in UPLOADS, (
                f"add a sample body for {route.key} to BODIES (UPLOADS for multipart)"
            )


@pytest.fixture
async def world(api, company, system, identity_channel) -> World:
    admin_tokens = await register(api, company)
    world = World(api=api, company=company, system=system)
    world.headers["global_admin"] = bearer(admin_tokens)
    world.refresh["global_admin"] = admin_tokens["refresh_token"]
    world.headers["no_token"] = {}
    world.headers["garbage_token"] = {"authorization": "Bearer garbage.garbage.garbage"}

    # a user of the company with a role that carries no permission a route asks for
    narrow = (
        await api.post(
            "/api/v1/roles",
            headers=world.headers["global_admin"],
            json={"name": "Узкая роль", "permissions": [UNASKED_PERMISSION]},
        )
    ).json()
    narrow_user = await create_user(
        api, world.headers["global_admin"], roles=[narrow["id"]] if UNASKED else []
    )
    if not UNASKED:  # held at a node, the company-level permission grants nothing
        admin = world.headers["global_admin"]
        node = await add_node(api, admin, await root_node(api, admin), "Узкий отдел")
        await assignable(
            api, admin, narrow_user["id"], [{"role_id": narrow["id"], "node_id": node["id"]}]
        )
        world.own_ids.add(node["id"])
    login = await api.post(
        "/api/v1/auth/login", json={"login": narrow_user["login"], "password": PASSWORD}
    )
    world.headers["without_permission"] = bearer(login.json())
    world.refresh["without_permission"] = login.json()["refresh_token"]
    world.own_ids |= {narrow["id"], narrow_user["id"]}

    await add_scoped_users(world)
    world.catalogue = await shared_catalogue(system)

    other_tokens = await register(api, await new_company(system, identity_channel))
    world.headers["other_company_admin"] = bearer(other_tokens)
    world.refresh["other_company_admin"] = other_tokens["refresh_token"]
    admin_id = (await api.get("/api/v1/me", headers=world.headers["global_admin"])).json()
    world.own_ids.add(admin_id["user"]["id"])
    return world


SCOPED_ROLE = frozenset(
    {
        "hierarchy.manage",
        "numbers.view",
        "numbers.manage_notes",
        "numbers.tariff",
        "numbers.services",
        "numbers.blocks",
        "numbers.forwarding",
        "numbers.sim",
        "numbers.limits",
        "tickets.view",
        "tickets.manage",
    }
)
# The `without_permission` user's one permission: one that no route asks for; when every
# permission is asked by some route, a company-level one held at a node (where it grants
# nothing: company-level permissions need an assignment for the whole company).
UNASKED = sorted(set(ALL_PERMISSIONS) - {route.access for route in ROUTES})
UNASKED_PERMISSION = UNASKED[0] if UNASKED else "documents.finance"
# Routes whose body names an object of company A: another company gets 404 for them too.
BODY_NAMES_AN_OBJECT = {
    "POST /api/v1/hierarchy/nodes",
    "POST /api/v1/numbers/move",
    "POST /api/v1/operations",
    "POST /api/v1/tickets",
    "POST /api/v1/sms",
    "POST /api/v1/transfers",
    "POST /api/v1/reports",
    "POST /api/v1/documents",
}
# Routes whose permission depends on the body (`x-access: per_type`): the sample's.
PER_TYPE_SAMPLE_PERMISSION = {"POST /api/v1/operations": "numbers.blocks"}
# An operation is seen by the one who started it and by those holding its type's permission
# for the whole company; for anyone else of the company it does not exist.
STARTER_OR_COMPANY_WIDE = {
    "GET /api/v1/operations/{operation_id}",
    "GET /api/v1/operations/{operation_id}/results",
    "POST /api/v1/operations/{operation_id}/cancel",
}
# A number outside a caller's subtrees does not exist for it: a list shows only the
# subtrees' numbers, and a number elsewhere is not found (404), never "forbidden".
SCOPE_FILTERED_LISTS = {"GET /api/v1/numbers", "GET /api/v1/numbers/export", "GET /api/v1/tickets"}
HIDDEN_OUTSIDE_SCOPE = {
    "GET /api/v1/numbers/{msisdn}",
    "PATCH /api/v1/numbers/{msisdn}",
    "POST /api/v1/numbers/move",
    "PUT /api/v1/numbers/{msisdn}/tariff",
    "PATCH /api/v1/numbers/{msisdn}/tariff/settings",
    "POST /api/v1/numbers/{msisdn}/services",
    "DELETE /api/v1/numbers/{msisdn}/services/{service_id}",
    "POST /api/v1/numbers/{msisdn}/blocks",
    "DELETE /api/v1/numbers/{msisdn}/blocks/{type}",
    "PUT /api/v1/numbers/{msisdn}/forwarding/{condition}",
    "DELETE /api/v1/numbers/{msisdn}/forwarding/{condition}",
    "POST /api/v1/numbers/{msisdn}/sim-replacement",
    "POST /api/v1/numbers/{msisdn}/number-replacement",
    "GET /api/v1/numbers/{msisdn}/limits",
    "PUT /api/v1/numbers/{msisdn}/limits/{kind}",
    "DELETE /api/v1/numbers/{msisdn}/limits/{kind}",
    "GET /api/v1/numbers/{msisdn}/usage",
    "POST /api/v1/operations",
    # a ticket about numbers of region A, and a new one about such a number
    "POST /api/v1/tickets",
    "GET /api/v1/tickets/{ticket_id}",
    "POST /api/v1/tickets/{ticket_id}/comments",
    "POST /api/v1/tickets/{ticket_id}/attachments",
    "GET /api/v1/tickets/{ticket_id}/attachments/{attachment_id}",
    "POST /api/v1/tickets/{ticket_id}/close",
    "POST /api/v1/tickets/{ticket_id}/reopen",
}
# Routes whose path names the operator's catalogue, which every company reads: another
# company's administrator gets it as well (200), not 404.
SHARED_OBJECT_ROUTES = {
    "GET /api/v1/tariffs/{tariff_id}",
    "GET /api/v1/services/{service_id}",
    # the operator's application forms, the same blanks for every company
    "GET /api/v1/forms/{form_id}/file",
}


async def add_scoped_users(world: World) -> None:
    """Regions A and B under the root, and a user holding SCOPED_ROLE at each."""
    admin = world.headers["global_admin"]
    root = await root_node(world.api, admin)
    world.nodes["A"] = (await add_node(world.api, admin, root, "Регион А", "region"))["id"]
    world.nodes["B"] = (await add_node(world.api, admin, root, "Регион Б", "region"))["id"]
    role = (
        await world.api.post(
            "/api/v1/roles",
            headers=admin,
            json={"name": "Иерархия региона", "permissions": sorted(SCOPED_ROLE)},
        )
    ).json()
    world.own_ids |= {role["id"], world.nodes["A"], world.nodes["B"]}
    for caller, region in (("scoped_here", "A"), ("scoped_elsewhere", "B")):
        user = await create_user(world.api, admin)
        await assignable(
            world.api, admin, user["id"], [{"role_id": role["id"], "node_id": world.nodes[region]}]
        )
        login = await world.api.post(
            "/api/v1/auth/login", json={"login": user["login"], "password": PASSWORD}
        )
        world.headers[caller] = bearer(login.json())
        world.refresh[caller] = login.json()["refresh_token"]
        world.own_ids.add(user["id"])


def expected_status(route: Route, caller: str) -> set[int] | None:
    """None: the same as without a token (public routes ignore credentials)."""
    allowed = {200, 201, 202, 204}
    if route.access == "public":
        return None
    if caller in ("no_token", "garbage_token"):
        return {401}
    if caller == "other_company_admin" and route.key not in SHARED_OBJECT_ROUTES:
        return {404} if route.params or route.key in BODY_NAMES_AN_OBJECT else allowed
    if caller == "global_admin":
        return allowed
    if route.key in STARTER_OR_COMPANY_WIDE:
        return {404}
    if route.access == "any_user":
        return allowed
    if caller == "without_permission":
        return {403}
    access = PER_TYPE_SAMPLE_PERMISSION.get(route.key, route.access)
    held_here = access in SCOPED_ROLE and access not in COMPANY_LEVEL_PERMISSIONS
    if held_here and route.key in SCOPE_FILTERED_LISTS:
        return allowed
    if held_here and caller == "scoped_elsewhere" and route.key in HIDDEN_OUTSIDE_SCOPE:
        return {404}
    return allowed if held_here and caller == "scoped_here" else {403}


async def call(world: World, route: Route, caller: str) -> httpx.Response:
    path = route.path
    for param in route.params:
        factory = ROUTE_PATH_VALUES.get(route.key, {}).get(param, PATH_VALUES[param])
        path = path.replace(f"{{{param}}}", str(await factory(world, caller)))
    body = await BODIES[route.key](world, caller) if route.key in BODIES else None
    files = await UPLOADS[route.key](world, caller) if route.key in UPLOADS else None
    # Routes that start an operation need an idempotency key; the others ignore it.
    headers = {**world.headers[caller], "idempotency-key": secrets.token_hex(8)}
    return await world.api.request(route.method, path, json=body, files=files, headers=headers)


def assert_leaks_nothing(world: World, response: httpx.Response, route: Route, caller: str):
    body = response.json()
    assert set(body) <= PROBLEM_KEYS, (route.key, caller, body)
    for own_id in world.own_ids:
        assert own_id not in response.text, (route.key, caller, own_id)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.key)
async def test_route_answers_each_caller_as_it_should(world: World, route: Route):
    baseline = None
    for caller in CALLERS:
        response = await call(world, route, caller)
        assert response.status_code < 500, (route.key, caller, response.text)
        expected = expected_status(route, caller)
        if expected is None:
            baseline = baseline or response.status_code
            assert response.status_code == baseline, (route.key, caller, response.text)
            continue
        assert response.status_code in expected, (route.key, caller, response.text)
        if response.status_code >= 400:
            assert_leaks_nothing(world, response, route, caller)
        elif caller == "other_company_admin":
            for own_id in world.own_ids:
                assert own_id not in response.text, (route.key, own_id)
