"""The reference HTTP apps, each served by uvicorn in its own process, as the gateway is.

`python -m bench.apps raw --port N`: `GET /ping` answers a small JSON, nothing else.
`python -m bench.apps hop --port N --echo 127.0.0.1:M`: `GET /echo` makes one gRPC call
to `bench.echo` through one channel opened in the lifespan with the gateway's
`open_channel`, and answers a small JSON.

uvicorn runs with one worker and the gateway's choices (uvloop, httptools, no access log),
so the only difference from the gateway is what the endpoint does.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI, Request

from bench.echo import FULL_METHOD
from services.kit.grpc_client import open_channel

PAYLOAD = b"ping"


def raw_app() -> FastAPI:
    app = FastAPI(title="bench: raw")

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    return app


def hop_app(echo_address: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        channel = open_channel(echo_address)
        # No serializers: bytes travel as they are.
        app.state.echo = channel.unary_unary(FULL_METHOD)
        try:
            yield
        finally:
            await channel.close()

    app = FastAPI(title="bench: one gRPC hop", lifespan=lifespan)

    @app.get("/echo")
    async def echo(request: Request) -> dict[str, str]:
        reply: bytes = await request.app.state.echo(PAYLOAD, timeout=10.0)
        return {"echo": reply.decode()}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("app", choices=("raw", "hop"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--echo", default="", help="host:port of bench.echo (for hop)")
    options = parser.parse_args()
    app = raw_app() if options.app == "raw" else hop_app(options.echo)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=options.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
