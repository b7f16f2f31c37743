"""Login throttling and two-factor login through the REST gateway.

Each `api` client has an address of its own (X-Forwarded-For, trusted from the local
host); `client_at` makes more clients for the tests that need several addresses.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from urllib.parse import parse_qs, unquote, urlparse

import httpx
import pyotp
import pytest

from tests.e2e.conftest import client_address
from tests.e2e.test_identity_flows import PASSWORD, bearer, register

pytestmark = pytest.mark.e2e
WRONG = "Wrong-pass-1"
ClientAt = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def client_at(system) -> ClientAt:
    @asynccontextmanager
    async def make(address: str) -> AsyncIterator[httpx.AsyncClient]:
        async with httpx.AsyncClient(
            base_url=system.gateway_url, timeout=30, headers={"x-forwarded-for": address}
        ) as client:
            yield client

    return make


async def log_in(api: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    return await api.post("/api/v1/auth/login", json={"login": login, "password": password})


def assert_rate_limited(response: httpx.Response) -> int:
    """The Retry-After of a 429 problem."""
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "rate_limited"
    return int(response.headers["retry-after"])


# ---------------------------------------------------------------- throttling


async def test_repeated_wrong_passwords_wait_longer_each_time_then_the_right_one_works(
    api, company, client_at
):
    await register(api, company)
    login = company.main_number
    for _ in range(3):
        assert (await log_in(api, login, WRONG)).status_code == 401

    # the 3rd failure starts a 1-second delay, for the right password too, from anywhere
    assert assert_rate_limited(await log_in(api, login, PASSWORD)) == 1
    async with client_at(client_address()) as elsewhere:
        assert assert_rate_limited(await log_in(elsewhere, login, PASSWORD)) == 1

    await asyncio.sleep(1.1)
    assert (await log_in(api, login, WRONG)).status_code == 401
    retry_after = assert_rate_limited(await log_in(api, login, WRONG))
    assert retry_after == 2  # doubled

    await asyncio.sleep(retry_after + 0.1)
    assert (await log_in(api, login, PASSWORD)).status_code == 200
    # a success starts the count again: a wrong password is a plain 401
    assert (await log_in(api, login, WRONG)).status_code == 401


async def test_the_right_password_gets_in_from_an_address_it_signed_in_from_while_the_login_waits(
    api, company, client_at
):
    await register(api, company)
    login = company.main_number
    assert (await log_in(api, login, PASSWORD)).status_code == 200  # api's address: known
    async with client_at(client_address()) as attacker:
        for _ in range(3):
            assert (await log_in(attacker, login, WRONG)).status_code == 401
        assert_rate_limited(await log_in(attacker, login, PASSWORD))

    # the user is not locked out of their usual place by someone else's failures
    response = await log_in(api, login, PASSWORD)
    assert response.status_code == 200, response.text
    # but a wrong password from there is still a failure like any other
    assert (await log_in(api, login, WRONG)).status_code == 401


async def test_an_address_with_twenty_failures_is_locked_for_fifteen_minutes(
    api, company, client_at
):
    await register(api, company)
    async with client_at(client_address()) as sprayer:
        for _ in range(20):  # a guess for each of many logins: no login's delay applies
            guess = await log_in(sprayer, f"someone.{secrets.token_hex(4)}", WRONG)
            assert guess.status_code == 401, guess.text

        locked = await log_in(sprayer, company.main_number, PASSWORD)
        assert 890 <= assert_rate_limited(locked) <= 900
        assert_rate_limited(await log_in(sprayer, f"other.{secrets.token_hex(4)}", WRONG))

    # only that address: the user logs in from elsewhere
    assert (await log_in(api, company.main_number, PASSWORD)).status_code == 200


# ---------------------------------------------------------------- two-factor login


async def enrol(api: httpx.AsyncClient, headers: dict[str, str]) -> pyotp.TOTP:
    started = await api.post("/api/v1/me/2fa", headers=headers)
    assert started.status_code == 200, started.text
    return pyotp.TOTP(started.json()["secret"])


def wrong_code(app: pyotp.TOTP) -> str:
    """A code that no step within the drift has."""
    taken = {app.at(time.time() + k * 30) for k in (-1, 0, 1, 2)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in taken)


def next_code(app: pyotp.TOTP) -> str:
    """The next time step's code: accepted (one step of drift) and not used yet."""
    return app.at(time.time() + 30)


async def complete(api: httpx.AsyncClient, mfa_token: str, code: str) -> httpx.Response:
    return await api.post("/api/v1/auth/login/mfa", json={"mfa_token": mfa_token, "code": code})


async def mfa_token(api: httpx.AsyncClient, login: str) -> str:
    response = await log_in(api, login, PASSWORD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mfa_required"] is True and "access_token" not in body
    return body["mfa_token"]


def assert_wrong_code(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_failed"
    assert [e["field"] for e in response.json()["errors"]] == ["code"]


async def test_enrolment_then_login_needs_a_code_and_a_code_works_once(api, company, system):
    headers = bearer(await register(api, company))
    started = await api.post("/api/v1/me/2fa", headers=headers)
    assert started.status_code == 200, started.text
    secret, uri = started.json()["secret"], urlparse(started.json()["otpauth_uri"])
    assert uri.scheme == "otpauth" and parse_qs(uri.query)["secret"] == [secret]
    assert unquote(uri.path) == f"/Виртуальный менеджер:{company.main_number}"
    app = pyotp.TOTP(secret)

    assert_wrong_code(
        await api.post("/api/v1/me/2fa/confirm", headers=headers, json={"code": "12345x"})
    )
    me = (await api.get("/api/v1/me", headers=headers)).json()
    assert me["user"]["two_factor_enabled"] is False  # not before a code confirms it
    confirm_code = app.now()
    confirmed = await api.post(
        "/api/v1/me/2fa/confirm", headers=headers, json={"code": confirm_code}
    )
    assert confirmed.status_code == 204, confirmed.text
    me = await api.get("/api/v1/me", headers=headers)
    assert me.json()["user"]["two_factor_enabled"] is True
    assert secret not in me.text

    token = await mfa_token(api, company.main_number)
    assert secret not in token
    assert_wrong_code(await complete(api, token, wrong_code(app)))
    assert_wrong_code(await complete(api, token, confirm_code))  # replayed: used to confirm
    used = next_code(app)
    tokens = await complete(api, token, used)
    assert tokens.status_code == 200, tokens.text
    assert (await api.get("/api/v1/me", headers=bearer(tokens.json()))).status_code == 200

    again = await complete(api, token, next_code(app))
    assert again.status_code == 401  # an MFA token is used once
    assert again.json()["code"] == "unauthenticated"
    assert_wrong_code(await complete(api, await mfa_token(api, company.main_number), used))
    for process in ("identity", "gateway"):
        assert secret not in system.log(process)
        assert token not in system.log(process)


async def test_an_mfa_token_takes_five_codes_at_most_and_wrong_codes_count_as_failures(
    api, company
):
    headers = bearer(await register(api, company))
    app = await enrol(api, headers)
    await api.post("/api/v1/me/2fa/confirm", headers=headers, json={"code": app.now()})
    token = await mfa_token(api, company.main_number)

    for _ in range(5):
        assert_wrong_code(await complete(api, token, "12345"))
    spent = await complete(api, token, next_code(app))
    assert spent.status_code == 401, spent.text
    # the password was right, but five wrong codes after it slow the login down
    assert_rate_limited(await log_in(api, company.main_number, PASSWORD))


async def test_an_unknown_mfa_token_is_401(api):
    response = await complete(api, "mfa_" + secrets.token_urlsafe(32), "123456")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


async def test_turning_two_factor_off_needs_a_current_code(api, company):
    headers = bearer(await register(api, company))
    app = await enrol(api, headers)
    confirm_code = app.now()
    await api.post("/api/v1/me/2fa/confirm", headers=headers, json={"code": confirm_code})

    no_code = await api.delete("/api/v1/me/2fa", headers=headers)
    assert no_code.status_code == 422
    assert [e["field"] for e in no_code.json()["errors"]] == ["code"]
    assert_wrong_code(
        await api.request(
            "DELETE", "/api/v1/me/2fa", headers=headers, json={"code": wrong_code(app)}
        )
    )
    assert_wrong_code(
        await api.delete("/api/v1/me/2fa", headers=headers, params={"code": confirm_code})
    )
    off = await api.delete("/api/v1/me/2fa", headers=headers, params={"code": next_code(app)})
    assert off.status_code == 204, off.text

    me = (await api.get("/api/v1/me", headers=headers)).json()
    assert me["user"]["two_factor_enabled"] is False
    response = await log_in(api, company.main_number, PASSWORD)
    assert response.status_code == 200 and "access_token" in response.json()
    off_again = await api.request(
        "DELETE", "/api/v1/me/2fa", headers=headers, json={"code": next_code(app)}
    )
    assert off_again.status_code == 409  # it is off already


async def test_enrolling_twice_while_on_is_refused(api, company):
    headers = bearer(await register(api, company))
    app = await enrol(api, headers)
    await api.post("/api/v1/me/2fa/confirm", headers=headers, json={"code": app.now()})

    again = await api.post("/api/v1/me/2fa", headers=headers)

    assert again.status_code == 409
    assert again.json()["reason"] == "two_factor_already_enabled"
