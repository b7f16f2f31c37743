"""API keys against identity running in this process: the exchange for an access token,
what such a token may do at identity, and the gateway's cache of exchanged tokens."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import grpc
import pytest

from gateway.api_key_tokens import ApiKeyTokens, key_digest
from services.identity import domain
from services.identity.domain import ApiKey, Assignment
from services.identity.store.api_keys import ApiKeyStore
from services.kit.auth import TokenVerifier
from services.kit.errors import Unauthenticated, read_remote_error
from tests.support.servers import namespace
from vm.identity.v1 import (
    api_keys_pb2,
    api_keys_pb2_grpc,
    profile_pb2,
    profile_pb2_grpc,
    trust_pb2,
    trust_pb2_grpc,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def keys_stub(channel) -> api_keys_pb2_grpc.ApiKeyServiceStub:
    return api_keys_pb2_grpc.ApiKeyServiceStub(channel)


@pytest.fixture
def store(identity) -> ApiKeyStore:
    return ApiKeyStore(identity.db)


async def stored_key(store: ApiKeyStore, role_id: str = "viewer") -> tuple[ApiKey, str]:
    """A key as CreateApiKey stores it, for a company of this test alone."""
    api_key, key = domain.new_api_key(
        company_id=f"cmp_{namespace()}",
        name="Интеграция",
        assignment=Assignment(role_id),
        created_by="usr_test",
        now=datetime.now(UTC),
    )
    await store.insert(api_key)
    return api_key, key


async def revoke(store: ApiKeyStore, api_key: ApiKey) -> None:
    assert await store.revoke(domain.revoked_api_key(api_key, datetime.now(UTC)))


async def exchange(stub, key: str) -> api_keys_pb2.ExchangeApiKeyResponse:
    return await stub.ExchangeApiKey(api_keys_pb2.ExchangeApiKeyRequest(key=key))


async def remote_error(call) -> object:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return read_remote_error(raised.value)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


# ---------------------------------------------------------------- the exchange


async def test_a_key_is_exchanged_without_credentials_for_a_token_naming_the_key(
    identity, keys_stub, store, module_settings
):
    api_key, key = await stored_key(store)

    answer = await exchange(keys_stub, key)

    async def own_keys() -> dict[str, str]:
        return {doc["_id"]: doc["public_pem"] async for doc in identity.db["signing_keys"].find()}

    verifier = TokenVerifier(
        own_keys, issuer=module_settings.jwt_issuer, audience=module_settings.jwt_audience
    )
    claims = await verifier.verify(answer.access_token)
    assert (claims.kind, claims.user_id, claims.company_id) == (
        "api_key",
        api_key.id,
        api_key.company_id,
    )
    assert answer.expires_in == domain.API_KEY_TOKEN_TTL_SECONDS
    used = await store.get(api_key.company_id, api_key.id)
    assert used is not None and used.last_used_at is not None


async def test_a_wrong_secret_a_malformed_key_and_a_revoked_key_are_unauthenticated(
    keys_stub, store
):
    api_key, key = await stored_key(store)
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for presented in (forged, "vmk_nonsense", ""):
        error = await remote_error(exchange(keys_stub, presented))
        assert error.code == grpc.StatusCode.UNAUTHENTICATED, presented

    await revoke(store, api_key)
    error = await remote_error(exchange(keys_stub, key))
    assert error.code == grpc.StatusCode.UNAUTHENTICATED


async def test_a_key_token_has_the_keys_access_until_the_key_is_revoked(channel, keys_stub, store):
    api_key, key = await stored_key(store, "accountant")
    token = (await exchange(keys_stub, key)).access_token
    trust = trust_pb2_grpc.TrustServiceStub(channel)

    access = await trust.GetCallerAccess(trust_pb2.GetCallerAccessRequest(), metadata=bearer(token))
    assert access.company_id == api_key.company_id
    assert [s.node_id for s in access.scopes] == [""]
    assert set(access.scopes[0].permissions) == domain.PRESET_ROLES["accountant"].permissions

    await revoke(store, api_key)
    # The token has not expired, yet identity refuses it at once.
    error = await remote_error(
        trust.GetCallerAccess(trust_pb2.GetCallerAccessRequest(), metadata=bearer(token))
    )
    assert error.code == grpc.StatusCode.UNAUTHENTICATED


async def test_a_key_cannot_use_a_persons_functions(channel, keys_stub, store):
    _, key = await stored_key(store, "global_admin")
    token = (await exchange(keys_stub, key)).access_token
    profile = profile_pb2_grpc.ProfileServiceStub(channel)

    error = await remote_error(
        profile.ChangePassword(
            profile_pb2.ChangePasswordRequest(
                current_password="Anything-1", new_password="Something-else-2"
            ),
            metadata=bearer(token),
        )
    )

    assert error.code == grpc.StatusCode.PERMISSION_DENIED


# ---------------------------------------------------------------- the gateway's cache


async def test_the_gateway_reuses_a_token_for_its_period_then_asks_again(keys_stub, store):
    api_key, key = await stored_key(store)
    tokens = ApiKeyTokens(keys_stub, ttl_seconds=1.0)

    first = await tokens.token_for(key)
    await revoke(store, api_key)
    # Within the period the gateway does not ask identity: the revoked key still passes.
    assert await tokens.token_for(key) == first

    await asyncio.sleep(1.2)
    with pytest.raises(Unauthenticated):
        await tokens.token_for(key)


async def test_the_gateway_cache_is_bounded_and_keeps_no_key(keys_stub, store):
    tokens = ApiKeyTokens(keys_stub, ttl_seconds=30, max_entries=2)
    presented = [(await stored_key(store))[1] for _ in range(3)]

    for key in presented:
        await tokens.token_for(key)

    assert len(tokens) == 2
    kept = set(tokens._tokens.keys())
    assert kept == {key_digest(presented[1]), key_digest(presented[2])}
    assert not kept & set(presented)


async def test_concurrent_first_requests_share_one_exchange(keys_stub, store):
    _, key = await stored_key(store)
    tokens = ApiKeyTokens(keys_stub, ttl_seconds=30)

    answers = await asyncio.gather(*(tokens.token_for(key) for _ in range(10)))

    # Each exchange signs a token with its own `jti`: one token means one exchange.
    assert len(set(answers)) == 1


async def test_a_refused_key_is_not_cached(keys_stub, store):
    api_key, key = await stored_key(store)
    await revoke(store, api_key)
    tokens = ApiKeyTokens(keys_stub, ttl_seconds=30)

    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await tokens.token_for(key)
    assert len(tokens) == 0
