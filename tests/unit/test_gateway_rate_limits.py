"""The gateway's rate limits without a running system: whose allowance a request uses and
which limit that is, the sliding window's arithmetic, and the middleware's answers (headers
on every limited answer, 429 problem+json past the limit, nothing on the unlimited paths)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace

import grpc
import httpx
import pytest
from grpc.aio import Metadata
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from gateway.app import create_app
from gateway.rate_limits import (
    Bucket,
    RateLimits,
    Window,
    bearer_credential,
    bucket_for,
    verified_claims,
)
from services.kit.auth import AccessClaims
from services.kit.errors import Unauthenticated, Unavailable
from services.kit.metrics import HTTP_REQUESTS, RATE_LIMITED
from services.kit.settings import Settings

USER = AccessClaims(user_id="u-1", company_id="c-1", session_id="s-1", expires_at=2**40)
OTHER_USER = AccessClaims(user_id="u-2", company_id="c-1", session_id="s-2", expires_at=2**40)
API_KEY = AccessClaims(
    user_id="apk-1", company_id="c-1", session_id="s-3", expires_at=2**40, kind="api_key"
)
TOKENS = {"user-token": USER, "other-user-token": OTHER_USER, "key-token": API_KEY}


class FakeVerifier:
    def __init__(self) -> None:
        self.failure: Exception | None = None

    async def verify(self, token: str) -> AccessClaims:
        if self.failure is not None:
            raise self.failure
        if token not in TOKENS:
            raise Unauthenticated("the access token is not valid")
        return TOKENS[token]


class FakeApiKeyTokens:
    """identity's exchange of API keys: only vmk_good is a key; each exchange is counted,
    and a good key's token is kept once exchanged."""

    def __init__(self) -> None:
        self.exchanges = 0
        self.kept: set[str] = set()

    def known(self, key: str) -> bool:
        return key in self.kept

    async def token_for(self, key: str) -> str:
        if key in self.kept:
            return "key-token"
        self.exchanges += 1
        if key == "vmk_good":
            self.kept.add(key)
            return "key-token"
        if key == "vmk_identity_down":
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.UNAVAILABLE, Metadata(), Metadata(), details="down"
            )
        raise Unauthenticated("the API key is not valid or was revoked")


async def every_service_serving() -> dict[str, str]:
    return {}


def fake_state() -> SimpleNamespace:
    backends = SimpleNamespace(
        verifier=FakeVerifier(), api_key_tokens=FakeApiKeyTokens(), health=every_service_serving
    )
    return SimpleNamespace(backends=backends)


# -- whose allowance, which limit ------------------------------------------------------------


def test_a_user_an_api_key_and_an_anonymous_call_each_have_their_own_bucket() -> None:
    assert bucket_for(USER, "198.18.0.1") == Bucket("user", "u-1")
    assert bucket_for(OTHER_USER, "198.18.0.1") == Bucket("user", "u-2")
    assert bucket_for(API_KEY, "198.18.0.1") == Bucket("api_key", "apk-1")
    assert bucket_for(None, "198.18.0.1") == Bucket("address", "198.18.0.1")
    assert bucket_for(None, "") == Bucket("address", "unknown")


def test_each_bucket_kind_takes_its_own_setting() -> None:
    limits = RateLimits.from_settings(
        Settings(
            rate_limit_user="600/minute",
            rate_limit_api_key="20/second",
            rate_limit_anonymous="5 per 10 seconds",
        )
    )
    assert limits is not None
    user = limits.of(Bucket("user", "u-1"))
    api_key = limits.of(Bucket("api_key", "apk-1"))
    address = limits.of(Bucket("address", "198.18.0.1"))
    assert (user.amount, user.get_expiry()) == (600, 60)
    assert (api_key.amount, api_key.get_expiry()) == (20, 1)
    assert (address.amount, address.get_expiry()) == (5, 10)


def test_the_limits_are_on_by_default_and_can_be_switched_off() -> None:
    assert RateLimits.from_settings(Settings()) is not None
    assert RateLimits.from_settings(Settings(rate_limit_enabled=False)) is None


@pytest.mark.parametrize("field", ["rate_limit_user", "rate_limit_api_key", "rate_limit_anonymous"])
def test_a_limit_that_is_not_a_limit_fails_at_start(field: str) -> None:
    with pytest.raises(ValidationError, match="rate limit"):
        Settings(**{field: "a lot"})


@pytest.mark.parametrize(
    ("authorization", "credential"),
    [
        ("Bearer user-token", "user-token"),
        ("bearer  user-token ", "user-token"),
        ("Basic user-token", ""),
        ("Bearer", ""),
        (None, ""),
    ],
)
def test_the_credential_is_the_bearer_one(authorization: str | None, credential: str) -> None:
    headers = [] if authorization is None else [(b"authorization", authorization.encode())]
    assert bearer_credential({"headers": [(b"accept", b"*/*"), *headers]}) == credential


async def test_only_a_credential_that_verifies_names_the_caller() -> None:
    state = fake_state()
    assert await verified_claims(state, "user-token") == USER
    assert await verified_claims(state, "vmk_good") == API_KEY
    for anonymous in ("", "forged", "vmk_revoked"):
        assert await verified_claims(state, anonymous) is None, anonymous
    # identity not answering: anonymous here; the route's own check answers 503
    assert await verified_claims(state, "vmk_identity_down") is None
    state.backends.verifier.failure = Unavailable("no signing keys")
    assert await verified_claims(state, "user-token") is None
    # before the app has started there are no backends to ask
    assert await verified_claims(SimpleNamespace(), "user-token") is None


# -- the sliding window ----------------------------------------------------------------------


def fits(window: Window, after: float) -> bool:
    """Whether one more request fits `after` seconds later, none coming meanwhile, as
    `limits`' sliding window counter decides it (weighted count + 1 <= limit)."""
    if after < window.left:
        used = window.previous * (window.left - after) / window.seconds + window.current
    else:  # the current window has ended: its count weighs as the previous one's
        into_next = after - window.left
        used = window.current * max(0.0, window.seconds - into_next) / window.seconds
    return math.floor(used) + 1 <= window.limit


@given(
    limit=st.integers(1, 50),
    seconds=st.integers(1, 120),
    previous=st.integers(0, 80),
    current=st.integers(0, 80),
    share_left=st.floats(0.001, 1.0),
)
def test_the_wait_is_exactly_until_one_more_request_fits(
    limit: int, seconds: int, previous: int, current: int, share_left: float
) -> None:
    window = Window(limit, seconds, previous, current, share_left * seconds)
    wait = window.seconds_until_one_fits()
    assert fits(window, wait + 1e-6)
    if wait > 1e-6:
        assert not fits(window, wait - 1e-6)
    assert (window.remaining > 0) == (wait == 0)


def test_the_headers_say_the_limit_what_remains_and_when() -> None:
    fresh = Window(limit=10, seconds=60, previous=0, current=1, left=42.5)
    assert fresh.headers() == {
        "RateLimit-Limit": "10",
        "RateLimit-Remaining": "9",
        "RateLimit-Reset": "43",  # the current window ends
        "RateLimit-Policy": "10;w=60",
    }
    spent = Window(limit=10, seconds=60, previous=0, current=10, left=42.5)
    assert spent.headers()["RateLimit-Remaining"] == "0"
    assert spent.headers()["RateLimit-Reset"] == "43"  # the next window, its weight falling
    # the previous window's weight falls: one request fits again after 6 s here
    weighed = Window(limit=10, seconds=60, previous=10, current=5, left=36)
    assert weighed.remaining == 0
    assert weighed.headers()["RateLimit-Reset"] == "6"


# -- the middleware --------------------------------------------------------------------------


def limited_app(**limits: str | bool):
    app = create_app(Settings(env="test", **limits))
    app.state.backends = fake_state().backends  # as the lifespan would (not run here)
    return app


@pytest.fixture
async def app_and_client():
    app = limited_app(rate_limit_api_key="4/hour", rate_limit_anonymous="2/hour")
    transport = httpx.ASGITransport(app=app, client=("198.18.0.50", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield app, client


@pytest.fixture
async def clients() -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """Clients of one app with low limits, each from an address of its own."""
    app = limited_app(
        rate_limit_user="3/hour", rate_limit_api_key="4/hour", rate_limit_anonymous="2/hour"
    )
    made: list[httpx.AsyncClient] = []

    def client(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        made.append(httpx.AsyncClient(transport=transport, base_url="http://gateway"))
        return made[-1]

    yield client
    for each in made:
        await each.aclose()


def counted(metric, *labels: str) -> float:
    return float(metric.labels(*labels)._value.get())


async def test_a_user_past_its_limit_gets_429_with_the_headers_and_others_do_not(clients):
    alice = {"authorization": "Bearer user-token"}
    client = clients("198.18.0.10")
    refused_before = counted(RATE_LIMITED, "user")

    answers = [await client.get("/api/v1/nothing-here", headers=alice) for _ in range(3)]
    assert [a.status_code for a in answers] == [404, 404, 404]  # the route's own answer
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0"]
    assert {a.headers["ratelimit-limit"] for a in answers} == {"3"}
    assert {a.headers["ratelimit-policy"] for a in answers} == {"3;w=3600"}

    refused = await client.get("/api/v1/nothing-here", headers=alice)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["code"] == "rate_limited" and body["status"] == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    assert refused.headers["ratelimit-reset"] == refused.headers["retry-after"]
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["ratelimit-limit"] == "3"
    assert refused.headers["x-request-id"]
    assert counted(RATE_LIMITED, "user") == refused_before + 1

    # another user, an API key, and the same address without a credential: their own
    other = await client.get(
        "/api/v1/nothing-here", headers={"authorization": "Bearer other-user-token"}
    )
    assert (other.status_code, other.headers["ratelimit-remaining"]) == (404, "2")
    key = await client.get("/api/v1/nothing-here", headers={"authorization": "Bearer vmk_good"})
    assert (key.status_code, key.headers["ratelimit-limit"]) == (404, "4")
    anonymous = await client.get("/api/v1/nothing-here")
    assert (anonymous.status_code, anonymous.headers["ratelimit-limit"]) == (404, "2")


async def test_anonymous_calls_count_per_address_and_a_bad_credential_is_anonymous(clients):
    first, second = clients("198.18.0.20"), clients("198.18.0.21")
    assert (await first.post("/api/v1/auth/login", json={})).status_code == 422
    forged = {"authorization": "Bearer forged"}
    assert (await first.get("/api/v1/nothing-here", headers=forged)).status_code == 404
    route_before = counted(HTTP_REQUESTS, "POST", "/api/v1/auth/login", "429")

    refused = await first.post("/api/v1/auth/login", json={})
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    # counted under its route, as if it had been routed
    assert counted(HTTP_REQUESTS, "POST", "/api/v1/auth/login", "429") == route_before + 1
    assert (await second.post("/api/v1/auth/login", json={})).status_code == 422


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/"])
async def test_health_metrics_docs_and_the_console_are_never_limited(clients, path):
    client = clients("198.18.0.30")
    for _ in range(3):
        await client.get("/api/v1/nothing-here")
    assert (await client.get("/api/v1/nothing-here")).status_code == 429

    for _ in range(3):
        response = await client.get(path)
        assert response.status_code != 429, response.text
        assert "ratelimit-limit" not in response.headers


async def test_switched_off_nothing_is_limited_or_announced():
    app = limited_app(rate_limit_enabled=False, rate_limit_anonymous="1/hour")
    transport = httpx.ASGITransport(app=app, client=("198.18.0.40", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        for _ in range(3):
            response = await client.get("/api/v1/nothing-here")
            assert response.status_code == 404
            assert "ratelimit-limit" not in response.headers


async def test_made_up_api_keys_are_paid_for_by_their_address_before_identity_is_asked(
    app_and_client,
):
    app, client = app_and_client
    tokens = app.state.backends.api_key_tokens
    made_up = [{"authorization": f"Bearer vmk_made_up_{n}"} for n in range(5)]

    answers = [await client.get("/api/v1/nothing-here", headers=h) for h in made_up]

    assert [a.status_code for a in answers] == [404, 404, 429, 429, 429]
    assert {a.headers["ratelimit-limit"] for a in answers} == {"2"}  # the address's limit
    assert tokens.exchanges == 2  # the refused ones never reached identity


async def test_a_good_key_costs_its_address_only_its_first_exchange(app_and_client):
    _, client = app_and_client
    key = {"authorization": "Bearer vmk_good"}

    answers = [await client.get("/api/v1/nothing-here", headers=key) for _ in range(5)]

    assert [a.status_code for a in answers] == [404, 404, 404, 404, 429]
    assert {a.headers["ratelimit-limit"] for a in answers} == {"4"}  # the key's own limit
    # the first exchange took one of the address's two requests; one is left
    anonymous = await client.get("/api/v1/nothing-here")
    assert (anonymous.status_code, anonymous.headers["ratelimit-remaining"]) == (404, "0")
