"""Real servers for the tests: the MongoDB-protocol server (SecantusDB) and RabbitMQ."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import aio_pika

from deploy.local import ensure_rabbitmq, listening
from services.kit.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listening(host, port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


@dataclass
class MongoServer:
    url: str
    process: subprocess.Popen[bytes] | None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # busy in a long command: nothing in it is kept
            self.process.kill()
            self.process.wait(timeout=30)


def mongo_url_for_port(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"


def start_mongo(
    storage: Path | None = None,
    *,
    transaction_lifetime: float | None = None,
    client_idle_timeout: float | None = None,
) -> MongoServer:
    """VM_TEST_MONGO_URL if set (a real replica set), else a fresh SecantusDB (with
    mongod's sweep of abandoned transactions, after `transaction_lifetime` seconds; hanging
    up on a client connection idle for `client_idle_timeout` seconds)."""
    if url := os.environ.get("VM_TEST_MONGO_URL"):
        return MongoServer(url=url, process=None)
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "deploy.embedded_mongo",
            "--port",
            str(port),
            "--storage-path",
            str(storage) if storage else ":memory:",
            "--log-level",
            "WARNING",
            *(
                ["--transaction-lifetime", str(transaction_lifetime)]
                if transaction_lifetime
                else []
            ),
            *(["--client-idle-timeout", str(client_idle_timeout)] if client_idle_timeout else []),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return MongoServer(url=mongo_url_for_port(port), process=process)


def amqp_url() -> str:
    url = os.environ.get("VM_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    ensure_rabbitmq(url)
    return url


def namespace() -> str:
    """A fresh prefix for databases and broker objects: tests never see each other."""
    return f"t{secrets.token_hex(4)}"


def isolated_settings(mongo_url: str, amqp_url: str, prefix: str) -> Settings:
    """Settings whose databases and broker objects carry `prefix`: nobody else's."""
    return Settings(
        env="test",
        mongo_url=mongo_url,
        mongo_db_prefix=f"{prefix}_",
        amqp_url=amqp_url,
        amqp_prefix=f"{prefix}.",
        grpc_host="127.0.0.1",
    )


# The work queues of the system's workers.
WORK_QUEUES = ("catalog.operations", "documents.jobs", "test.jobs")


async def delete_broker_namespace(url: str, prefix: str, services: Iterable[str]) -> None:
    """Remove the queues and exchanges a test made (they are durable)."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for service in services:
            for queue in (f"{prefix}{service}.events", f"{prefix}{service}.events.dlq"):
                await channel.queue_delete(queue)
        for queue in WORK_QUEUES:
            for name in (f"{prefix}{queue}", f"{prefix}{queue}.dlq"):
                await channel.queue_delete(name)
        for exchange in (f"{prefix}vm.events", f"{prefix}vm.events.dlx"):
            await channel.exchange_delete(exchange)
