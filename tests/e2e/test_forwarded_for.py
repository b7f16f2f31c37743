"""Behind a proxy: the gateway takes the client's address from X-Forwarded-For only when the
peer is a proxy VM_FORWARDED_ALLOW_IPS names; from anyone else the header is ignored.

Login throttling (identity locks an address after 20 failed logins in 15 minutes) shows
which address was counted. The system's gateway trusts 127.0.0.1 (the default); a second
gateway of this file's own trusts only an address that is not the test's. The untrusted
client sends from a loopback address of its own (127.0.0.N, random), so no other test's
address is ever locked; the logins guessed do not exist.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.e2e.conftest import client_address
from tests.support.system import RunningSystem, start_gateway

pytestmark = pytest.mark.e2e

WRONG = "Wrong-pass-1"
# The address limit of services/identity/domain/throttling.py: locked at this many failures.
ADDRESS_FAILURES = 20
# TEST-NET-1 (RFC 5737): a proxy that never connects here.
SOME_OTHER_PROXY = "192.0.2.1"


@pytest.fixture(scope="module")
def untrusting_gateway(system: RunningSystem) -> Iterator[str]:
    """A second gateway, as the system's but trusting X-Forwarded-For only from another host."""
    yield from start_gateway(
        system, "gateway-untrusting", {"VM_FORWARDED_ALLOW_IPS": SOME_OTHER_PROXY}
    )


def own_loopback_address() -> str:
    """127.0.0.N, N random and never 1 (the address every other test connects from)."""
    return f"127.0.{secrets.randbelow(256)}.{2 + secrets.randbelow(253)}"


@pytest.fixture
async def from_own_address() -> AsyncIterator[httpx.AsyncClient]:
    """A client whose connections come from a loopback address of its own."""
    transport = httpx.AsyncHTTPTransport(local_address=own_loopback_address())
    async with httpx.AsyncClient(transport=transport, timeout=30) as client:
        yield client


async def failed_login(client: httpx.AsyncClient, url: str, forwarded_for: str) -> httpx.Response:
    return await client.post(
        f"{url}/api/v1/auth/login",
        json={"login": f"nobody.{secrets.token_hex(4)}", "password": WRONG},
        headers={"x-forwarded-for": forwarded_for},
    )


def assert_locked(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "rate_limited"
    assert 890 <= int(response.headers["retry-after"]) <= 900


async def test_an_untrusted_peer_is_counted_as_itself_whatever_x_forwarded_for_says(
    system, untrusting_gateway, from_own_address
):
    for _ in range(ADDRESS_FAILURES):
        response = await failed_login(from_own_address, untrusting_gateway, client_address())
        assert response.status_code == 401, response.text

    # every failure was the peer's: its address is locked, whichever client it names next
    assert_locked(await failed_login(from_own_address, untrusting_gateway, client_address()))
    # and the system's gateway, which trusts only 127.0.0.1, sees the same address
    assert_locked(await failed_login(from_own_address, system.gateway_url, client_address()))


async def test_a_trusted_proxy_counts_each_forwarded_client_on_its_own(system):
    # From 127.0.0.1, which the system's gateway trusts (VM_FORWARDED_ALLOW_IPS' default).
    async with httpx.AsyncClient(timeout=30) as proxy:
        for _ in range(ADDRESS_FAILURES + 1):
            response = await failed_login(proxy, system.gateway_url, client_address())
            assert response.status_code == 401, response.text
