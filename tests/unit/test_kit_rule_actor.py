"""A user's token acting for an automation rule (the `act` claim, RFC 8693): verified as
the user's, with the rule on the caller, and every event it causes says a rule did."""

from __future__ import annotations

import contextvars

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.kit.auth import CallerAuthenticator, TokenVerifier
from services.kit.context import Caller, caller_var
from services.kit.errors import Unauthenticated
from services.kit.events import decode_event, encode_event, new_event
from tests.unit.test_kit_auth import (
    AUDIENCE,
    ISSUER,
    KID,
    OPERATOR_TOKEN,
    KeySource,
    claims,
    public_pem,
    sign,
)

RULE_ACT = {"sub": "rul_1", "knd": "rule"}


@pytest.fixture(scope="module")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def verifier(signing_key) -> TokenVerifier:
    source = KeySource({KID: public_pem(signing_key)})
    return TokenVerifier(source, issuer=ISSUER, audience=AUDIENCE, refresh_interval=60)


async def test_a_rule_token_is_the_users_caller_acting_for_the_rule(verifier, signing_key):
    token = sign(signing_key, claims(act=RULE_ACT, knd="user"))
    caller = await CallerAuthenticator(verifier, OPERATOR_TOKEN).authenticate(f"Bearer {token}")
    assert (caller.kind, caller.user_id, caller.company_id) == ("user", "usr_1", "cmp_1")
    assert caller.rule_id == "rul_1"
    assert caller.is_company and caller.is_user
    assert caller.actor_kind == "rule"


async def test_a_token_without_an_actor_acts_for_nobody(verifier, signing_key):
    claims_seen = await verifier.verify(sign(signing_key, claims()))
    assert claims_seen.rule_id is None
    assert Caller(kind="user", user_id="usr_1").actor_kind == "user"


@pytest.mark.parametrize(
    "act",
    [
        {"sub": "rul_1"},  # no kind: an actor we do not know
        {"sub": "rul_1", "knd": "person"},
        {"sub": "", "knd": "rule"},
        {"knd": "rule"},
        "rul_1",
    ],
)
async def test_an_actor_we_do_not_know_makes_the_token_invalid(verifier, signing_key, act):
    with pytest.raises(Unauthenticated):
        await verifier.verify(sign(signing_key, claims(act=act)))


async def test_an_api_key_token_never_acts_for_a_rule(verifier, signing_key):
    with pytest.raises(Unauthenticated):
        await verifier.verify(sign(signing_key, claims(act=RULE_ACT, knd="api_key")))


def test_the_events_a_rule_causes_name_its_owner_and_the_kind_rule():
    caller = Caller(kind="user", company_id="cmp_1", user_id="usr_7", rule_id="rul_1")

    def make():
        caller_var.set(caller)
        return new_event("vm.test.thing.happened.v1", {}, source="/t", company_id="cmp_1")

    event = decode_event(encode_event(contextvars.Context().run(make)))
    assert (event.actor, event.actor_kind) == ("usr_7", "rule")
