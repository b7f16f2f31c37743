"""Loads the demo data through the operator's gRPC surface and the public registration
flow (codes read from the development message sink). Safe to run again: what exists is
left as it is."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import grpc
import httpx

from demo.billing import ensure_billing
from demo.data import (
    COMPANIES,
    COMPANY_NUMBERS,
    DEMO_PASSWORD,
    DESK_AGENT,
    DOCUMENTS_AUTHOR,
    FREE_NUMBERS,
    ROMASHKA_HIERARCHY,
    ROMASHKA_MANAGER,
    ROMASHKA_MANAGER_SCOPE,
    ROMASHKA_NUMBERS,
    ROMASHKA_STAFF,
    ROMASHKA_TICKETS,
    SERVICES,
    TARIFFS,
    TICKETS_AUTHOR,
    DemoCompany,
    DemoNumber,
    DemoService,
    DemoTariff,
    DemoTicket,
    DemoUser,
)
from demo.documents import ensure_documents
from demo.progress import SILENT, Advance, Steps
from demo.webhooks import ensure_webhook
from services.kit.grpc_client import open_channel
from services.kit.settings import Settings
from vm.catalog.v1 import (
    hierarchy_pb2,
    hierarchy_pb2_grpc,
    numbers_pb2,
    numbers_pb2_grpc,
    tariffs_pb2,
    tariffs_pb2_grpc,
)
from vm.common.v1 import common_pb2
from vm.identity.v1 import (
    auth_pb2,
    auth_pb2_grpc,
    companies_pb2,
    companies_pb2_grpc,
    resources_pb2,
    users_pb2,
    users_pb2_grpc,
)
from vm.tickets.v1 import tickets_pb2, tickets_pb2_grpc

CODE = re.compile(r"\b(\d{6})\b")
# Numbers per AddNumbers call: each call is all or nothing.
NUMBER_BATCH = 200


async def load_demo(
    settings: Settings, *, history: bool = True, steps: Steps = SILENT
) -> list[str]:
    """Returns one line per company saying what was done, and shows each step on `steps`.
    Without `history` only what the companies are made of is loaded (companies, users, the
    catalogue, hierarchy, numbers, accounts): no payments, usage, tickets or documents —
    the benchmarks' set-up, which then adds its own."""
    operator = (("authorization", f"Operator {settings.operator_token.get_secret_value()}"),)
    async with (
        open_channel(settings.identity_addr) as channel,
        open_channel(settings.catalog_addr) as catalog,
    ):
        report, company_ids = await _ensure_companies(channel, operator, settings, steps)
        with steps.step("the operator's tariffs and services", len(TARIFFS) + len(SERVICES)) as on:
            report.append(await _define_catalogue(catalog, operator, on))
        staffed, nodes = await _ensure_staff_and_hierarchy(channel, catalog, steps)
        report += staffed
        report += await _ensure_all_numbers(channel, catalog, operator, company_ids, nodes, steps)
        report += await ensure_billing(
            settings.billing_addr, operator, company_ids, history=history, steps=steps
        )
        with steps.step("a webhook endpoint of the first company", 1) as on:
            admin = await _administrator(channel, COMPANIES[0])
            report.append(
                await ensure_webhook(settings.notifications_addr, admin, settings.devsink_url)
            )
            on(1)
        if not history:
            return report
        author = await _login(channel, TICKETS_AUTHOR)
        with steps.step("tickets, worked on by the operator's desk", len(ROMASHKA_TICKETS)) as on:
            report.append(await _ensure_tickets(settings.tickets_addr, author, operator, on))
        accountant = await _login(channel, DOCUMENTS_AUTHOR)
        report.append(
            await ensure_documents(
                settings.documents_addr,
                settings.billing_addr,
                settings.catalog_addr,
                accountant,
                COMPANIES[0].name,
                steps,
            )
        )
        return report


async def _ensure_companies(
    channel: grpc.aio.Channel, operator: Metadata, settings: Settings, steps: Steps
) -> tuple[list[str], dict[str, str]]:
    """The demo companies, each administrator registered; (report lines, INN → id)."""
    companies = companies_pb2_grpc.CompanyServiceStub(channel)
    identity = auth_pb2_grpc.AuthServiceStub(channel)
    report = []
    company_ids: dict[str, str] = {}
    with steps.step("companies and their administrators", len(COMPANIES)) as advance:
        for demo in COMPANIES:
            company, created = await _ensure_company(companies, demo, operator)
            company_ids[demo.inn] = company.id
            done = ["created" if created else "already there"]
            if demo.registers and not company.registered:
                await _register(identity, demo, settings.devsink_url)
                done.append("its administrator registered")
            report.append(f"{demo.name}: {', '.join(done)}")
            advance(1)
    return report, company_ids


async def _ensure_staff_and_hierarchy(
    channel: grpc.aio.Channel, catalog: grpc.aio.Channel, steps: Steps
) -> tuple[list[str], dict[str, str]]:
    """Ромашка's staff, its hierarchy, and its department manager scoped to a city;
    (report lines, the hierarchy's node ids by name as `_ensure_hierarchy` gives them)."""
    admin = await _administrator(channel, COMPANIES[0])
    with steps.step("staff users and the hierarchy", len(ROMASHKA_STAFF) + 2) as advance:
        added = []
        for staff in ROMASHKA_STAFF:
            added.append(await _ensure_user(channel, admin, staff, node_id=None))
            advance(1)
        nodes = await _ensure_hierarchy(catalog, admin)
        advance(1)
        scope = nodes[ROMASHKA_MANAGER_SCOPE]
        await _ensure_user(channel, admin, ROMASHKA_MANAGER, node_id=scope)
        advance(1)
    return [
        f"{COMPANIES[0].name}: staff users — {sum(added)} added, "
        f"{len(added) - sum(added)} already there",
        f"{COMPANIES[0].name}: hierarchy of {len(nodes) + 1} nodes; "
        f"{ROMASHKA_MANAGER.login} manages {ROMASHKA_MANAGER_SCOPE} and below",
    ], nodes


async def _ensure_all_numbers(
    channel: grpc.aio.Channel,
    catalog: grpc.aio.Channel,
    operator: Metadata,
    company_ids: dict[str, str],
    nodes: dict[str, str],
    steps: Steps,
) -> list[str]:
    """Every company's numbers (Ромашка's at their `nodes`), and the operator's free pool."""
    total = sum(len(COMPANY_NUMBERS[demo.inn]) for demo in COMPANIES) + len(FREE_NUMBERS)
    report = []
    with steps.step("numbers, added in batches", total) as advance:
        for demo in COMPANIES:
            reader = await _administrator(channel, demo) if demo.registers else None
            added, there = await _ensure_numbers(
                catalog,
                operator,
                reader,
                company_ids[demo.inn],
                COMPANY_NUMBERS[demo.inn],
                nodes if demo is COMPANIES[0] else {},
                advance,
            )
            report.append(f"{demo.name}: numbers — {added} added, {there} already there")
        added, there = await _ensure_free_numbers(catalog, operator)
        advance(len(FREE_NUMBERS))
        report.append(f"the free pool: numbers — {added} added, {there} already there")
    return report


async def _ensure_company(
    stub: companies_pb2_grpc.CompanyServiceStub,
    demo: DemoCompany,
    operator: tuple[tuple[str, str], ...],
) -> tuple[resources_pb2.Company, bool]:
    try:
        found = await stub.LookupCompany(
            companies_pb2.LookupCompanyRequest(inn=demo.inn), metadata=operator, timeout=10
        )
        return found.company, False
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.NOT_FOUND:
            raise
    created = await stub.CreateCompany(
        companies_pb2.CreateCompanyRequest(
            name=demo.name,
            inn=demo.inn,
            kpp=demo.kpp,
            ogrn=demo.ogrn,
            contract_number=demo.contract_number,
            main_number=demo.main_number,
            contact_email=demo.contact_email,
            legal_address=demo.legal_address,
        ),
        metadata=operator,
        timeout=10,
    )
    return created.company, True


async def _register(stub: auth_pb2_grpc.AuthServiceStub, demo: DemoCompany, sink_url: str) -> None:
    started = await stub.StartRegistration(
        auth_pb2.StartRegistrationRequest(main_number=demo.main_number, email=demo.contact_email),
        timeout=10,
    )
    async with httpx.AsyncClient(base_url=sink_url, timeout=5) as sink:
        sms_code = await _latest_code(sink, demo.main_number)
        email_code = await _latest_code(sink, demo.contact_email)
    await stub.ConfirmRegistration(
        auth_pb2.ConfirmRegistrationRequest(
            registration_id=started.registration_id,
            sms_code=sms_code,
            email_code=email_code,
            password=DEMO_PASSWORD,
        ),
        timeout=30,
    )


async def _latest_code(sink: httpx.AsyncClient, to: str) -> str:
    response = await sink.get("/messages", params={"to": to})
    response.raise_for_status()
    for message in response.json()["items"]:
        if match := CODE.search(message["text"]):
            return match.group(1)
    raise RuntimeError(f"no code arrived for {to}")


Metadata = tuple[tuple[str, str], ...]


async def _administrator(channel: grpc.aio.Channel, demo: DemoCompany) -> Metadata:
    return await _login(channel, demo.main_number)


async def _login(channel: grpc.aio.Channel, login_name: str) -> Metadata:
    login = await auth_pb2_grpc.AuthServiceStub(channel).Login(
        auth_pb2.LoginRequest(login=login_name, password=DEMO_PASSWORD), timeout=30
    )
    return (("authorization", f"Bearer {login.tokens.access_token}"),)


async def _ensure_user(
    channel: grpc.aio.Channel, admin: Metadata, person: DemoUser, node_id: str | None
) -> bool:
    """The user with their one role (scoped to `node_id` if given); True when created."""
    users = users_pb2_grpc.UserServiceStub(channel)
    existing = await users.ListUsers(
        users_pb2.ListUsersRequest(query=person.login), metadata=admin, timeout=10
    )
    if any(user.login == person.login for user in existing.users):
        return False
    created = await users.CreateUser(
        users_pb2.CreateUserRequest(
            login=person.login,
            full_name=person.full_name,
            email=person.email,
            password=DEMO_PASSWORD,
        ),
        metadata=admin,
        timeout=30,
    )
    assignment = resources_pb2.RoleAssignment(role_id=person.role_id, node_id=node_id or "")
    for _ in range(100):  # identity learns new nodes from catalog's events, a moment later
        try:
            await users.SetUserAssignments(
                users_pb2.SetUserAssignmentsRequest(
                    user_id=created.user.id, assignments=[assignment]
                ),
                metadata=admin,
                timeout=10,
            )
            return True
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:  # the node, not yet known
                raise
            await asyncio.sleep(0.1)
    raise RuntimeError(f"identity never learnt the node for {person.login}")


async def _ensure_hierarchy(channel: grpc.aio.Channel, admin: Metadata) -> dict[str, str]:
    """Ромашка's regions, cities and departments under its root; returns name → node id
    of the regions and cities, and "city / department" → node id of the departments (their
    names repeat)."""
    stub = hierarchy_pb2_grpc.HierarchyServiceStub(channel)
    nodes: list[hierarchy_pb2.Node] = []
    for _ in range(100):  # the root appears once catalog has the company's event
        nodes = list(
            (
                await stub.GetHierarchy(
                    hierarchy_pb2.GetHierarchyRequest(), metadata=admin, timeout=10
                )
            ).nodes
        )
        if nodes:
            break
        await asyncio.sleep(0.1)
    root = next(node for node in nodes if not node.parent_id)
    children: dict[tuple[str, str], str] = {(n.parent_id, n.name): n.id for n in nodes}
    named: dict[str, str] = {}

    async def ensure(parent_id: str, branch: tuple, parent_name: str = "") -> None:
        for kind, name, below in branch:
            node_id = children.get((parent_id, name))
            if node_id is None:
                created = await stub.CreateNode(
                    hierarchy_pb2.CreateNodeRequest(parent_id=parent_id, name=name, kind=kind),
                    metadata=admin,
                    timeout=10,
                )
                node_id = created.node.id
            named[f"{parent_name} / {name}" if kind == "department" else name] = node_id
            await ensure(node_id, below, name)

    await ensure(root.id, ROMASHKA_HIERARCHY)
    return named


async def _ensure_numbers(
    channel: grpc.aio.Channel,
    operator: Metadata,
    reader: Metadata | None,
    company_id: str,
    numbers: tuple[DemoNumber, ...],
    nodes: dict[str, str],
    advance: Advance,
) -> tuple[int, int]:
    """The company's demo numbers at their nodes ("" or an unknown place: the root), added
    by the operator in batches; (added, already there). With the company administrator's
    credential (`reader`) only the numbers the company does not list yet are sent and the
    labels are written where a number has none; without it (a company not registered yet)
    a batch the operator refuses as given out already counts as there."""
    listed: dict[str, str] = {}  # msisdn → label
    if reader is not None:
        listed = await _listed_numbers(channel, reader)
    missing = [n for n in numbers if n.msisdn not in listed]
    advance(len(numbers) - len(missing))
    admin = numbers_pb2_grpc.NumberAdminServiceStub(channel)
    added = 0
    present = set(listed)
    for start in range(0, len(missing), NUMBER_BATCH):
        batch = missing[start : start + NUMBER_BATCH]
        request = numbers_pb2.AddNumbersRequest(
            company_id=company_id,
            numbers=[
                numbers_pb2.NewNumber(
                    msisdn=n.msisdn,
                    iccid=n.iccid,
                    tariff_id=n.tariff_id,
                    node_id=nodes.get(n.place, ""),
                )
                for n in batch
            ],
        )
        try:
            added += (await admin.AddNumbers(request, metadata=operator, timeout=60)).added
            present.update(n.msisdn for n in batch)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
        advance(len(batch))
    if reader is not None:
        stub = numbers_pb2_grpc.NumberServiceStub(channel)
        for number in numbers:
            if number.label and number.msisdn in present and not listed.get(number.msisdn):
                await stub.UpdateNumber(
                    numbers_pb2.UpdateNumberRequest(msisdn=number.msisdn, label=number.label),
                    metadata=reader,
                    timeout=10,
                )
    return added, len(numbers) - added


async def _listed_numbers(channel: grpc.aio.Channel, reader: Metadata) -> dict[str, str]:
    """Every number the company lists (all pages): msisdn → label."""
    stub = numbers_pb2_grpc.NumberServiceStub(channel)
    found: dict[str, str] = {}
    token = ""
    while True:
        page = await stub.ListNumbers(
            numbers_pb2.ListNumbersRequest(page_size=500, page_token=token),
            metadata=reader,
            timeout=30,
        )
        found.update((n.msisdn, n.label) for n in page.numbers)
        token = page.next_page_token
        if not token:
            return found


async def _ensure_free_numbers(channel: grpc.aio.Channel, operator: Metadata) -> tuple[int, int]:
    """The operator's free pool, one batch: refused as there already, it counts as there
    (number replacement may have taken some of it meanwhile)."""
    admin = numbers_pb2_grpc.NumberAdminServiceStub(channel)
    request = numbers_pb2.AddFreeNumbersRequest(
        numbers=[numbers_pb2.FreeNumber(msisdn=m, iccid=i) for m, i in FREE_NUMBERS]
    )
    try:
        added = (await admin.AddFreeNumbers(request, metadata=operator, timeout=60)).added
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
        added = 0
    return added, len(FREE_NUMBERS) - added


SETTING_TYPES = {
    "bool": tariffs_pb2.SETTING_TYPE_BOOL,
    "int": tariffs_pb2.SETTING_TYPE_INT,
    "choice": tariffs_pb2.SETTING_TYPE_CHOICE,
}


async def _define_catalogue(channel: grpc.aio.Channel, operator: Metadata, advance: Advance) -> str:
    """The operator's tariffs, then its services (each after what it names). A definition
    replaces the item by id, so loading again leaves the same catalogue."""
    admin = tariffs_pb2_grpc.TariffAdminServiceStub(channel)
    definitions: list[tuple[Any, Any]] = [
        *(
            (admin.DefineTariff, tariffs_pb2.DefineTariffRequest(tariff=_tariff_message(t)))
            for t in TARIFFS
        ),
        *(
            (admin.DefineService, tariffs_pb2.DefineServiceRequest(service=_service_message(s)))
            for s in SERVICES
        ),
    ]
    # One after another (a gRPC call starts when it is made): a service names tariffs.
    for define, request in definitions:
        await define(request, metadata=operator, timeout=10)
        advance(1)
    return f"the operator's catalogue: {len(TARIFFS)} tariffs, {len(SERVICES)} services"


def _rub(kopecks: int) -> common_pb2.Money:
    return common_pb2.Money(amount=kopecks, currency="RUB")


def _tariff_message(tariff: DemoTariff) -> tariffs_pb2.Tariff:
    return tariffs_pb2.Tariff(
        id=tariff.id,
        name=tariff.name,
        description=tariff.description,
        monthly_fee=_rub(tariff.monthly_fee),
        settings=[
            tariffs_pb2.SettingDefinition(
                key=s.key,
                title=s.title,
                type=SETTING_TYPES[s.type],
                choices=s.choices,
                min=s.min,
                max=s.max,
                default_value=s.default,
            )
            for s in tariff.settings
        ],
        available=tariff.available,
    )


def _service_message(service: DemoService) -> tariffs_pb2.Service:
    return tariffs_pb2.Service(
        id=service.id,
        name=service.name,
        description=service.description,
        monthly_price=_rub(service.monthly_price),
        requires=service.requires,
        excludes=service.excludes,
        tariffs=service.tariffs,
        category=service.category,
        available=True,
    )


async def _ensure_tickets(
    tickets_addr: str, author: Metadata, operator: Metadata, advance: Advance
) -> str:
    """Ромашка's tickets, opened by its telecom administrator through TicketService and
    worked by the operator's desk through TicketsOperatorService; left as they are when
    the company has tickets already."""
    async with open_channel(tickets_addr) as channel:
        company = tickets_pb2_grpc.TicketServiceStub(channel)
        desk = tickets_pb2_grpc.TicketsOperatorServiceStub(channel)
        listed = await company.ListTickets(
            tickets_pb2.ListTicketsRequest(page_size=1), metadata=author, timeout=10
        )
        if listed.tickets:
            return f"{COMPANIES[0].name}: tickets already there"
        for demo in ROMASHKA_TICKETS:
            await _open_ticket(company, desk, demo, author, operator)
            advance(1)
    return f"{COMPANIES[0].name}: {len(ROMASHKA_TICKETS)} tickets opened and worked on"


async def _open_ticket(
    company: tickets_pb2_grpc.TicketServiceStub,
    desk: tickets_pb2_grpc.TicketsOperatorServiceStub,
    demo: DemoTicket,
    author: Metadata,
    operator: Metadata,
) -> None:
    created = await company.CreateTicket(
        tickets_pb2.CreateTicketRequest(
            category=demo.category,
            subject=demo.subject,
            text=demo.text,
            msisdns=[ROMASHKA_NUMBERS[i].msisdn for i in demo.numbers],
        ),
        metadata=author,
        timeout=10,
    )
    ticket_id = created.ticket.id
    for side, action, text, status in demo.steps:
        if action == "status":
            await desk.ChangeTicketStatus(
                tickets_pb2.ChangeTicketStatusRequest(
                    ticket_id=ticket_id, status=status, agent=DESK_AGENT
                ),
                metadata=operator,
                timeout=10,
            )
        elif action == "reply":
            await desk.ReplyToTicket(
                tickets_pb2.ReplyToTicketRequest(
                    ticket_id=ticket_id, text=text, agent=DESK_AGENT, status=status
                ),
                metadata=operator,
                timeout=10,
            )
        elif side == "customer" and action == "close":
            await company.CloseTicket(
                tickets_pb2.CloseTicketRequest(ticket_id=ticket_id, text=text),
                metadata=author,
                timeout=10,
            )
