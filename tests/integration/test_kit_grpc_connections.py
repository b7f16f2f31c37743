"""Connections between processes: every server ends its connections after
max_connection_age (so round_robin clients re-resolve and reach new replicas) and accepts
the keepalive pings every client sends (services/kit/grpc_server.py SERVER_OPTIONS,
services/kit/grpc_client.py CHANNEL_OPTIONS)."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest

from services.kit import grpc_server
from services.kit.auth import CallerAuthenticator, TokenVerifier
from services.kit.grpc_client import CHANNEL_OPTIONS, open_channel
from services.kit.grpc_server import SERVER_OPTIONS, AccessPolicy, create_server

pytestmark = pytest.mark.integration

PEER = "vm.test.v1.PeerProbe"


async def peer(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    """The client's address and port as the server sees them: one per connection."""
    return context.peer().encode()


def add_peer_probe(handlers: dict, server: grpc.aio.Server) -> None:
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(PEER, handlers),))


async def no_keys() -> dict[str, str]:
    return {}


def peer_probe_server() -> grpc_server.GrpcServer:
    return create_server(
        "127.0.0.1:0",
        [(add_peer_probe, {"Peer": grpc.unary_unary_rpc_method_handler(peer)})],
        [PEER],
        CallerAuthenticator(TokenVerifier(no_keys, issuer="probe", audience="vm"), "op-token"),
        AccessPolicy(public_methods=frozenset({f"/{PEER}/Peer"})),
    )


def test_the_server_ages_connections_out_and_keeps_them_alive(monkeypatch):
    seen: list[list[tuple[str, object]]] = []
    real_server = grpc.aio.server

    def spy(*args, **kwargs):
        seen.append(list(kwargs["options"]))
        return real_server(*args, **kwargs)

    monkeypatch.setattr(grpc.aio, "server", spy)
    peer_probe_server()

    options = dict(seen[0])
    assert options["grpc.max_connection_age_ms"] == 5 * 60_000
    assert 0 < options["grpc.max_connection_age_grace_ms"] <= 60_000
    assert options["grpc.keepalive_time_ms"] > 0
    assert options["grpc.keepalive_timeout_ms"] > 0
    assert options["grpc.keepalive_permit_without_calls"] == 1
    assert options["grpc.http2.min_ping_interval_without_data_ms"] > 0
    assert options == dict(SERVER_OPTIONS)


def test_clients_balance_round_robin_and_ping_no_faster_than_servers_allow():
    client = dict(CHANNEL_OPTIONS)
    server = dict(SERVER_OPTIONS)
    assert client["grpc.lb_policy_name"] == "round_robin"
    assert json.loads(str(client["grpc.service_config"])) == {
        "loadBalancingConfig": [{"round_robin": {}}]
    }
    # A client pinging faster than the server allows would get GOAWAY "too_many_pings".
    assert client["grpc.keepalive_permit_without_calls"] == 1
    assert server["grpc.keepalive_permit_without_calls"] == 1
    assert int(client["grpc.keepalive_time_ms"]) >= int(
        server["grpc.http2.min_ping_interval_without_data_ms"]
    )
    assert int(client["grpc.keepalive_timeout_ms"]) < int(client["grpc.keepalive_time_ms"])


async def test_an_aged_connection_is_replaced_without_failing_a_call(monkeypatch):
    short_lived = {
        **dict(SERVER_OPTIONS),
        "grpc.max_connection_age_ms": 300,
        "grpc.max_connection_age_grace_ms": 1_000,
    }
    monkeypatch.setattr(grpc_server, "SERVER_OPTIONS", tuple(short_lived.items()))
    server = peer_probe_server()
    await server.server.start()
    channel = open_channel(f"127.0.0.1:{server.port}")
    try:
        call = channel.unary_unary(f"/{PEER}/Peer")
        peers = set()
        for _ in range(25):  # about 2.5 s: several connection ages
            peers.add(await call(b"", timeout=10, wait_for_ready=True))
            await asyncio.sleep(0.1)
        # every call answered, over more than one connection (a new client port each time)
        assert len(peers) >= 2, peers
    finally:
        await channel.close()
        await server.stop(0)
