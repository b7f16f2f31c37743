"""The whole system as separate processes, as `make run` starts it, on free ports, with
its own databases and broker namespace — for end-to-end tests and benchmarks."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika
import httpx
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient

from services.kit.outbox import OUTBOX
from services.kit.settings import SERVICE_NAMES, Settings
from tests.support.servers import ROOT, free_port, listening, namespace, wait_for_port

# Numbers whose every change the provisioning simulator refuses in the e2e system (each
# test file that needs one takes its own: a number belongs to one company at a time).
PROVISIONING_FAILS = ("79000000404", "79000000405")
METRICS_PORT_OFFSET = 1000


# Ports handed to processes of this run that may not listen yet (and their metrics
# partners): a port free now can still be another process's before it binds.
_HANDED_OUT: set[int] = set()


def unused_port(partner_offset: int = 0) -> int:
    """A free port handed to no other process of this run; with `partner_offset`, port +
    offset (its metrics port) is free and unhanded too."""
    while True:
        port = free_port()
        wanted = {port, port + partner_offset}
        if max(wanted) > 65535 or wanted & _HANDED_OUT:
            continue
        if partner_offset and listening("127.0.0.1", port + partner_offset):
            continue
        _HANDED_OUT.update(wanted)
        return port


@dataclass
class RunningSystem:
    settings: Settings
    env: dict[str, str]
    log_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.gateway_port}"

    def start_process(
        self, name: str, module: str, own_env: Mapping[str, str] | None = None
    ) -> None:
        """Start `python -m module`; `own_env` are this process's settings over the
        system's (a replica's own port)."""
        log = (self.log_dir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=ROOT,
            env={**self.env, **(own_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def metrics_urls(self) -> dict[str, str]:
        """Each process's /metrics (a service's or worker's on its port + the offset)."""
        urls = {"gateway": f"{self.gateway_url}/metrics"}
        for process in self.processes:
            if process in ("gateway", "devsink"):
                continue
            port = self.settings.grpc_port(process) + METRICS_PORT_OFFSET
            urls[process] = f"http://127.0.0.1:{port}/metrics"
        return urls

    def stop_process(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        process = self.processes.pop(name)
        process.send_signal(sig)
        return process.wait(timeout=timeout)

    def wait_healthy(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited: {self.log(name)[-3000:]}")
            try:
                response = httpx.get(f"{self.gateway_url}/healthz", timeout=2)
                if response.status_code == 200:
                    return
                last = response.json()
            except httpx.HTTPError as error:
                last = error
            time.sleep(0.2)
        raise TimeoutError(f"the system did not become healthy: {last}")

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> dict[str, int]:
        """SIGTERM every process (graceful stop); returns their exit codes."""
        for process in self.processes.values():
            process.send_signal(signal.SIGTERM)
        codes = {}
        for name, process in list(self.processes.items()):
            try:
                codes[name] = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                codes[name] = process.wait()
        self.processes.clear()
        return codes


def system_settings(
    mongo_url: str, amqp_url: str, overrides: Mapping[str, str] | None = None
) -> tuple[Settings, dict[str, str]]:
    prefix = namespace()
    ports = {name: unused_port() for name in ("gateway", "smtp", "sink")}
    # Each service and worker serves its metrics on its port + METRICS_PORT_OFFSET.
    for name in (*SERVICE_NAMES, "worker", "documents-worker", "notifications-worker"):
        ports[name] = unused_port(METRICS_PORT_OFFSET)
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "VM_ENV": "dev",
        "VM_LOG_LEVEL": "INFO",
        "VM_MONGO_URL": mongo_url,
        "VM_MONGO_DB_PREFIX": f"{prefix}_",
        "VM_AMQP_URL": amqp_url,
        "VM_AMQP_PREFIX": f"{prefix}.",
        "VM_GATEWAY_PORT": str(ports["gateway"]),
        "VM_CATALOG_WORKER_PORT": str(ports["worker"]),
        "VM_DOCUMENTS_WORKER_PORT": str(ports["documents-worker"]),
        "VM_NOTIFICATIONS_WORKER_PORT": str(ports["notifications-worker"]),
        # A worker that died is replaced within seconds (the tests kill one).
        "VM_WORK_LEASE_SECONDS": "5",
        "VM_DEVSINK_SMTP_PORT": str(ports["smtp"]),
        "VM_DEVSINK_HTTP_PORT": str(ports["sink"]),
        "VM_SMTP_PORT": str(ports["smtp"]),
        "VM_SMS_CENTRE_URL": f"http://127.0.0.1:{ports['sink']}/sms",
        "VM_DEVSINK_URL": f"http://127.0.0.1:{ports['sink']}",
        "VM_API_KEY_CACHE_SECONDS": "2",
        # Rate limits on, so that every request goes through them, but far above what the
        # tests, the fuzzer and the benchmarks send as one user or from one address (a test
        # of the limits runs a gateway of its own with low ones).
        "VM_RATE_LIMIT_ENABLED": "true",
        "VM_RATE_LIMIT_USER": "1000000/minute",
        "VM_RATE_LIMIT_API_KEY": "1000000/minute",
        "VM_RATE_LIMIT_ANONYMOUS": "1000000/minute",
        "VM_METRICS_PORT_OFFSET": str(METRICS_PORT_OFFSET),
        # The provisioning simulator refuses every change of this number (e2e tests give it).
        "VM_PROVISIONING_FAIL_MSISDNS": ",".join(PROVISIONING_FAILS),
        **(overrides or {}),
    }
    for name in SERVICE_NAMES:
        env[f"VM_{name.upper()}_PORT"] = str(ports[name])
        env[f"VM_{name.upper()}_ADDR"] = f"127.0.0.1:{ports[name]}"
    settings = Settings(
        **{
            k[3:].lower(): v
            for k, v in env.items()
            if k.startswith("VM_") and k[3:].lower() in Settings.model_fields
        }
    )
    return settings, env


def start_system(
    mongo_url: str, amqp_url: str, overrides: Mapping[str, str] | None = None
) -> RunningSystem:
    """Every process on free ports; `overrides` are VM_* settings over the tests' own."""
    settings, env = system_settings(mongo_url, amqp_url, overrides)
    system = RunningSystem(
        settings=settings, env=env, log_dir=Path(tempfile.mkdtemp(prefix="vm-system-"))
    )
    system.start_process("devsink", "deploy.devsink")
    for name in SERVICE_NAMES:
        system.start_process(name, f"services.{name}")
    for worker, (module, _) in WORKERS.items():
        system.start_process(worker, module)
    system.start_process("gateway", "gateway")
    wait_for_port(settings.gateway_port, timeout=60)
    system.wait_healthy()
    return system


# Each worker's module and the setting of its port.
WORKERS = {
    "catalog-worker": ("services.catalog.bulk_worker", "VM_CATALOG_WORKER_PORT"),
    "documents-worker": ("services.documents.worker", "VM_DOCUMENTS_WORKER_PORT"),
    "notifications-worker": ("services.notifications.worker", "VM_NOTIFICATIONS_WORKER_PORT"),
}


@dataclass
class ReplicatedSystem(RunningSystem):
    """The system with several replicas of each process; `ports` names each process's
    port (a service's or worker's metrics are on port + METRICS_PORT_OFFSET, a gateway's
    at /metrics on its port)."""

    ports: dict[str, int] = field(default_factory=dict)

    def replicas_of(self, name: str) -> list[str]:
        return [p for p in self.ports if p == name or p.startswith(f"{name}#")]


def start_replicated_system(
    mongo_url: str, amqp_url: str, replicas: int = 2, overrides: Mapping[str, str] | None = None
) -> ReplicatedSystem:
    """Every service, worker and gateway `replicas` times over, as Kubernetes would run
    them: each client of a service balances round_robin over all its replicas' addresses
    (`ipv4:` targets standing in for a headless Service's `dns:///` name), the replicas of a
    service share its database (so its outbox relays share a lease) and its queues."""
    settings, env = system_settings(mongo_url, amqp_url, overrides)
    ports: dict[str, int] = {}

    def named(name: str, first: int, more: list[int]) -> list[tuple[str, int]]:
        return [(name if i == 0 else f"{name}#{i + 1}", p) for i, p in enumerate([first, *more])]

    def more_ports() -> list[int]:
        return [unused_port(METRICS_PORT_OFFSET) for _ in range(replicas - 1)]

    service_replicas = {n: named(n, settings.grpc_port(n), more_ports()) for n in SERVICE_NAMES}
    addresses = {}
    for name, placed in service_replicas.items():
        address = "ipv4:" + ",".join(f"127.0.0.1:{port}" for _, port in placed)
        env[f"VM_{name.upper()}_ADDR"] = address
        addresses[f"{name}_addr"] = address
    system = ReplicatedSystem(
        settings=settings.model_copy(update=addresses),
        env=env,
        log_dir=Path(tempfile.mkdtemp(prefix="vm-replicas-")),
    )
    system.start_process("devsink", "deploy.devsink")
    for name, placed in service_replicas.items():
        for process, port in placed:
            system.start_process(
                process, f"services.{name}", {f"VM_{name.upper()}_PORT": f"{port}"}
            )
            ports[process] = port
    for worker, (module, port_setting) in WORKERS.items():
        for process, port in named(worker, int(env[port_setting]), more_ports()):
            system.start_process(process, module, {port_setting: str(port)})
            ports[process] = port
    gateway_ports = [unused_port() for _ in range(replicas - 1)]
    for process, port in named("gateway", settings.gateway_port, gateway_ports):
        system.start_process(process, "gateway", {"VM_GATEWAY_PORT": str(port)})
        ports[process] = port
    system.ports = ports
    for port in (settings.gateway_port, *gateway_ports):
        wait_for_port(port, timeout=180)  # twice the processes start on the same cores
    system.wait_healthy(timeout=180)
    return system


def start_gateway(system: RunningSystem, name: str, env: Mapping[str, str]) -> Iterator[str]:
    """Another gateway process over the system's services, with `env` over the system's
    settings; yields its URL once it answers /readyz, and stops it."""
    port = unused_port()
    log_path = system.log_dir / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway"],
            cwd=ROOT,
            env={**system.env, "VM_GATEWAY_PORT": str(port), **env},
            stdout=log,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_port(port, timeout=60)
        deadline = time.monotonic() + 60
        while httpx.get(f"{url}/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")[-3000:]
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def events_in_hand(system: RunningSystem) -> float:
    """The events the system's consumers have taken from the broker and not yet settled
    (`vm_events_in_hand`): a queue shows none of a message's run of events once a consumer
    holds it."""
    in_hand = 0.0
    async with httpx.AsyncClient(timeout=10) as client:
        for process, url in system.metrics_urls().items():
            if process == "gateway":
                continue
            answer = (await client.get(url)).raise_for_status()
            for family in text_string_to_metric_families(answer.text):
                in_hand += sum(s.value for s in family.samples if s.name == "vm_events_in_hand")
    return in_hand


async def events_consumed(system: RunningSystem, max_wait: float) -> float:
    """Wait (at most `max_wait` s) until every service has published the events it wrote
    and consumed the events that came before (no unsent event in any outbox, every events
    queue empty and no event in any consumer's hands, on three checks in a row): a test or
    a benchmark that follows a big set-up measures itself, not the tail of the set-up. The
    outboxes count too: right after a big commit the queues are still empty, the relay not
    having published yet; so do the consumers' hands: a message of a run of hundreds of
    events leaves its queue at once. Returns the seconds waited."""
    settings = system.settings
    queues = [f"{settings.amqp_prefix}{name}.events" for name in SERVICE_NAMES]
    started = asyncio.get_running_loop().time()
    mongo: AsyncMongoClient = AsyncMongoClient(settings.mongo_url)
    outboxes = [mongo[settings.database_name(name)][OUTBOX] for name in SERVICE_NAMES]
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        async with connection:
            channel = await connection.channel()
            quiet_in_a_row = 0
            while quiet_in_a_row < 3:
                waiting = 0
                for outbox in outboxes:
                    waiting += await outbox.count_documents({"sent_at": None})
                for name in queues:
                    queue = await channel.declare_queue(name, passive=True)
                    waiting += queue.declaration_result.message_count or 0
                waiting += await events_in_hand(system)
                quiet_in_a_row = quiet_in_a_row + 1 if waiting == 0 else 0
                if asyncio.get_running_loop().time() - started >= max_wait:
                    break
                await asyncio.sleep(1)
    finally:
        await mongo.close()
    return round(asyncio.get_running_loop().time() - started, 1)
