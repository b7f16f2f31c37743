"""Loads the demo data through the operator's gRPC surface and the public registration
flow (codes read from the development message sink). Safe to run again: what exists is
left as it is."""

from __future__ import annotations

import re

import grpc
import httpx

from demo.data import COMPANIES, DEMO_PASSWORD, DemoCompany
from services.kit.grpc_client import open_channel
from services.kit.settings import Settings
from vm.identity.v1 import identity_pb2 as pb
from vm.identity.v1 import identity_pb2_grpc as pb_grpc

CODE = re.compile(r"\b(\d{6})\b")


async def load_demo(settings: Settings) -> list[str]:
    """Returns one line per company saying what was done."""
    operator = (("authorization", f"Operator {settings.operator_token.get_secret_value()}"),)
    async with open_channel(settings.identity_addr) as channel:
        companies = pb_grpc.IdentityOperatorServiceStub(channel)
        identity = pb_grpc.IdentityServiceStub(channel)
        report = []
        for demo in COMPANIES:
            company, created = await _ensure_company(companies, demo, operator)
            done = ["created" if created else "already there"]
            if demo.registers and not company.registered:
                await _register(identity, demo, settings.devsink_url)
                done.append("its administrator registered")
            report.append(f"{demo.name}: {', '.join(done)}")
        return report


async def _ensure_company(
    stub: pb_grpc.IdentityOperatorServiceStub,
    demo: DemoCompany,
    operator: tuple[tuple[str, str], ...],
) -> tuple[pb.Company, bool]:
    try:
        found = await stub.LookupCompany(
            pb.LookupCompanyRequest(inn=demo.inn), metadata=operator, timeout=10
        )
        return found.company, False
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.NOT_FOUND:
            raise
    created = await stub.CreateCompany(
        pb.CreateCompanyRequest(
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


async def _register(stub: pb_grpc.IdentityServiceStub, demo: DemoCompany, sink_url: str) -> None:
    started = await stub.StartRegistration(
        pb.StartRegistrationRequest(main_number=demo.main_number, email=demo.contact_email),
        timeout=10,
    )
    async with httpx.AsyncClient(base_url=sink_url, timeout=5) as sink:
        sms_code = await _latest_code(sink, demo.main_number)
        email_code = await _latest_code(sink, demo.contact_email)
    await stub.ConfirmRegistration(
        pb.ConfirmRegistrationRequest(
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
