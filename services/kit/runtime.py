"""What every service process does around its own code: the composition helper that each
`services/<name>/main.py` uses.

The gRPC server starts at once, NOT_SERVING. In the background the runtime prepares the
database (indexes), connects to RabbitMQ (retrying until it answers), starts the outbox
relay and the event consumer, and from then on reports SERVING exactly while MongoDB
answers: a broker outage later takes nothing down (events wait in the outbox). On
SIGTERM it stops taking calls, drains in-flight ones for the grace period, and closes its
clients.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from aio_pika.abc import AbstractRobustConnection
from grpc_health.v1 import health_pb2
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.kit.auth import CallerAuthenticator
from services.kit.broker import EventPublisher, connect_broker
from services.kit.caller_access import CallerAccessResolver
from services.kit.consumer import EventConsumer, EventHandler
from services.kit.context import client_address_var, current_caller
from services.kit.errors import DomainError
from services.kit.events import new_event
from services.kit.grpc_server import AccessPolicy, GrpcServer, Registrar, create_server
from services.kit.metrics import serve_metrics
from services.kit.mongo import Transactions, connect_mongo, ping
from services.kit.outbox import Outbox, OutboxRelay
from services.kit.replays import ReplayJournal
from services.kit.settings import Settings
from services.kit.tracing import untraced
from services.kit.work_queue import DueJobs, Housekeeping, JobHandler, WorkQueue, take_work
from vm.common.v1 import common_pb2

log = logging.getLogger(__name__)

Prepare = Callable[[], Awaitable[None]]
LIVENESS = "liveness"  # the grpc.health.v1 service name a liveness probe asks about
DENIAL_RECORD_TIMEOUT_SECONDS = 5.0  # a record of a refused call is not worth waiting for
METRICS_SAMPLE_SECONDS = 10.0  # how often the backlog gauges are measured
STOP_STEP_SECONDS = 10.0  # the longest a stop waits for one client or task to close


@dataclass
class ServiceRuntime:
    name: str
    settings: Settings
    mongo: AsyncMongoClient
    db: AsyncDatabase
    transactions: Transactions
    outbox: Outbox
    replays: ReplayJournal
    broker: AbstractRobustConnection | None = None
    relay: OutboxRelay | None = None
    consumer: EventConsumer | None = None
    server: GrpcServer | None = None
    # Services other than identity: what a caller may do (kit.caller_access).
    caller_access: CallerAccessResolver | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def create(cls, name: str, settings: Settings) -> ServiceRuntime:
        """Build the clients; call inside the running event loop (never at import)."""
        mongo = connect_mongo(settings.mongo_url, app_name=name)
        db = mongo.get_database(settings.database_name(name))
        return cls(
            name=name,
            settings=settings,
            mongo=mongo,
            db=db,
            transactions=Transactions(mongo),
            outbox=Outbox(db),
            replays=ReplayJournal(db),
        )

    async def start(
        self,
        *,
        servicers: Iterable[Registrar],
        service_names: Iterable[str],
        policy: AccessPolicy,
        authenticator: CallerAuthenticator,
        handlers: Mapping[str, EventHandler] | None = None,
        prepare: Prepare | None = None,
        address: str | None = None,
    ) -> int:
        """Start serving; returns the bound port. Readiness follows in the background."""
        address = address or f"{self.settings.grpc_host}:{self.settings.grpc_port(self.name)}"
        self.server = create_server(
            address,
            servicers,
            service_names,
            authenticator,
            policy,
            self._record_denial,
            self.replays,
        )
        await self.server.server.start()
        await self.server.set_serving(False)
        # Liveness is not readiness: a database outage must not get the process restarted.
        await self.server.health.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
        log.info("gRPC listening", extra={"port": self.server.port})
        self._tasks.append(asyncio.create_task(self._bring_up(handlers or {}, prepare)))
        self._tasks.append(asyncio.create_task(self._report_readiness()))
        return self.server.port

    async def wait_ready(self, within_seconds: float) -> None:
        await asyncio.wait_for(self._ready.wait(), within_seconds)

    def when_ready(self, start: Callable[[AbstractRobustConnection], Awaitable[None]]) -> None:
        """Run `start` with the broker connection once the database and the broker answer
        (a work queue's consumer, a sweeper); it is stopped with the runtime."""

        async def run() -> None:
            await self._ready.wait()
            assert self.broker is not None
            await start(self.broker)

        self._tasks.append(asyncio.create_task(run()))

    async def _record_denial(self, method: str, error: DomainError) -> None:
        """A refused call becomes `vm.<service>.request.denied.v1` for the audit log. Nothing
        changed, so a plain insert into the outbox (no transaction) is enough."""
        caller = current_caller()
        event = new_event(
            f"vm.{self.name}.request.denied.v1",
            common_pb2.RequestDenied(
                method=method,
                reason=error.reason,
                detail=error.message,
                caller=caller.user_id or caller.kind,
                client_address=client_address_var.get() or "",
            ),
            source=f"/services/{self.name}",
            company_id=caller.company_id,
            subject=method,
        )
        await asyncio.wait_for(self.outbox.add(None, event), DENIAL_RECORD_TIMEOUT_SECONDS)
        if self.relay is not None:
            self.relay.wake()

    async def _bring_up(
        self, handlers: Mapping[str, EventHandler], prepare: Prepare | None
    ) -> None:
        await self._retry("database", self._prepare_database(prepare))
        await self._retry("broker", lambda: self._connect_events(handlers))
        self._ready.set()
        log.info("connected to the database and the broker")

    async def _connect_events(self, handlers: Mapping[str, EventHandler]) -> None:
        if self.broker is None:
            self.broker = await connect_broker(self.settings.amqp_url, name=self.name)
        publisher = EventPublisher(self.broker, self.settings.events_exchange)
        await publisher.start()
        if handlers and self.consumer is None:
            consumer = EventConsumer(
                service=self.name,
                connection=self.broker,
                db=self.db,
                transactions=self.transactions,
                exchange_name=self.settings.events_exchange,
                queue_prefix=self.settings.amqp_prefix,
                handlers=handlers,
            )
            await consumer.start()
            self.consumer = consumer
        self.relay = OutboxRelay(self.db, publisher)
        self.transactions.after_commit(self.relay.wake)
        self._tasks.append(asyncio.create_task(self.relay.run()))
        self._tasks.append(asyncio.create_task(self._measure_backlogs()))

    async def _measure_backlogs(self) -> None:
        """Every METRICS_SAMPLE_SECONDS: the outbox's backlog, the queue's depth (lag)."""
        while True:
            try:
                with untraced():
                    if self.relay is not None:
                        await self.relay.measure_backlog()
                    if self.consumer is not None:
                        await self.consumer.measure_queues()
            except Exception as error:  # the database or broker is away: sampled again later
                log.info("metrics not sampled", extra={"error": str(error)[:200]})
            await asyncio.sleep(METRICS_SAMPLE_SECONDS)

    def _prepare_database(self, prepare: Prepare | None) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await self.outbox.ensure_indexes()
            await self.replays.ensure_indexes()
            if prepare:
                await prepare()

        return run

    async def _retry(self, what: str, attempt: Callable[[], Awaitable[object]]) -> object:
        delay = 0.2
        while True:
            try:
                return await attempt()
            except Exception as error:  # keep trying: the dependency may come up later
                log.warning("waiting for the %s", what, extra={"error": str(error)[:200]})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 3.0)

    async def _report_readiness(self) -> None:
        """SERVING while the database answers, once the first bring-up is done (the queues
        declared and bound, so that no event published from then on finds no queue). A
        broker outage after that changes nothing here: events wait in the outbox, the
        consumer and the relay reconnect by themselves, the metrics show the backlog."""
        serving = False
        while True:
            with untraced():
                healthy = self._ready.is_set() and await ping(self.mongo)
            if healthy != serving and self.server is not None:
                await self.server.set_serving(healthy)
                serving = healthy
                log.info("health changed", extra={"serving": healthy})
            await asyncio.sleep(1.0)

    async def stop(self) -> None:
        """Stop taking calls, drain them for the grace period, then close the clients.
        Each step is bounded: a broker that is reconnecting or a task stuck in a call must
        not keep the process (or a test's teardown) from ending."""
        if self.server is not None:
            grace = self.settings.grpc_grace_seconds
            await _bounded("the gRPC server", self.server.stop(grace), grace + STOP_STEP_SECONDS)
        if self.consumer is not None:
            await _bounded("the event consumer", self.consumer.stop(), STOP_STEP_SECONDS)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            ended, stuck = await asyncio.wait(self._tasks, timeout=STOP_STEP_SECONDS)
            for task in ended:  # retrieved, so that a task's own failure is not reported
                if not task.cancelled():
                    task.exception()
            if stuck:
                log.warning("tasks did not stop in time", extra={"tasks": len(stuck)})
        if self.broker is not None:
            await _bounded("the broker connection", self.broker.close(), STOP_STEP_SECONDS)
        await _bounded("the database client", self.mongo.close(), STOP_STEP_SECONDS)


async def _bounded(what: str, closing: Awaitable[object], seconds: float) -> None:
    """Await one step of a stop for at most `seconds`; a step that fails or hangs is told
    in the log and left behind, since the process is ending anyway."""
    try:
        await asyncio.wait_for(closing, seconds)
    except TimeoutError:
        log.warning("%s did not close in time", what, extra={"seconds": seconds})
    except Exception as error:  # closing what is already broken: nothing left to do
        log.warning("%s did not close cleanly", what, extra={"error": str(error)[:200]})


def run_service_process(
    name: str, serve: Callable[[Settings, asyncio.Event], Awaitable[None]]
) -> None:
    """Entry point of `python -m services.<name>`: settings, JSON logs, signals, event loop."""
    from services.kit.grpc_server import install_stop_signals
    from services.kit.logs import configure_logging
    from services.kit.settings import get_settings
    from services.kit.tracing import configure_tracing

    settings = get_settings()
    configure_logging(name, settings.log_level)
    configure_tracing(name)  # before any server, channel or client is made
    serve_metrics(settings, name)

    async def main() -> None:
        stop = asyncio.Event()
        install_stop_signals(stop)
        await serve(settings, stop)

    asyncio.run(main())


def remote_authenticator(settings: Settings) -> CallerAuthenticator:
    """For services other than identity: verify tokens with keys fetched from identity."""
    from services.kit.auth import TokenVerifier
    from services.kit.grpc_client import open_channel
    from services.kit.identity_keys import identity_key_source

    verifier = TokenVerifier(
        identity_key_source(open_channel(settings.identity_addr)),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    return CallerAuthenticator(verifier, settings.operator_token.get_secret_value())


async def serve_until_stopped(
    start: Callable[[Settings], Awaitable[ServiceRuntime]], settings: Settings, stop: asyncio.Event
) -> None:
    runtime = await start(settings)
    await stop.wait()
    await runtime.stop()


def caller_access_resolver(settings: Settings) -> CallerAccessResolver:
    """For services other than identity: what a caller may do, asked of identity."""
    from services.kit.grpc_client import open_channel

    return CallerAccessResolver(
        open_channel(settings.identity_addr), ttl_seconds=settings.caller_access_cache_seconds
    )


async def start_service(
    runtime: ServiceRuntime,
    servicers: Iterable[Registrar],
    service_names: Iterable[str],
    policy: AccessPolicy,
    handlers: Mapping[str, EventHandler],
    address: str | None = None,
    prepare: Prepare | None = None,
) -> int:
    """Start a service that verifies tokens with identity's keys (every one but identity)
    and asks identity what each caller may do (`runtime.caller_access`, made here unless
    the service made it first for its use cases)."""
    runtime.caller_access = runtime.caller_access or caller_access_resolver(runtime.settings)
    return await runtime.start(
        servicers=servicers,
        service_names=service_names,
        policy=policy,
        authenticator=remote_authenticator(runtime.settings),
        handlers=handlers,
        prepare=prepare,
        address=address,
    )


class Worker(Protocol):
    """What a worker process runs: the jobs the work queue hands it; stopped with grace."""

    run: JobHandler

    async def stop(self, grace_seconds: float) -> None: ...


@dataclass(frozen=True)
class WorkSource:
    """Where a worker process takes its jobs from (kit.work_queue)."""

    queue: str
    due: DueJobs
    prefetch: int
    housekeeping: Housekeeping | None = None


async def start_worker(
    runtime: ServiceRuntime,
    worker: Worker,
    source: WorkSource,
    *,
    prepare: Prepare,
    address: str,
) -> None:
    """A worker process: grpc.health.v1 only (SERVING while MongoDB answers, once up),
    and, once they do, the work queue's jobs and its sweeps (kit.work_queue.take_work)."""
    settings = runtime.settings

    async def consume(broker: AbstractRobustConnection) -> None:
        await take_work(
            WorkQueue(broker, source.queue),
            worker.run,
            source.due,
            prefetch=source.prefetch,
            lease_seconds=settings.work_lease_seconds,
            sweep_seconds=settings.work_sweep_seconds,
            housekeeping=source.housekeeping,
        )

    await runtime.start(
        servicers=[],
        service_names=[],
        policy=AccessPolicy(),
        authenticator=remote_authenticator(settings),
        prepare=prepare,
        address=address,
    )
    runtime.when_ready(consume)


async def serve_worker(
    start: Callable[[Settings], Awaitable[tuple[ServiceRuntime, Worker]]],
    settings: Settings,
    stop: asyncio.Event,
) -> None:
    """Until `stop`: then the jobs in hand end with grace, and the process stops."""
    runtime, worker = await start(settings)
    await stop.wait()
    await worker.stop(settings.grpc_grace_seconds)
    await runtime.stop()
