"""Services learn what a caller may do from identity, briefly cached: kit.caller_access."""

from __future__ import annotations

import asyncio

import jwt
import pytest

from services.kit.caller_access import CallerAccessResolver
from services.kit.context import Caller
from services.kit.errors import Unauthenticated
from tests.e2e.test_identity_flows import bearer, register
from tests.e2e.test_identity_users_roles import create_user, login_as

pytestmark = pytest.mark.e2e


def caller_of(headers: dict[str, str]) -> Caller:
    token = headers["authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    return Caller(
        kind="user",
        company_id=claims["cid"],
        user_id=claims["sub"],
        session_id=claims["sid"],
        token=token,
    )


async def test_the_resolver_gives_the_callers_scopes(api, company, identity_channel):
    headers = bearer(await register(api, company))
    resolver = CallerAccessResolver(identity_channel, ttl_seconds=60)

    access = await resolver.access(caller_of(headers))

    assert access.company_id == company.id
    assert access.allows("users.manage")
    assert access.allows("numbers.sms", ("any-node",))


async def test_concurrent_first_requests_share_one_answer(api, company, identity_channel):
    headers = bearer(await register(api, company))
    resolver = CallerAccessResolver(identity_channel, ttl_seconds=60)
    answers = await asyncio.gather(*(resolver.access(caller_of(headers)) for _ in range(20)))
    assert all(a is answers[0] for a in answers)


async def test_a_role_change_shows_after_the_cache_period(api, company, identity_channel):
    admin = bearer(await register(api, company))
    user = await create_user(api, admin, roles=["viewer"])
    caller = caller_of(await login_as(api, user["login"]))
    resolver = CallerAccessResolver(identity_channel, ttl_seconds=0.2)
    assert not (await resolver.access(caller)).allows("finance.transfer")

    await api.put(
        f"/api/v1/users/{user['id']}/assignments", headers=admin, json=[{"role_id": "accountant"}]
    )
    await asyncio.sleep(0.3)

    assert (await resolver.access(caller)).allows("finance.transfer")


async def test_an_ended_session_is_unauthenticated(api, company, identity_channel):
    tokens = await register(api, company)
    caller = caller_of(bearer(tokens))
    resolver = CallerAccessResolver(identity_channel, ttl_seconds=0)
    await api.post(
        "/api/v1/auth/logout",
        headers=bearer(tokens),
        json={"refresh_token": tokens["refresh_token"]},
    )
    with pytest.raises(Unauthenticated):
        await resolver.access(caller)
