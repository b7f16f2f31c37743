"""The gateway's rate limits through REST: a user past its limit gets 429 problem+json
`rate_limited` with `Retry-After` and the RateLimit headers, while another user, an API key
and anonymous calls (from the same client address, too) keep their own allowances; and
after `Retry-After` the user is served again.

The system's gateway runs with limits far above what tests send; this file starts a second
gateway of its own, on the same services, with low ones.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.e2e.conftest import client_address
from tests.e2e.test_identity_api_keys import key_bearer, new_key
from tests.e2e.test_identity_flows import bearer, register
from tests.e2e.test_identity_users_roles import create_user, login_as
from tests.support.system import RunningSystem, start_gateway

pytestmark = pytest.mark.e2e

WINDOW_SECONDS = 4
USER_LIMIT = 5
API_KEY_LIMIT = 7
ANONYMOUS_LIMIT = 50
LIMITS = {
    "VM_RATE_LIMIT_USER": f"{USER_LIMIT} per {WINDOW_SECONDS} seconds",
    "VM_RATE_LIMIT_API_KEY": f"{API_KEY_LIMIT} per {WINDOW_SECONDS} seconds",
    "VM_RATE_LIMIT_ANONYMOUS": f"{ANONYMOUS_LIMIT} per {WINDOW_SECONDS} seconds",
}


@pytest.fixture(scope="module")
def limited_gateway(system: RunningSystem) -> Iterator[str]:
    yield from start_gateway(system, "gateway-rate-limited", LIMITS)


@pytest.fixture
async def limited(limited_gateway: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the limited gateway, from a client address of its own."""
    async with httpx.AsyncClient(
        base_url=limited_gateway, timeout=30, headers={"x-forwarded-for": client_address()}
    ) as client:
        yield client


async def at_the_start_of_a_window() -> None:
    """Wait until a fixed window has just begun, so that a burst falls in one window and
    the sliding count is exact (the windows are aligned on the epoch)."""
    into_window = time.time() % WINDOW_SECONDS
    if into_window > 0.3:
        await asyncio.sleep(WINDOW_SECONDS - into_window + 0.01)


def assert_limit_headers(response: httpx.Response, limit: int) -> int:
    assert response.headers["ratelimit-limit"] == str(limit)
    assert response.headers["ratelimit-policy"] == f"{limit};w={WINDOW_SECONDS}"
    assert 0 <= int(response.headers["ratelimit-reset"]) <= 2 * WINDOW_SECONDS
    return int(response.headers["ratelimit-remaining"])


async def test_a_user_past_its_limit_gets_429_until_it_resets_and_no_one_else_does(
    api, company, limited
):
    tokens = await register(api, company)
    admin = bearer(tokens)
    colleague = await login_as(api, (await create_user(api, admin, roles=["viewer"]))["login"])
    key = key_bearer((await new_key(api, tokens))["key"])
    # The key's first call also has this gateway fetch identity's signing keys.
    first_key_call = await limited.get("/api/v1/me", headers=key)
    assert first_key_call.status_code == 200, first_key_call.text

    await at_the_start_of_a_window()
    served = [await limited.get("/api/v1/me", headers=admin) for _ in range(USER_LIMIT)]
    assert [r.status_code for r in served] == [200] * USER_LIMIT, served[-1].text
    remaining = [assert_limit_headers(r, USER_LIMIT) for r in served]
    assert remaining == list(range(USER_LIMIT - 1, -1, -1))

    refused = await limited.get("/api/v1/me", headers=admin)
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    assert refused.json()["status"] == 429
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= WINDOW_SECONDS
    assert assert_limit_headers(refused, USER_LIMIT) == 0
    assert refused.headers["x-request-id"]

    # Another user, an API key of the same company, and a call without a credential from
    # the same client address: each has its own allowance.
    other = await limited.get("/api/v1/me", headers=colleague)
    assert other.status_code == 200, other.text
    assert assert_limit_headers(other, USER_LIMIT) == USER_LIMIT - 1
    by_key = await limited.get("/api/v1/me", headers=key)
    assert by_key.status_code == 200, by_key.text
    assert assert_limit_headers(by_key, API_KEY_LIMIT) < API_KEY_LIMIT
    anonymous = await limited.get("/api/v1/me")
    assert anonymous.status_code == 401, anonymous.text
    assert assert_limit_headers(anonymous, ANONYMOUS_LIMIT) < ANONYMOUS_LIMIT

    # Health and the API's description are never limited.
    for path in ("/readyz", "/healthz", "/openapi.json"):
        response = await limited.get(path, headers=admin)
        assert response.status_code == 200, (path, response.text)
        assert "ratelimit-limit" not in response.headers

    await asyncio.sleep(retry_after)
    again = await limited.get("/api/v1/me", headers=admin)
    assert again.status_code == 200, again.text
    assert assert_limit_headers(again, USER_LIMIT) >= 0
