"""An HTTP/1.1 keep-alive load generator, run in a process of its own.

`python -m bench.loadgen --port N --path /ping [--header 'k: v'] [--connections 32]
[--warmup 2] [--duration 10] [--method POST --body '{"json": 1}' --body …]`

Each of the connections sends one request, waits for the whole response, and sends the
next at once (closed loop, no pipelining). With bodies (JSON, sent as POST), connection i
always sends body i modulo their number (e.g. each connection logs in as its own user).
The request bytes are built once per connection; responses are framed by `Content-Length`
in an `asyncio.Protocol` (no stream objects, no coroutine per request), so the client
spends as little CPU per request as Python allows. Only responses that complete inside
the measurement window count; the warm-up does not.

It prints `window-start` and `window-end` as the window opens and closes (the caller
samples CPU use between them), then one JSON line with the result.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any

_HEADER_END = b"\r\n\r\n"
_CONTENT_LENGTH = b"\r\ncontent-length:"


def build_request(
    host: str, port: int, path: str, headers: list[str], method: str = "GET", body: str = ""
) -> bytes:
    content = body.encode()
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "User-Agent: vm-bench",
        "Accept: application/json",
        *headers,
    ]
    if content or method != "GET":
        lines += ["Content-Type: application/json", f"Content-Length: {len(content)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + content


@dataclass
class Stats:
    running: bool = True
    recording: bool = False
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    lost_connections: int = 0
    in_flight: int = 0
    drained: asyncio.Event = field(default_factory=asyncio.Event)

    def request_done(self) -> None:
        self.in_flight -= 1
        if not self.running and self.in_flight <= 0:
            self.drained.set()


class Connection(asyncio.Protocol):
    def __init__(self, request: bytes, stats: Stats, closed: asyncio.Future[None]) -> None:
        self._request = request
        self._stats = stats
        self._closed = closed
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._body_left = -1  # -1: reading the head
        self._status = 0
        self._started = 0.0
        self._waiting = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def send(self) -> None:
        assert self._transport is not None
        self._waiting = True
        self._stats.in_flight += 1
        self._started = time.perf_counter()
        self._transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while True:
            if self._body_left < 0:
                end = buffer.find(_HEADER_END)
                if end < 0:
                    return
                head = bytes(buffer[:end]).lower()
                del buffer[: end + 4]
                self._status = int(head[9:12])
                at = head.find(_CONTENT_LENGTH)
                if at < 0:
                    raise RuntimeError("a response without Content-Length: not supported")
                line_end = head.find(b"\r\n", at + 2)
                self._body_left = int(head[at + 17 : line_end if line_end > 0 else None])
            if len(buffer) < self._body_left:
                return
            del buffer[: self._body_left]
            self._body_left = -1
            self._response_done()
            if not buffer:
                return

    def _response_done(self) -> None:
        now = time.perf_counter()
        stats = self._stats
        stats.request_done()
        self._waiting = False
        if stats.recording:
            stats.statuses[self._status] = stats.statuses.get(self._status, 0) + 1
            if 200 <= self._status < 300:
                stats.latencies.append(now - self._started)
        if stats.running:
            self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiting:
            self._waiting = False
            self._stats.request_done()
        if self._stats.running:
            self._stats.lost_connections += 1
        if not self._closed.done():
            self._closed.set_result(None)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = min(max(1, math.ceil(fraction * len(sorted_values))), len(sorted_values))
    return sorted_values[rank - 1]


async def _keep_connected(host: str, port: int, request: bytes, stats: Stats) -> None:
    """One connection slot: reconnects if the server closes it during the run."""
    loop = asyncio.get_running_loop()
    while stats.running:
        closed: asyncio.Future[None] = loop.create_future()
        transport, protocol = await loop.create_connection(
            lambda closed=closed: Connection(request, stats, closed), host, port
        )
        try:
            protocol.send()
            await closed
        finally:
            transport.close()


async def run_load(
    host: str,
    port: int,
    requests: list[bytes],
    connections: int,
    warmup: float,
    duration: float,
) -> dict[str, Any]:
    """Connection i sends requests[i % len(requests)] again and again."""
    stats = Stats()
    slots = [
        asyncio.create_task(_keep_connected(host, port, requests[n % len(requests)], stats))
        for n in range(connections)
    ]
    await asyncio.sleep(warmup)
    stats.recording = True
    opened = time.perf_counter()
    print("window-start", flush=True)
    await asyncio.sleep(duration)
    stats.recording = False
    closed = time.perf_counter()
    print("window-end", flush=True)
    stats.running = False
    if stats.in_flight > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stats.drained.wait(), timeout=5.0)
    for slot in slots:
        slot.cancel()
    await asyncio.gather(*slots, return_exceptions=True)
    window = closed - opened
    latencies = sorted(stats.latencies)
    ok = len(latencies)
    return {
        "client": "bench.loadgen",
        "connections": connections,
        "warmup_s": warmup,
        "window_s": round(window, 3),
        "requests": ok,
        "requests_per_s": ok / window,
        "latency_ms": {
            "p50": percentile(latencies, 0.50) * 1000,
            "p90": percentile(latencies, 0.90) * 1000,
            "p99": percentile(latencies, 0.99) * 1000,
            "max": (latencies[-1] if latencies else float("nan")) * 1000,
        },
        "statuses": {str(code): count for code, count in sorted(stats.statuses.items())},
        "errors": sum(n for code, n in stats.statuses.items() if not 200 <= code < 300),
        "lost_connections": stats.lost_connections,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--method", default="GET")
    parser.add_argument(
        "--body", action="append", default=[], help="JSON; connection i sends body i mod count"
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=10.0)
    options = parser.parse_args()
    requests = [
        build_request(options.host, options.port, options.path, options.header, options.method, b)
        for b in options.body or [""]
    ]
    result = asyncio.run(
        run_load(
            options.host,
            options.port,
            requests,
            options.connections,
            options.warmup,
            options.duration,
        )
    )
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
