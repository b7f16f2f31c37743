"""Rate limits of the REST API, one allowance per caller: each user and each API key (from
the verified credential) has its own, and an anonymous call (no credential, or one that does
not verify) counts against its client's address, the one uvicorn resolved honouring
`VM_FORWARDED_ALLOW_IPS`. Only `/api/` is limited: health, metrics, the API's docs, the
console's files and the development routes never are. An API key the gateway has not
exchanged lately is first counted against the address too (checking it asks identity), so
that made-up keys cannot flood identity; a known key costs its address nothing.

The limits are `limits` strings (`VM_RATE_LIMIT_USER`, `VM_RATE_LIMIT_API_KEY`,
`VM_RATE_LIMIT_ANONYMOUS`), counted by `limits`' sliding window counter in this process's
memory, so each gateway replica counts on its own. Every limited answer carries the IETF
draft's headers: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds: until
a request fits again when none remains, else until the current window ends and the count
starts to fall) and `RateLimit-Policy` (`600;w=60`). A refused request is 429 problem+json
`rate_limited` with `Retry-After`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import grpc
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.problems import path_routes, problem_response
from services.kit.auth import API_KEY_PREFIX, AccessClaims
from services.kit.errors import DomainError
from services.kit.metrics import RATE_LIMITED
from services.kit.settings import Settings

LIMITED_PREFIX = "/api/"

Kind = Literal["user", "api_key", "address"]


@dataclass(frozen=True)
class Bucket:
    """Whose allowance a request uses: a user's or an API key's id, or a client address."""

    kind: Kind
    key: str


def bucket_for(claims: AccessClaims | None, address: str) -> Bucket:
    """The verified caller's own allowance, else its address's (an anonymous call)."""
    if claims is None:
        return Bucket("address", address or "unknown")
    return Bucket("api_key" if claims.kind == "api_key" else "user", claims.user_id)


@dataclass(frozen=True)
class RateLimits:
    user: RateLimitItem
    api_key: RateLimitItem
    address: RateLimitItem

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits | None:
        """The limits the settings ask for; None when VM_RATE_LIMIT_ENABLED is off."""
        if not settings.rate_limit_enabled:
            return None
        return cls(
            user=parse(settings.rate_limit_user),
            api_key=parse(settings.rate_limit_api_key),
            address=parse(settings.rate_limit_anonymous),
        )

    def of(self, bucket: Bucket) -> RateLimitItem:
        limit: RateLimitItem = getattr(self, bucket.kind)
        return limit


@dataclass(frozen=True)
class Window:
    """A sliding window counter's state just after a request: the count of the previous
    fixed window (weighted by the share of it the sliding window still covers) and of the
    current one, and the seconds left until the current one ends (the previous one's weight
    reaches zero then too)."""

    limit: int
    seconds: int
    previous: int
    current: int
    left: float

    @property
    def remaining(self) -> int:
        used = self.previous * self.left / self.seconds + self.current
        return max(0, self.limit - math.floor(used))

    def seconds_until_one_fits(self) -> float:
        """How long until one more request fits, if none comes meanwhile: a request fits
        while `previous × left / seconds + current < limit`."""
        if self.remaining > 0:
            return 0.0
        room = self.limit - self.current
        if room > 0:  # the previous window's weight falls below what the current one leaves
            return max(0.0, self.left - room * self.seconds / self.previous)
        # Only once the current window ends, its count then the previous one's, falling.
        return self.left + max(0.0, self.seconds * (1 - self.limit / self.current))

    def headers(self) -> dict[str, str]:
        reset = self.seconds_until_one_fits() if self.remaining == 0 else self.left
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(math.ceil(reset)),
            "RateLimit-Policy": f"{self.limit};w={self.seconds}",
        }


def bearer_credential(scope: Scope) -> str:
    """The credential of the request's `Authorization: Bearer ...`, or ""."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            return credential.strip() if scheme.lower() == "bearer" else ""
    return ""


def unknown_api_key(state: Any, credential: str) -> bool:
    """An API key whose access token the gateway does not keep: using it asks identity."""
    backends = getattr(state, "backends", None)
    return (
        credential.startswith(API_KEY_PREFIX)
        and backends is not None
        and not backends.api_key_tokens.known(credential)
    )


async def verified_claims(state: Any, credential: str) -> AccessClaims | None:
    """The claims of a bearer credential that verifies (an API key through the access token
    the gateway gets for it, which the route's own check then finds kept); None for none,
    or for one that does not verify or cannot be verified now."""
    backends = getattr(state, "backends", None)
    if not credential or backends is None:
        return None
    try:
        if credential.startswith(API_KEY_PREFIX):
            credential = await backends.api_key_tokens.token_for(credential)
        claims: AccessClaims = await backends.verifier.verify(credential)
    except (DomainError, grpc.aio.AioRpcError):
        return None  # anonymous here; the route's own check answers for the credential
    return claims


@dataclass(frozen=True)
class Charge:
    """A request counted against a bucket: whether it fits, and the headers that say so."""

    bucket: Bucket
    allowed: bool
    headers: dict[str, str]


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.limits = RateLimits.from_settings(settings)
        self.storage = MemoryStorage()
        self.limiter = SlidingWindowCounterRateLimiter(self.storage)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.limits is None
            or scope["type"] != "http"
            or not scope["path"].startswith(LIMITED_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        client = scope.get("client")
        address = bucket_for(None, client[0] if client else "")
        credential = bearer_credential(scope)
        first: Charge | None = None
        if unknown_api_key(state, credential):
            # Checking a key not seen lately costs identity a call: the address's allowance
            # pays for it first, so that made-up keys cannot flood identity.
            first = await self.charge(self.limits, address)
            if not first.allowed:
                await self.refuse(first, scope, receive, send)
                return
        bucket = bucket_for(await verified_claims(state, credential), address.key)
        if first is not None and first.bucket == bucket:
            charged = first  # a key that did not verify: its address has paid already
        else:
            charged = await self.charge(self.limits, bucket)
        if not charged.allowed:
            await self.refuse(charged, scope, receive, send)
            return
        extra = [(name.lower().encode(), value.encode()) for name, value in charged.headers.items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def charge(self, limits: RateLimits, bucket: Bucket) -> Charge:
        limit = limits.of(bucket)
        allowed = await self.limiter.hit(limit, bucket.kind, bucket.key)
        window = await self.window(limit, bucket)
        headers = window.headers()
        if not allowed:
            wait = max(1, math.ceil(window.seconds_until_one_fits()))
            headers["RateLimit-Reset"] = headers["Retry-After"] = str(wait)
        return Charge(bucket, allowed, headers)

    async def refuse(self, charge: Charge, scope: Scope, receive: Receive, send: Send) -> None:
        RATE_LIMITED.labels(charge.bucket.kind).inc()
        _note_route(scope)  # the request's route in the metrics, as if it had been routed
        refusal = problem_response(
            "rate_limited",
            f"too many requests; try again in {charge.headers['Retry-After']} s",
            headers=charge.headers,
        )
        await refusal(scope, receive, send)

    async def window(self, limit: RateLimitItem, bucket: Bucket) -> Window:
        seconds = limit.get_expiry()
        previous, _, current, current_ttl = await self.storage.get_sliding_window(
            limit.key_for(bucket.kind, bucket.key), seconds
        )
        # The storage's current window lives one window longer than it counts.
        return Window(limit.amount, seconds, previous, current, current_ttl - seconds)


def _note_route(scope: Scope) -> None:
    """Put the route a refused request was for into its scope, as routing would have."""
    for route in path_routes(scope["app"].router.routes, scope["path"]):
        if scope["method"] in (route.methods or ()):
            scope["route"] = route
            return
