"""The reference gRPC server: one unary method that answers with the bytes it was sent.

`python -m bench.echo --port N`. No proto: the generic-handler API with raw bytes (no
serializers), so the figure is the cost of a gRPC hop itself. Stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import grpc

SERVICE = "vm.bench.v1.EchoService"
METHOD = "Echo"
FULL_METHOD = f"/{SERVICE}/{METHOD}"


async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return request


async def serve(port: int) -> None:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                SERVICE, {METHOD: grpc.unary_unary_rpc_method_handler(echo)}
            ),
        )
    )
    if server.add_insecure_port(f"127.0.0.1:{port}") == 0:
        raise SystemExit(f"cannot listen on 127.0.0.1:{port}")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
