"""Loads the demo data through the operator's gRPC surface and the public registration
flow (codes read from the development message sink). Safe to run again: what exists is
left as it is."""

from __future__ import annotations

import re

import grpc
import httpx

from demo.data import COMPANIES, DEMO_PASSWORD, ROMASHKA_STAFF, DemoCompany
from services.kit.grpc_client import open_channel
from services.kit.settings import Settings
from vm.identity.v1 import (
    auth_pb2,
    auth_pb2_grpc,
    companies_pb2,
    companies_pb2_grpc,
    resources_pb2,
    users_pb2,
    users_pb2_grpc,
)

CODE = re.compile(r"\b(\d{6})\b")


async def load_demo(settings: Settings) -> list[str]:
    """Returns one line per company saying what was done."""
    operator = (("authorization", f"Operator {settings.operator_token.get_secret_value()}"),)
    async with open_channel(settings.identity_addr) as channel:
        companies = companies_pb2_grpc.CompanyServiceStub(channel)
        identity = auth_pb2_grpc.AuthServiceStub(channel)
        report = []
        for demo in COMPANIES:
            company, created = await _ensure_company(companies, demo, operator)
            done = ["created" if created else "already there"]
            if demo.registers and not company.registered:
                await _register(identity, demo, settings.devsink_url)
                done.append("its administrator registered")
            report.append(f"{demo.name}: {', '.join(done)}")
        added = await _ensure_staff(channel, COMPANIES[0])
        report.append(
            f"{COMPANIES[0].name}: staff users — {added} added, "
            f"{len(ROMASHKA_STAFF) - added} already there"
        )
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


async def _ensure_staff(channel: grpc.aio.Channel, demo: DemoCompany) -> int:
    """Ромашка's staff users, created by its global administrator; returns how many new."""
    login = await auth_pb2_grpc.AuthServiceStub(channel).Login(
        auth_pb2.LoginRequest(login=demo.main_number, password=DEMO_PASSWORD), timeout=30
    )
    admin = (("authorization", f"Bearer {login.tokens.access_token}"),)
    users = users_pb2_grpc.UserServiceStub(channel)
    added = 0
    for staff in ROMASHKA_STAFF:
        existing = await users.ListUsers(
            users_pb2.ListUsersRequest(query=staff.login), metadata=admin, timeout=10
        )
        if any(user.login == staff.login for user in existing.users):
            continue
        await users.CreateUser(
            users_pb2.CreateUserRequest(
                login=staff.login,
                full_name=staff.full_name,
                email=staff.email,
                password=DEMO_PASSWORD,
                assignments=[resources_pb2.RoleAssignment(role_id=staff.role_id)],
            ),
            metadata=admin,
            timeout=30,
        )
        added += 1
    return added
