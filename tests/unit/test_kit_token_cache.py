"""TokenVerifier remembers verified tokens until they expire, and no longer than that."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.kit import auth
from services.kit.auth import TokenVerifier
from services.kit.errors import Unauthenticated, Unavailable
from tests.unit.test_kit_auth import AUDIENCE, ISSUER, KID, KeySource, public_pem


def token_for(key: Ed25519PrivateKey, *, expires_in: int, kid: str = KID) -> str:
    now = int(time.time())
    return jwt.encode(
        {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "usr_1",
            "cid": "cmp_1",
            "sid": "ses_1",
            "iat": now,
            "exp": now + expires_in,
        },
        key,
        algorithm="EdDSA",
        headers={"kid": kid},
    )


async def test_a_verified_token_is_not_verified_again(monkeypatch):
    key = Ed25519PrivateKey.generate()
    verifier = TokenVerifier(KeySource({KID: public_pem(key)}), issuer=ISSUER, audience=AUDIENCE)
    token = token_for(key, expires_in=60)
    first = await verifier.verify(token)
    monkeypatch.setattr(auth.jwt, "decode", lambda *a, **k: pytest.fail("verified twice"))
    assert await verifier.verify(token) is first


async def test_a_remembered_token_still_expires():
    key = Ed25519PrivateKey.generate()
    verifier = TokenVerifier(
        KeySource({KID: public_pem(key)}), issuer=ISSUER, audience=AUDIENCE, leeway_seconds=0
    )
    token = token_for(key, expires_in=1)
    await verifier.verify(token)
    await asyncio.sleep(1.5)
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)


async def test_withdrawing_a_key_forgets_its_tokens():
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    source = KeySource({KID: public_pem(old)})
    verifier = TokenVerifier(source, issuer=ISSUER, audience=AUDIENCE, refresh_interval=0)
    token = token_for(old, expires_in=60)
    await verifier.verify(token)
    source.keys = {"key-2": public_pem(new)}
    await verifier.verify(token_for(new, expires_in=60, kid="key-2"))  # refreshes the keys
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)


async def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(auth, "VERIFIED_CACHE_SIZE", 3)
    key = Ed25519PrivateKey.generate()
    verifier = TokenVerifier(KeySource({KID: public_pem(key)}), issuer=ISSUER, audience=AUDIENCE)
    for _ in range(10):
        await verifier.verify(token_for(key, expires_in=60 + _))
    assert len(verifier._verified) == 3


async def test_a_failed_key_fetch_is_not_repeated_at_once():
    calls = 0

    async def identity_down() -> dict[str, str]:
        nonlocal calls
        calls += 1
        raise Unavailable("identity did not give its signing keys")

    verifier = TokenVerifier(identity_down, issuer=ISSUER, audience=AUDIENCE)
    token = token_for(Ed25519PrivateKey.generate(), expires_in=60)
    for _ in range(5):
        with pytest.raises(Unavailable):
            await verifier.verify(token)
    assert calls == 1
