"""Who is calling: access-token verification and operator credentials.

Identity signs access tokens with an Ed25519 key and publishes the public halves; every
service (and the gateway) verifies tokens itself with those keys — zero trust, no call to
identity per request. Keys are cached by `kid`; an unknown `kid` refreshes the cache, at
most once per `refresh_interval`, so garbage tokens cannot make us hammer identity.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from services.kit.context import ANONYMOUS, Caller
from services.kit.errors import Unauthenticated, Unavailable

ALGORITHM = "EdDSA"
VERIFIED_CACHE_SIZE = 10_000
FAILED_FETCH_PAUSE_SECONDS = 1.0
OPERATOR_SCHEME = "Operator"
# A company's API key (`vmk_<key id>_<secret>`), presented to the gateway as a bearer
# credential; the gateway exchanges it at identity for an access token.
API_KEY_PREFIX = "vmk_"

# Fetches {kid: public key PEM} of every key that may have signed a live token.
KeySource = Callable[[], Awaitable[Mapping[str, str]]]

SubjectKind = Literal["user", "api_key"]
# The token's `knd` claim; a token without one is a user's (tokens issued before keys).
_SUBJECT_KINDS: dict[str, SubjectKind] = {"user": "user", "api_key": "api_key"}
# The `act` claim (RFC 8693, "actor") of a user's token issued for one of their automation
# rules: {"sub": <rule id>, "knd": "rule"}. The token's subject stays the user.
ACTOR_CLAIM = "act"
RULE_ACTOR = "rule"


@dataclass(frozen=True)
class AccessClaims:
    user_id: str  # the subject: a user's id, or an API key's id
    company_id: str
    session_id: str
    expires_at: int
    kind: SubjectKind = "user"
    rule_id: str | None = None  # the automation rule the token acts for (`act`)


def _acting_rule(claims: Mapping[str, object], kind: SubjectKind) -> str | None:
    """The rule a token acts for, None for a token that acts for nobody else. Only a
    user's token acts for a rule; an actor we do not know makes the token invalid rather
    than be taken for the user themself."""
    actor = claims.get(ACTOR_CLAIM)
    if actor is None:
        return None
    if (
        kind != "user"
        or not isinstance(actor, Mapping)
        or actor.get("knd") != RULE_ACTOR
        or not isinstance(actor.get("sub"), str)
        or not actor["sub"]
    ):
        raise Unauthenticated("the access token is not valid")
    return str(actor["sub"])


class TokenVerifier:
    def __init__(
        self,
        key_source: KeySource,
        *,
        issuer: str,
        audience: str,
        refresh_interval: float = 10.0,
        leeway_seconds: int = 5,
    ) -> None:
        self._key_source = key_source
        self._issuer = issuer
        self._audience = audience
        self._refresh_interval = refresh_interval
        self._leeway = leeway_seconds
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._refreshed_at = 0.0
        self._failed_at = float("-inf")
        self._lock = asyncio.Lock()
        # Tokens already verified, until they expire: a signature check costs more than the
        # rest of a small request. Bounded; forgotten when the set of keys changes.
        self._verified: OrderedDict[str, AccessClaims] = OrderedDict()

    async def verify(self, token: str) -> AccessClaims:
        known = self._verified.get(token)
        if known is not None and known.expires_at + self._leeway > time.time():
            return known
        claims = await self._verify_signed(token)
        self._verified[token] = claims
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return claims

    async def _verify_signed(self, token: str) -> AccessClaims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise Unauthenticated("the access token is malformed") from error
        if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
            raise Unauthenticated("the access token is not signed with a known key")
        key = await self._public_key(header["kid"])
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud", "cid", "sid"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise Unauthenticated("the access token has expired") from error
        except jwt.PyJWTError as error:
            raise Unauthenticated("the access token is not valid") from error
        kind = _SUBJECT_KINDS.get(str(claims.get("knd", "user")))
        if kind is None:
            raise Unauthenticated("the access token is not valid")
        return AccessClaims(
            user_id=str(claims["sub"]),
            company_id=str(claims["cid"]),
            session_id=str(claims["sid"]),
            expires_at=int(claims["exp"]),
            kind=kind,
            rule_id=_acting_rule(claims, kind),
        )

    async def _public_key(self, kid: str) -> Ed25519PublicKey:
        if kid not in self._keys:
            await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise Unauthenticated("the access token is signed with an unknown key")
        return key

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._refreshed_at < self._refresh_interval and self._keys:
                return
            if time.monotonic() - self._failed_at < FAILED_FETCH_PAUSE_SECONDS:
                # Identity just failed to answer: say so at once rather than queueing
                # every waiting request behind another slow attempt.
                raise Unavailable("identity did not give its signing keys; try again shortly")
            try:
                fetched = await self._key_source()
            except Exception:
                self._failed_at = time.monotonic()
                raise
            keys: dict[str, Ed25519PublicKey] = {}
            for kid, pem in fetched.items():
                key = load_pem_public_key(pem.encode())
                if isinstance(key, Ed25519PublicKey):
                    keys[kid] = key
            if not set(self._keys) <= set(keys):
                self._verified.clear()  # a key was withdrawn: its tokens must fail now
            self._keys = keys
            self._refreshed_at = time.monotonic()


class CallerAuthenticator:
    """Turns the `authorization` metadata into a `Caller`: a user or an API key (Bearer
    access token; its `knd` claim says which), the operator (`Operator <token>`), or
    anonymous when there is none."""

    def __init__(self, verifier: TokenVerifier, operator_token: str) -> None:
        self._verifier = verifier
        self._operator_token = operator_token.encode()

    async def authenticate(self, authorization: str | None) -> Caller:
        if not authorization:
            return ANONYMOUS
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme == OPERATOR_SCHEME:
            # Non-empty: with an empty configured token, "Operator" alone must not match.
            if credential and hmac.compare_digest(credential.encode(), self._operator_token):
                return Caller(kind="operator")
            raise Unauthenticated("the operator credential is not valid")
        if scheme.lower() != "bearer" or not credential:
            raise Unauthenticated("the authorization header must be 'Bearer <token>'")
        claims = await self._verifier.verify(credential)
        return Caller(
            kind=claims.kind,
            company_id=claims.company_id,
            user_id=claims.user_id,
            session_id=claims.session_id,
            token=credential,
            rule_id=claims.rule_id,
        )
