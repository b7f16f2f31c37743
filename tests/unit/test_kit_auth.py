"""services/kit/auth.py: access-token verification and the caller behind a credential."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.kit.auth import AccessClaims, CallerAuthenticator, TokenVerifier
from services.kit.context import ANONYMOUS
from services.kit.errors import Unauthenticated

ISSUER = "vm-identity"
AUDIENCE = "vm"
KID = "key-1"
OPERATOR_TOKEN = "operator-secret-for-tests"


def public_pem(private_key: Ed25519PrivateKey) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class KeySource:
    """A real key source (identity's published keys) that counts how often it is asked."""

    def __init__(self, keys: dict[str, str]) -> None:
        self.keys = dict(keys)
        self.calls = 0

    async def __call__(self) -> dict[str, str]:
        self.calls += 1
        return dict(self.keys)


@pytest.fixture(scope="module")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def source(signing_key) -> KeySource:
    return KeySource({KID: public_pem(signing_key)})


@pytest.fixture
def verifier(source) -> TokenVerifier:
    return TokenVerifier(source, issuer=ISSUER, audience=AUDIENCE, refresh_interval=60)


def claims(**overrides) -> dict:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "usr_1",
        "cid": "cmp_1",
        "sid": "ses_1",
        "iat": now,
        "exp": now + 900,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: Ed25519PrivateKey, payload: dict, *, kid: object = KID) -> str:
    headers = {} if kid is None else {"kid": kid}
    return jwt.encode(payload, key, algorithm="EdDSA", headers=headers)


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def hand_signed(key: Ed25519PrivateKey, header: dict, payload: dict) -> str:
    """A correctly signed token whose header PyJWT itself would refuse to write."""
    signing_input = f"{b64(header)}.{b64(payload)}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


async def test_a_hand_signed_token_is_accepted_so_the_helper_signs_correctly(verifier, signing_key):
    token = hand_signed(signing_key, {"alg": "EdDSA", "kid": KID}, claims())
    assert (await verifier.verify(token)).session_id == "ses_1"


async def test_a_good_token_gives_its_claims(verifier, signing_key):
    payload = claims()

    result = await verifier.verify(sign(signing_key, payload))

    assert result == AccessClaims(
        user_id="usr_1", company_id="cmp_1", session_id="ses_1", expires_at=payload["exp"]
    )


async def test_a_token_expired_within_the_leeway_is_still_accepted(verifier, signing_key):
    token = sign(signing_key, claims(exp=int(time.time()) - 2))
    assert (await verifier.verify(token)).user_id == "usr_1"


def unsigned_token() -> str:
    return f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': KID})}.{b64(claims())}."


def hs256_token() -> str:
    # The classic confusion: HMAC "signed" with the public key as the secret.
    return jwt.encode(
        claims(), "a-shared-secret-of-32-bytes-long!", algorithm="HS256", headers={"kid": KID}
    )


BAD_TOKENS = {
    "alg none": lambda key, other: unsigned_token(),
    "alg none, signature kept": lambda key, other: (
        f"{b64({'alg': 'none', 'kid': KID})}.{sign(key, claims()).split('.', 1)[1]}"
    ),
    "alg EdDSA, no signature": lambda key, other: sign(key, claims()).rsplit(".", 1)[0] + ".",
    "HS256": lambda key, other: hs256_token(),
    "another key, same kid": lambda key, other: sign(other, claims()),
    "claims changed after signing": lambda key, other: (
        lambda header, _payload, signature: f"{header}.{b64(claims(cid='cmp_2'))}.{signature}"
    )(*sign(key, claims()).split(".")),
    "wrong audience": lambda key, other: sign(key, claims(aud="someone-else")),
    "wrong issuer": lambda key, other: sign(key, claims(iss="evil")),
    "expired": lambda key, other: sign(key, claims(exp=int(time.time()) - 60)),
    "issued in the future": lambda key, other: sign(key, claims(iat=int(time.time()) + 3600)),
    "missing kid": lambda key, other: sign(key, claims(), kid=None),
    "kid not a string": lambda key, other: hand_signed(key, {"alg": "EdDSA", "kid": 1}, claims()),
    "unknown kid": lambda key, other: sign(key, claims(), kid="key-2"),
    "missing cid": lambda key, other: sign(key, claims(cid=None)),
    "missing sid": lambda key, other: sign(key, claims(sid=None)),
    "missing sub": lambda key, other: sign(key, claims(sub=None)),
    "missing exp": lambda key, other: sign(key, claims(exp=None)),
    "missing iat": lambda key, other: sign(key, claims(iat=None)),
    "missing aud": lambda key, other: sign(key, claims(aud=None)),
    "missing iss": lambda key, other: sign(key, claims(iss=None)),
    "empty": lambda key, other: "",
    "garbage": lambda key, other: "not-a-token",
    "two parts": lambda key, other: "a.b",
    "header not json": lambda key, other: "bm90IGpzb24.e30.",
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
async def test_a_bad_token_is_unauthenticated(verifier, signing_key, case):
    token = BAD_TOKENS[case](signing_key, Ed25519PrivateKey.generate())

    with pytest.raises(Unauthenticated):
        await verifier.verify(token)


async def test_an_unknown_kid_refetches_at_most_once_per_refresh_interval(signing_key):
    source = KeySource({KID: public_pem(signing_key)})
    verifier = TokenVerifier(source, issuer=ISSUER, audience=AUDIENCE, refresh_interval=0.3)
    await verifier.verify(sign(signing_key, claims()))
    assert source.calls == 1

    unknown = sign(signing_key, claims(), kid="no-such-key")
    for _ in range(20):
        with pytest.raises(Unauthenticated):
            await verifier.verify(unknown)
    results = await asyncio.gather(
        *(verifier.verify(unknown) for _ in range(20)), return_exceptions=True
    )
    assert all(isinstance(r, Unauthenticated) for r in results)
    assert source.calls == 1

    await asyncio.sleep(0.35)
    for _ in range(10):
        with pytest.raises(Unauthenticated):
            await verifier.verify(unknown)
    assert source.calls == 2


async def test_concurrent_first_calls_fetch_the_keys_once(source, verifier, signing_key):
    token = sign(signing_key, claims())

    results = await asyncio.gather(*(verifier.verify(token) for _ in range(25)))

    assert {r.user_id for r in results} == {"usr_1"}
    assert source.calls == 1


async def test_a_rotated_key_is_picked_up_after_the_refresh_interval(signing_key):
    source = KeySource({KID: public_pem(signing_key)})
    verifier = TokenVerifier(source, issuer=ISSUER, audience=AUDIENCE, refresh_interval=0.2)
    await verifier.verify(sign(signing_key, claims()))
    new_key = Ed25519PrivateKey.generate()
    source.keys["key-2"] = public_pem(new_key)
    token = sign(new_key, claims(), kid="key-2")

    await asyncio.sleep(0.25)
    result = await verifier.verify(token)

    assert result.company_id == "cmp_1"
    assert (await verifier.verify(sign(signing_key, claims()))).company_id == "cmp_1"
    assert source.calls == 2


async def test_a_key_that_is_not_ed25519_is_not_used(signing_key):
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP256R1())
    other_pem = (
        other.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    verifier = TokenVerifier(
        KeySource({KID: public_pem(signing_key), "ec": other_pem}),
        issuer=ISSUER,
        audience=AUDIENCE,
    )
    es256 = jwt.encode(claims(), other, algorithm="ES256", headers={"kid": "ec"})

    with pytest.raises(Unauthenticated):
        await verifier.verify(es256)
    assert (await verifier.verify(sign(signing_key, claims()))).user_id == "usr_1"


# ---------------------------------------------------------------- CallerAuthenticator


@pytest.fixture
def authenticator(verifier) -> CallerAuthenticator:
    return CallerAuthenticator(verifier, OPERATOR_TOKEN)


@pytest.mark.parametrize("header", [None, ""])
async def test_no_credential_is_the_anonymous_caller(authenticator, header):
    assert await authenticator.authenticate(header) is ANONYMOUS


async def test_the_operator_credential_gives_the_operator(authenticator):
    caller = await authenticator.authenticate(f"Operator {OPERATOR_TOKEN}")

    assert caller.is_operator and not caller.is_user
    assert caller.company_id is None and caller.user_id is None


@pytest.mark.parametrize(
    "header",
    [
        "Operator wrong-secret",
        f"Operator {OPERATOR_TOKEN}x",
        f"Operator {OPERATOR_TOKEN[:-1]}",
        "Operator ",
        "Operator",
        f"Bearer {OPERATOR_TOKEN}",
        f"operator {OPERATOR_TOKEN}",
    ],
)
async def test_a_wrong_operator_credential_is_unauthenticated(authenticator, header):
    with pytest.raises(Unauthenticated):
        await authenticator.authenticate(header)


@pytest.mark.parametrize("header", ["Operator", "Operator ", "Operator  "])
async def test_an_empty_configured_operator_token_lets_nobody_in(verifier, header):
    # e.g. VM_OPERATOR_TOKEN="" from an unset variable in a manifest
    misconfigured = CallerAuthenticator(verifier, "")

    with pytest.raises(Unauthenticated):
        await misconfigured.authenticate(header)


async def test_a_bearer_token_gives_the_user(authenticator, signing_key):
    token = sign(signing_key, claims())

    caller = await authenticator.authenticate(f"Bearer {token}")

    assert caller.is_user and not caller.is_operator
    assert (caller.company_id, caller.user_id, caller.session_id) == ("cmp_1", "usr_1", "ses_1")
    assert caller.token == token
    assert token not in repr(caller)


async def test_the_bearer_scheme_is_case_insensitive(authenticator, signing_key):
    caller = await authenticator.authenticate(f"bearer {sign(signing_key, claims())}")
    assert caller.is_user


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "Bearer",
        "Bearer ",
        "Bearer not-a-jwt",
        "abc",
    ],
)
async def test_other_schemes_and_bad_bearer_tokens_are_unauthenticated(authenticator, header):
    with pytest.raises(Unauthenticated):
        await authenticator.authenticate(header)


async def test_a_bad_token_behind_bearer_is_unauthenticated(authenticator, signing_key):
    with pytest.raises(Unauthenticated):
        await authenticator.authenticate(f"Bearer {sign(signing_key, claims(aud='x'))}")
