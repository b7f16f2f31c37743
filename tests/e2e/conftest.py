"""One running system for the end-to-end tests; each test makes its own company."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import grpc
import httpx
import pytest

from services.kit.settings import SERVICE_NAMES
from tests.support.requisites import random_inn
from tests.support.servers import MongoServer, delete_broker_namespace
from tests.support.system import RunningSystem, start_system
from vm.identity.v1 import companies_pb2 as pb
from vm.identity.v1 import companies_pb2_grpc as pb_grpc


@pytest.fixture(scope="session")
def system(mongo_server: MongoServer, amqp: str) -> Iterator[RunningSystem]:
    running = start_system(mongo_server.url, amqp)
    yield running
    running.stop()
    import asyncio

    asyncio.run(delete_broker_namespace(amqp, running.settings.amqp_prefix, SERVICE_NAMES))


def client_address() -> str:
    """A client address of its own (198.18.0.0/15, reserved for tests; only ever a header)."""
    return f"198.{18 + secrets.randbelow(2)}.{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}"


@pytest.fixture
async def api(system: RunningSystem) -> AsyncIterator[httpx.AsyncClient]:
    # Each test is a client of its own, as real clients are: the gateway trusts
    # X-Forwarded-For from the local host, so one test's failed logins never throttle
    # another's (login throttling counts failures per client address).
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"x-forwarded-for": client_address()}
    ) as client:
        yield client


@pytest.fixture
async def identity_channel(system: RunningSystem) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(system.settings.identity_addr) as channel:
        yield channel


@dataclass(frozen=True)
class NewCompany:
    id: str
    name: str
    main_number: str
    contact_email: str


def operator_metadata(system: RunningSystem) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Operator {system.settings.operator_token.get_secret_value()}"),)


async def new_company(system: RunningSystem, channel: grpc.aio.Channel) -> NewCompany:
    """A company made by the operator (not registered yet), with a random INN (a valid
    one: identity checks its check digit) and number."""
    suffix = f"{secrets.randbelow(10**9):09d}"
    created = await pb_grpc.CompanyServiceStub(channel).CreateCompany(
        pb.CreateCompanyRequest(
            name=f'ООО "Тест {suffix}"',
            inn=random_inn(),
            contract_number=f"T-{suffix}",
            main_number=f"79{suffix}",
            contact_email=f"admin{suffix}@test.example",
        ),
        metadata=operator_metadata(system),
    )
    c = created.company
    return NewCompany(c.id, c.name, c.main_number, c.contact_email)


@pytest.fixture
async def company(system: RunningSystem, identity_channel: grpc.aio.Channel) -> NewCompany:
    """A company for this test alone."""
    return await new_company(system, identity_channel)


@pytest.fixture
async def other_company(system: RunningSystem, identity_channel: grpc.aio.Channel) -> NewCompany:
    """Another company, to show that one company never sees the other's objects."""
    return await new_company(system, identity_channel)
