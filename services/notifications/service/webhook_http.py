"""The HTTP client of webhook deliveries: it only ever connects to an address it checked.

A webhook's host is resolved, every address it resolves to is checked (domain/addresses.py)
and the connection is made to a checked address, in one step, when the connection is
opened. A separate look-up before the call would not do: the name could resolve to a
public address for the check and to a private one for the call (DNS rebinding).

How, with httpx: httpcore opens its connections through a "network backend", and hands it
the URL's host and port. Ours (`CheckedAddressBackend`) resolves that host itself, checks
the addresses and connects the socket to one of them. Everything above the socket still
sees the URL's host: the `Host` header, and for https the TLS server name (SNI) and the
certificate check, which httpcore does on the socket we return with the URL's host name. So
https to a name is verified against that name although we dialled an address.

No proxy is used (`trust_env=False`): a proxy would resolve the name itself. Redirects are
not followed: the redirect's target is not checked (`delivery_schedule.answered_ok`).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

import httpcore
import httpx

from services.kit.errors import InvalidArgument
from services.notifications.domain.addresses import checked_addresses
from services.notifications.domain.webhooks import ANSWER_EXCERPT_BYTES, answer_excerpt

# (host, port) -> the addresses the host resolves to, as text.
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve(host: str, port: int) -> list[str]:
    """The host's addresses, as the system's resolver gives them."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class CheckedAddressBackend(httpcore.AsyncNetworkBackend):
    """Connects to the URL's host by an address that it has just resolved and checked."""

    def __init__(self, *, dev_mode: bool, resolver: Resolver = resolve) -> None:
        self._dev_mode = dev_mode
        self._resolver = resolver
        self._sockets = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # ForbiddenAddress (an InvalidArgument) passes through httpx unchanged.
        addresses = checked_addresses(
            await self._resolved(host, port, timeout), dev_mode=self._dev_mode
        )
        failure: Exception = httpcore.ConnectError("the host has no address")
        for address in addresses:
            try:
                return await self._sockets.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error  # try the host's next address
        raise failure

    async def _resolved(self, host: str, port: int, within: float | None) -> list[str]:
        try:
            async with asyncio.timeout(within):
                return await self._resolver(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout("resolving the host took too long") from None
        except OSError:
            raise httpcore.ConnectError("the host's name could not be resolved") from None

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks go over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._sockets.sleep(seconds)


class _CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (its exception mapping, its streams) over a connection pool
    whose connections are opened by a CheckedAddressBackend. httpx takes no network backend
    as an argument, so the pool it made is replaced by one that has ours."""

    def __init__(
        self,
        backend: httpcore.AsyncNetworkBackend,
        ssl_context: ssl.SSLContext,
        limits: httpx.Limits,
    ) -> None:
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 10.0
    # The whole attempt, answer included: a receiver dripping its answer byte by byte
    # must not hold a worker for read timeout × bytes.
    total: float = 30.0


@dataclass(frozen=True)
class Answer:
    """What one POST came to: a status code, or an error without one."""

    status_code: int | None
    error: str
    latency_ms: int
    excerpt: str  # the first ANSWER_EXCERPT_BYTES of the answer's body


class WebhookClient:
    """POSTs deliveries; one per worker process, its connections reused between them."""

    def __init__(
        self,
        *,
        dev_mode: bool,
        resolver: Resolver = resolve,
        timeouts: Timeouts = Timeouts(),
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 100,
    ) -> None:
        self._timeouts = timeouts
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=20)
        backend = CheckedAddressBackend(dev_mode=dev_mode, resolver=resolver)
        context = ssl_context or httpx.create_ssl_context()
        self._client = httpx.AsyncClient(
            transport=_CheckedTransport(backend, context, limits),
            timeout=httpx.Timeout(
                connect=timeouts.connect,
                read=timeouts.read,
                write=timeouts.read,
                pool=timeouts.connect,
            ),
            follow_redirects=False,
            trust_env=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Answer:
        started = time.monotonic()

        def answer(status_code: int | None, error: str, head: bytes = b"") -> Answer:
            latency = round((time.monotonic() - started) * 1000)
            return Answer(status_code, error, latency, answer_excerpt(head))

        try:
            async with asyncio.timeout(self._timeouts.total):
                status, head = await self._post(url, headers, body)
        except InvalidArgument as refused:  # ForbiddenAddress: nothing was sent
            return answer(None, refused.message)
        except TimeoutError:
            return answer(None, f"no complete answer within {self._timeouts.total:g} s")
        except httpx.TimeoutException as error:
            return answer(None, _timeout_text(error, self._timeouts))
        except httpx.HTTPError as error:
            return answer(None, f"{type(error).__name__}: {error}"[:300])
        return answer(status, "", head)

    async def _post(self, url: str, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        async with self._client.stream(
            "POST", url, headers=dict(headers), content=body
        ) as response:
            head = b""
            # Only the first bytes are read; leaving the block closes the connection
            # without reading the rest.
            async for chunk in response.aiter_bytes():
                head += chunk
                if len(head) >= ANSWER_EXCERPT_BYTES:
                    break
            return response.status_code, head[:ANSWER_EXCERPT_BYTES]


def _timeout_text(error: httpx.TimeoutException, timeouts: Timeouts) -> str:
    if isinstance(error, httpx.ConnectTimeout):
        return f"could not connect within {timeouts.connect:g} s"
    if isinstance(error, httpx.ReadTimeout):
        return f"no answer within {timeouts.read:g} s"
    return f"timed out: {type(error).__name__}"
