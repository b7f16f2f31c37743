"""Composition root of the notifications worker: `python -m services.notifications.worker`.

A process of its own, scaled on its own (as many replicas as the load needs; each piece of
work is claimed by one of them). It runs loops side by side until it is told to stop:

- the webhook deliveries that are due (service/delivering.DeliveryWorker), at most
  VM_WEBHOOK_DELIVERIES_AT_ONCE in flight, a quarter of them to one endpoint, each receiver
  given VM_WEBHOOK_TIMEOUT_SECONDS to answer;
- the e-mail to a company whose endpoint a day of failures disabled
  (service/owners_notice.OwnersNotice);
- the automation rules' firings (service/automation_runner.AutomationRunner), each run with
  its owner's rights;
- the notices to people by e-mail and SMS (service/people_notices.NoticeSender);
- and whatever `extra_loops` adds.

The loops start once the database is prepared (its indexes made); none of them needs the
broker. The process serves grpc.health.v1 on VM_NOTIFICATIONS_WORKER_PORT (SERVING while
MongoDB answers, once it is up) and nothing else. On SIGTERM the loops stop taking work and
the attempts under way finish within the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from services.kit.delivery import HttpSmsCentre, SmtpMailSender
from services.kit.grpc_client import open_channel
from services.kit.grpc_server import AccessPolicy
from services.kit.known_companies import KnownCompanies
from services.kit.runtime import ServiceRuntime, remote_authenticator, run_service_process
from services.kit.settings import Settings
from services.notifications.main import (
    NAME,
    WORKER_NAME,
    attempt_lease,
    deliverer,
    webhook_client,
)
from services.notifications.service.automation_peers import Channels, GrpcRulePeers
from services.notifications.service.automation_runner import AutomationRunner, RunnerStores
from services.notifications.service.delivering import DeliveryWorker, WorkerLimits
from services.notifications.service.owners_notice import OwnersNotice
from services.notifications.service.people_directory import IdentityDirectory
from services.notifications.service.people_notices import NoticeSender
from services.notifications.store.contacts import CompanyContacts
from services.notifications.store.deliveries import DeliveryStore
from services.notifications.store.endpoints import EndpointStore
from services.notifications.store.notices import NoticeStore
from services.notifications.store.preferences import PreferenceStore
from services.notifications.store.rule_runs import RunStore
from services.notifications.store.rules import RuleStore

log = logging.getLogger(__name__)

# A loop of the worker: runs until `stop` is set, then ends what it has under way.
Loop = Callable[[asyncio.Event], Awaitable[None]]
# Makes a loop from the worker's runtime (its database, its settings).
LoopFactory = Callable[[ServiceRuntime], Loop]
Close = Callable[[], Awaitable[None]]

# Loops started beside the built-in ones (tests add their own).
EXTRA_LOOPS: tuple[LoopFactory, ...] = ()


class NotificationsWorker:
    """The worker's loops: started once the database is prepared, stopped together."""

    def __init__(self, loops: Sequence[Loop], closers: Sequence[Close] = ()) -> None:
        self._loops = list(loops)
        self._closers = list(closers)
        self._stop = asyncio.Event()
        self._starter: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks += [asyncio.create_task(self._guarded(loop)) for loop in self._loops]

    def start_when(self, prepared: asyncio.Event) -> None:
        async def wait_then_start() -> None:
            await prepared.wait()
            self.start()

        self._starter = asyncio.create_task(wait_then_start())

    async def stop(self, grace_seconds: float) -> None:
        self._stop.set()
        if self._starter is not None and not self._starter.done():
            self._starter.cancel()  # the database never came up: nothing was started
            await asyncio.gather(self._starter, return_exceptions=True)
        tasks = list(self._tasks)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace_seconds)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        for close in self._closers:
            with contextlib.suppress(Exception):
                await close()

    async def _guarded(self, loop: Loop) -> None:
        try:
            await loop(self._stop)
        except Exception:
            # A loop's own failures are its to handle; one that escapes stops only it.
            log.exception("a notifications worker loop stopped")


def delivery_loop(worker: DeliveryWorker, poll: float) -> Loop:
    async def run(stop: asyncio.Event) -> None:
        running = asyncio.create_task(worker.run(poll=poll))
        await stop.wait()
        worker.stop()  # claims no more; the attempts under way finish
        await running

    return run


def owners_notice_loop(notice: OwnersNotice, poll: float) -> Loop:
    async def run(stop: asyncio.Event) -> None:
        await notice.run(stop, poll)

    return run


def automation_loop(runner: AutomationRunner, poll: float) -> Loop:
    async def run(stop: asyncio.Event) -> None:
        running = asyncio.create_task(runner.run(poll=poll))
        await stop.wait()
        runner.stop()  # claims no more; the run under way finishes
        await running

    return run


def notices_loop(sender: NoticeSender, poll: float) -> Loop:
    async def run(stop: asyncio.Event) -> None:
        await sender.run(stop, poll)

    return run


def automation_runner(runtime: ServiceRuntime, mail: SmtpMailSender) -> AutomationRunner:
    settings, db = runtime.settings, runtime.db
    channels = Channels(
        identity=open_channel(settings.identity_addr),
        catalog=open_channel(settings.catalog_addr),
        billing=open_channel(settings.billing_addr),
        tickets=open_channel(settings.tickets_addr),
    )
    return AutomationRunner(
        RunnerStores(RuleStore(db), RunStore(db), EndpointStore(db), DeliveryStore(db)),
        GrpcRulePeers(channels, settings.operator_token.get_secret_value()),
        HttpSmsCentre(settings.sms_centre_url),
        mail,
        runtime.transactions,
        runtime.outbox,
    )


def worker_limits(settings: Settings) -> WorkerLimits:
    overall = settings.webhook_deliveries_at_once
    return WorkerLimits(
        overall=overall, per_endpoint=max(1, overall // 4), lease=attempt_lease(settings)
    )


def build_worker(
    runtime: ServiceRuntime, extra_loops: Sequence[LoopFactory] = EXTRA_LOOPS
) -> NotificationsWorker:
    settings, db = runtime.settings, runtime.db
    poll, background = (
        settings.notifications_poll_seconds,
        settings.notifications_background_poll_seconds,
    )
    client = webhook_client(settings)
    deliveries = DeliveryWorker(
        DeliveryStore(db), deliverer(runtime, client), limits=worker_limits(settings)
    )
    directory = IdentityDirectory(
        open_channel(settings.identity_addr), settings.operator_token.get_secret_value()
    )
    mail = SmtpMailSender(settings.smtp_host, settings.smtp_port, settings.mail_from)
    notice = OwnersNotice(
        EndpointStore(db), directory, CompanyContacts(db), KnownCompanies(db), mail
    )
    sender = NoticeSender(
        NoticeStore(db),
        PreferenceStore(db),
        directory,
        mail=mail,
        sms=HttpSmsCentre(settings.sms_centre_url),
    )
    loops = [
        delivery_loop(deliveries, poll),
        owners_notice_loop(notice, background),
        automation_loop(automation_runner(runtime, mail), background),
        notices_loop(sender, background),
    ]
    loops += [make(runtime) for make in extra_loops]
    return NotificationsWorker(loops, closers=[client.aclose])


async def start(
    settings: Settings,
    address: str | None = None,
    *,
    extra_loops: Sequence[LoopFactory] = EXTRA_LOOPS,
) -> tuple[ServiceRuntime, NotificationsWorker]:
    runtime = ServiceRuntime.create(NAME, settings)
    worker = build_worker(runtime, extra_loops)
    prepared = asyncio.Event()

    async def prepare() -> None:
        db = runtime.db
        await EndpointStore(db).ensure_indexes()
        await DeliveryStore(db).ensure_indexes()
        await RuleStore(db).ensure_indexes()
        await RunStore(db).ensure_indexes()
        await NoticeStore(db).ensure_indexes()
        await PreferenceStore(db).ensure_indexes()
        prepared.set()

    await runtime.start(
        servicers=[],
        service_names=[],
        policy=AccessPolicy(),
        authenticator=remote_authenticator(settings),
        prepare=prepare,
        address=address or f"{settings.grpc_host}:{settings.notifications_worker_port}",
    )
    worker.start_when(prepared)
    return runtime, worker


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    runtime, worker = await start(settings)
    await stop.wait()
    await worker.stop(settings.grpc_grace_seconds)
    await runtime.stop()


if __name__ == "__main__":
    run_service_process(WORKER_NAME, serve)
