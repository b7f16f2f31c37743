"""API keys' rules (format, digest, validation, revocation, no escalation) and the token an
exchange gives: signed by identity's issuer, verified by the kit like a user's token."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.identity import domain
from services.identity.domain import PRESET_ROLES, ApiKey, Assignment
from services.identity.tokens import TokenIssuer
from services.kit.auth import API_KEY_PREFIX, CallerAuthenticator, TokenVerifier
from services.kit.authz import Access
from services.kit.errors import (
    InvalidArgument,
    NotAllowed,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def new_key(**overrides) -> tuple[ApiKey, str]:
    fields = {
        "company_id": "cmp_1",
        "name": "Выгрузка в 1С",
        "assignment": Assignment("viewer"),
        "created_by": "usr_1",
        "now": NOW,
        **overrides,
    }
    return domain.new_api_key(**fields)


def node_path(node_id: str) -> tuple[str, ...]:
    return (node_id,)


# ---------------------------------------------------------------- format and digest


def test_a_key_reads_vmk_then_its_id_then_a_long_secret():
    api_key, key = new_key()

    key_id, secret = domain.split_api_key(key)

    assert key.startswith(API_KEY_PREFIX) and key == f"vmk_{api_key.id}_{secret}"
    assert key_id == api_key.id and key_id.startswith("apk_")
    assert len(secret) >= 43  # 256 random bits


def test_only_the_digest_of_the_secret_and_a_short_prefix_are_kept():
    api_key, key = new_key()
    _, secret = domain.split_api_key(key)

    assert api_key.secret_digest == hashlib.sha256(secret.encode()).hexdigest()
    assert api_key.prefix == key[:16] and secret not in api_key.prefix
    kept = " ".join(str(v) for v in dataclasses.asdict(api_key).values())
    assert secret not in kept and key not in kept


def test_every_key_is_new():
    keys = [new_key() for _ in range(20)]
    assert len({key for _, key in keys}) == 20
    assert len({api_key.id for api_key, _ in keys}) == 20


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "vmk_",
        "vmk_apk_0123456789abcdef01234567",
        "vmk_apk_0123456789abcdef01234567_",
        "vmk_apk_0123456789abcdef01234567_short",
        "vmk_apk_XYZ3456789abcdef01234567_" + "a" * 43,
        "vmx_apk_0123456789abcdef01234567_" + "a" * 43,
        "vmk_apk_0123456789abcdef01234567_" + "a" * 44,
        "vmk_apk_0123456789abcdef01234567_" + "a" * 42 + "!",
        "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c3IifQ.c2ln",
    ],
)
def test_anything_not_shaped_like_a_key_is_unauthenticated(presented):
    with pytest.raises(Unauthenticated):
        domain.split_api_key(presented)


def test_the_right_secret_opens_the_key_and_a_wrong_one_does_not():
    api_key, key = new_key()
    _, secret = domain.split_api_key(key)
    _, other = domain.split_api_key(new_key()[1])

    api_key.check_secret(secret)
    with pytest.raises(Unauthenticated):
        api_key.check_secret(other)


def test_a_revoked_key_is_refused_even_with_the_right_secret():
    api_key, key = new_key()
    _, secret = domain.split_api_key(key)

    revoked = domain.revoked_api_key(api_key, NOW)

    assert revoked.revoked_at == NOW and not api_key.revoked
    with pytest.raises(Unauthenticated, match="revoked"):
        revoked.check_secret(secret)
    with pytest.raises(Unauthenticated):
        revoked.ensure_active()


def test_revoking_twice_finds_no_key():
    revoked = domain.revoked_api_key(new_key()[0], NOW)
    with pytest.raises(NotFound):
        domain.revoked_api_key(revoked, NOW)


# ---------------------------------------------------------------- validation


def test_the_name_is_trimmed_and_its_spaces_collapsed():
    assert domain.checked_api_key_name("  Выгрузка   в 1С ") == "Выгрузка в 1С"
    assert new_key(name=" CRM ")[0].name == "CRM"


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_name_of_1_to_100_characters_is_needed(name):
    with pytest.raises(InvalidArgument) as raised:
        domain.checked_api_key_name(name)
    assert set(raised.value.fields) == {"name"}


def test_a_key_assignment_error_names_the_plain_fields():
    # an unknown role or node is 404 `not_found` (it was 422), still naming the fields
    with pytest.raises(NotFound) as raised:
        domain.checked_assignments(
            [Assignment("no_such_role", "node_unknown")], PRESET_ROLES, frozenset()
        )

    error = domain.key_assignment_error(raised.value)

    assert set(error.fields) == {"role_id", "node_id"}


def test_a_company_has_a_bounded_number_of_active_keys():
    domain.ensure_may_add_api_key(domain.MAX_ACTIVE_API_KEYS - 1)
    with pytest.raises(NotAllowed):
        domain.ensure_may_add_api_key(domain.MAX_ACTIVE_API_KEYS)


# ---------------------------------------------------------------- no escalation


def access(*assignments: Assignment, roles=PRESET_ROLES) -> Access:
    return domain.access_of("cmp_1", assignments, roles)


KEYS_ONLY = domain.Role("rol_keys", "Ключи", frozenset({"api_keys.manage"}), company_id="cmp_1")
STAFF = domain.Role("rol_staff", "Кадры", frozenset({"users.manage"}), company_id="cmp_1")
ROLES = {**PRESET_ROLES, KEYS_ONLY.id: KEYS_ONLY, STAFF.id: STAFF}


def test_a_key_manager_cannot_give_a_key_a_role_they_do_not_hold():
    granter = access(Assignment(KEYS_ONLY.id), roles=ROLES)
    granted = access(Assignment(STAFF.id), roles=ROLES)

    with pytest.raises(PermissionDenied):
        domain.ensure_may_grant(granter, granted, node_path)
    domain.ensure_may_grant(granter, access(Assignment(KEYS_ONLY.id), roles=ROLES), node_path)


def test_a_delegate_cannot_revoke_a_key_that_holds_more_than_they_do():
    delegate = access(Assignment(KEYS_ONLY.id), roles=ROLES)
    admin = access(Assignment("global_admin"))

    with pytest.raises(PermissionDenied):
        domain.ensure_may_revoke_api_key(delegate, access(Assignment("global_admin")), node_path)
    domain.ensure_may_revoke_api_key(admin, access(Assignment("viewer")), node_path)


# ---------------------------------------------------------------- the exchanged token


@pytest.fixture
async def issuer(tmp_path) -> TokenIssuer:
    private_key = Ed25519PrivateKey.generate()
    key_file = tmp_path / "signing.pem"
    key_file.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    # With a key file the issuer never touches its store.
    tokens = TokenIssuer(
        None,  # type: ignore[arg-type]
        issuer="vm-identity",
        audience="vm",
        ttl_seconds=900,
        key_file=str(key_file),
    )
    await tokens.load_keys(NOW)
    return tokens


def verifier_for(tokens: TokenIssuer) -> TokenVerifier:
    async def keys() -> dict[str, str]:
        return tokens.public_keys()

    return TokenVerifier(keys, issuer="vm-identity", audience="vm", leeway_seconds=10**9)


async def test_a_key_token_names_the_key_as_subject_and_session(issuer):
    token = issuer.issue(
        user_id="apk_1",
        company_id="cmp_1",
        session_id="apk_1",
        now=NOW,
        kind="api_key",
        ttl_seconds=domain.API_KEY_TOKEN_TTL_SECONDS,
    )

    claims = await verifier_for(issuer).verify(token)

    assert (claims.kind, claims.user_id, claims.session_id, claims.company_id) == (
        "api_key",
        "apk_1",
        "apk_1",
        "cmp_1",
    )
    raw = jwt.decode(token, options={"verify_signature": False})
    assert raw["knd"] == "api_key"
    assert raw["exp"] - raw["iat"] == domain.API_KEY_TOKEN_TTL_SECONDS


async def test_the_authenticator_makes_a_key_caller_a_company_caller_but_not_a_user(issuer):
    token = issuer.issue(
        user_id="apk_1", company_id="cmp_1", session_id="apk_1", now=NOW, kind="api_key"
    )

    caller = await CallerAuthenticator(verifier_for(issuer), "op").authenticate(f"Bearer {token}")

    assert caller.is_api_key and caller.is_company
    assert not caller.is_user and not caller.is_operator
    assert (caller.company_id, caller.user_id) == ("cmp_1", "apk_1")


async def test_a_user_token_stays_a_user_token(issuer):
    token = issuer.issue(user_id="usr_1", company_id="cmp_1", session_id="ses_1", now=NOW)

    caller = await CallerAuthenticator(verifier_for(issuer), "op").authenticate(f"Bearer {token}")

    assert caller.is_user and caller.is_company and not caller.is_api_key


async def test_a_token_of_an_unknown_kind_is_refused(issuer):
    token = issuer.issue(
        user_id="x",
        company_id="cmp_1",
        session_id="x",
        now=NOW,
        kind="operator",  # type: ignore[arg-type]
    )
    with pytest.raises(Unauthenticated):
        await verifier_for(issuer).verify(token)
