"""Attempting webhook deliveries: one attempt, a manual retry, and the workers' pass.

An attempt signs the delivery's payload as the Standard Webhooks specification says, POSTs
it (webhook_http.py: checked addresses only, no redirects, the answer cut to 1 KB) and
records what came of it. A 2xx answer delivers it; anything else is a failed attempt, and
the next one is scheduled by domain/delivery_schedule.py until the day is over, when the
delivery has failed for good. Every attempt also tells the endpoint whether it is failing:
after a day of failures without a single success it is disabled, and the outcome says so;
the endpoint then owes its owners an e-mail (`owners_told_at`), which
service/owners_notice.py sends.

The times of the schedule come from the caller (`now`), so that tests move the clock; the
signature's `webhook-timestamp` is the wall clock's, as receivers check it against theirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from standardwebhooks import Webhook

from services.kit.errors import InvalidArgument, NotAllowed, NotFound
from services.kit.metrics import WEBHOOK_ATTEMPTS
from services.notifications.domain import delivery_schedule
from services.notifications.domain.addresses import checked_webhook_url
from services.notifications.domain.webhooks import (
    DELIVERED,
    DISABLED_FAILING,
    FAILED,
    PENDING,
    Attempt,
    Delivery,
    Endpoint,
    signature_header,
)
from services.notifications.service.webhook_http import Answer, WebhookClient
from services.notifications.store.deliveries import DeliveryStore
from services.notifications.store.endpoints import EndpointStore

USER_AGENT = "VirtualManager-Webhooks/1"

log = logging.getLogger(__name__)


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AttemptOutcome:
    delivery_id: str
    company_id: str
    endpoint_id: str
    state: str  # the delivery's state after it: pending (retry due), delivered or failed
    attempt: Attempt | None  # None: nothing was sent (the endpoint is gone or disabled)
    # This attempt disabled the endpoint (a day of failures): its owners are to be told.
    # Exactly one outcome says so per disabling; the endpoint also keeps
    # `owners_told_at: None` until the notifier (service/owners_notice.py) sends the e-mail.
    endpoint_disabled: bool = False


def signed_headers(
    delivery: Delivery, endpoint_secrets: tuple[str, ...], sent_at: datetime
) -> dict[str, str]:
    signatures = [
        Webhook(secret).sign(delivery.message_id, sent_at, delivery.payload)
        for secret in endpoint_secrets
    ]
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature_header(signatures),
    }


class Deliverer:
    """Attempts one delivery that the caller holds (a worker holding its endpoint, or a
    manual retry)."""

    def __init__(
        self,
        deliveries: DeliveryStore,
        endpoints: EndpointStore,
        client: WebhookClient,
        *,
        dev_mode: bool,
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self._deliveries = deliveries
        self._endpoints = endpoints
        self._client = client
        self._dev_mode = dev_mode
        self._clock = clock

    async def endpoints_of(self, deliveries: Sequence[Delivery]) -> dict[str, Endpoint]:
        """The endpoints of a pass's deliveries, read once for all of them."""
        return await self._endpoints.of_deliveries(
            (d.company_id, d.endpoint_id) for d in deliveries
        )

    async def attempt(
        self, delivery: Delivery, now: datetime, endpoint: Endpoint | None = None
    ) -> AttemptOutcome:
        """`endpoint`: as the worker's pass read it; None: read here (a manual retry, or
        an endpoint the pass did not find)."""
        if endpoint is None:
            try:
                endpoint = await self._endpoints.get(delivery.company_id, delivery.endpoint_id)
            except NotFound:
                return await self._give_up(delivery, "the endpoint was deleted")
        if not endpoint.enabled:
            # Kept failed rather than pending: the company sends it again by hand once
            # the endpoint is enabled.
            return await self._give_up(
                delivery, f"the endpoint is disabled ({endpoint.disabled_reason})"
            )
        answer = await self._post(endpoint, delivery)
        attempt = Attempt(now, answer.status_code, answer.error, answer.latency_ms, answer.excerpt)
        state, next_at = state_after(delivery, attempt)
        await self._deliveries.record_attempt(
            delivery,
            attempt,
            state=state,
            next_attempt_at=next_at,
            series_started_at=delivery.series_started_at or now,
        )
        disabled = await self._note_on_endpoint(endpoint, state == DELIVERED, now)
        WEBHOOK_ATTEMPTS.labels(state).inc()
        return AttemptOutcome(
            delivery.id, delivery.company_id, delivery.endpoint_id, state, attempt, disabled
        )

    async def _post(self, endpoint: Endpoint, delivery: Delivery) -> Answer:
        try:
            # Checked again at every attempt: the rules (or dev mode) may have changed since
            # the endpoint was saved.
            target = checked_webhook_url(endpoint.url, dev_mode=self._dev_mode)
        except InvalidArgument as refused:
            return Answer(None, refused.message, 0, "")
        sent_at = self._clock()
        headers = signed_headers(delivery, endpoint.secrets.valid_at(sent_at), sent_at)
        return await self._client.post(target.url, headers, delivery.payload.encode())

    async def _note_on_endpoint(self, endpoint: Endpoint, succeeded: bool, now: datetime) -> bool:
        """Records the attempt's result on the endpoint; True if it disabled the endpoint."""
        if succeeded:
            # Read at this attempt: an endpoint not failing needs no write (one a concurrent
            # failure just marked is cleared by its next success).
            if endpoint.failing_since is not None:
                await self._endpoints.record_success(endpoint.company_id, endpoint.id)
            return False
        try:
            failing = await self._endpoints.record_failure(endpoint.company_id, endpoint.id, now)
        except NotFound:
            return False  # deleted meanwhile
        if not delivery_schedule.must_disable_endpoint(failing.failing_since, now):
            return False
        return await self._endpoints.disable_failing(
            endpoint.company_id, endpoint.id, DISABLED_FAILING, now
        )

    async def _give_up(self, delivery: Delivery, why: str) -> AttemptOutcome:
        await self._deliveries.give_up(delivery, why)
        return AttemptOutcome(delivery.id, delivery.company_id, delivery.endpoint_id, FAILED, None)


def state_after(delivery: Delivery, attempt: Attempt) -> tuple[str, datetime | None]:
    """The delivery's state after this attempt, and when the next one is due."""
    if delivery_schedule.answered_ok(attempt.status_code):
        return DELIVERED, None
    next_at = delivery_schedule.next_attempt_at(
        delivery.series_attempts + 1, delivery.series_started_at or attempt.at
    )
    return (PENDING, next_at) if next_at is not None else (FAILED, None)


# The least time between two passes of a worker over the due deliveries.
PASS_GAP_SECONDS = 0.05
# The fewest due deliveries a pass looks at a time.
MIN_SCAN = 16


@dataclass(frozen=True)
class WorkerLimits:
    overall: int = 32  # attempts in flight in one worker
    per_endpoint: int = 4  # of them, to one endpoint: a slow one cannot take them all
    # How long a worker holds an endpoint: at least twice as long as an attempt can take
    # (webhook_http.Timeouts.total), as the lease is renewed when half of it is left.
    lease: timedelta = timedelta(seconds=60)
    # Due deliveries read at a time, and how many such reads a pass makes at most. Each
    # read leaves out the endpoints already at their limit and the deliveries already
    # passed over, so that one endpoint's backlog cannot hide everybody else's. A read
    # costs the embedded database the whole backlog whatever its limit, so a large one
    # is read rarely (1,000 deliveries: a few MB in the worker).
    scan: int = 1000
    scans: int = 3
    # A pass claims from the run of due deliveries read before (DueRun) and reads the
    # database only when the run is used up, or when slots are free that the run cannot
    # fill (its endpoints are at their share, its numbers wait for earlier events): then
    # at most once per this time. A read costs a database that cannot stop at its limit
    # (the embedded one reads every match before it sorts) the whole backlog, so a
    # worker draining one reads once per `scan` deliveries, not once per freed slot.
    # Another endpoint's deliveries wait behind a backlog at most this long.
    reread_after: timedelta = timedelta(seconds=5)


class DueRun:
    """Due deliveries read from the database and not claimed yet, earliest first.

    Whatever falls due after a read is due later than all of it, so the run keeps the
    order of the database's read; what it lacks is only other endpoints' deliveries
    (left out of a read while their endpoints were at their share). A claim checks each
    delivery again (still due, still free): one claimed or attempted elsewhere meanwhile
    is only dropped."""

    def __init__(self) -> None:
        self.read_at: datetime | None = None
        self._due: dict[str, Delivery] = {}

    def may_read(self, now: datetime, reread_after: timedelta) -> bool:
        """Whether a pass it cannot fill reads the database: at once when nothing is left
        of it, else once `reread_after` has passed since the last read (or the clock went
        back)."""
        if not self._due or self.read_at is None:
            return True
        return not timedelta(0) <= now - self.read_at < reread_after

    def add(self, read: Sequence[Delivery], now: datetime) -> None:
        """What a read at `now` found, merged in order (each delivery once)."""
        self.read_at = now
        for delivery in read:
            self._due.setdefault(delivery.id, delivery)
        ordered = sorted(
            self._due.values(), key=lambda d: (d.next_attempt_at or d.created_at, d.id)
        )
        self._due = {d.id: d for d in ordered}

    def first(self, limit: int, *, skip_endpoints: set[str], skip_ids: set[str]) -> list[Delivery]:
        chosen: list[Delivery] = []
        for delivery in self._due.values():
            if len(chosen) >= limit:
                break
            if delivery.endpoint_id not in skip_endpoints and delivery.id not in skip_ids:
                chosen.append(delivery)
        return chosen

    def drop(self, delivery_ids: set[str]) -> None:
        for delivery_id in delivery_ids:
            self._due.pop(delivery_id, None)


class EndpointLeases:
    """The endpoints a worker holds, and those it found another worker holding.

    A held lease is renewed once half of it is gone, so an attempt started under it (it
    lasts at most webhook_http.Timeouts.total, under half a lease) ends before it runs
    out; while it runs no write is made. An endpoint another worker holds is asked for
    again after `RETRY_AFTER`: its holder may have stopped."""

    RETRY_AFTER = timedelta(seconds=5)

    def __init__(self, deliveries: DeliveryStore, holder: str, lease: timedelta) -> None:
        self._deliveries = deliveries
        self._holder = holder
        self._lease = lease
        self._held: dict[str, tuple[datetime, datetime]] = {}  # endpoint → (from, until)
        self._refused: dict[str, datetime] = {}  # endpoint → asked again from then

    async def hold(self, endpoint_id: str, now: datetime) -> bool:
        held = self._held.get(endpoint_id)
        if held is not None and held[0] <= now and held[1] - now >= self._lease / 2:
            return True
        until = now + self._lease
        if await self._deliveries.hold_endpoint(endpoint_id, self._holder, now, until):
            self._held[endpoint_id] = (now, until)
            self._refused.pop(endpoint_id, None)
            return True
        self._held.pop(endpoint_id, None)
        self._refused[endpoint_id] = now + self.RETRY_AFTER
        return False

    def others(self, now: datetime) -> list[str]:
        """The endpoints another worker held when last asked, not to be asked again yet."""
        return [e for e, again in self._refused.items() if now < again]

    async def release_all(self) -> None:
        """Lets the held endpoints go, for another worker to take at once; if the database
        is away, they run out instead."""
        held, self._held = list(self._held), {}
        with contextlib.suppress(Exception):
            await self._deliveries.release_endpoints(held, self._holder)


class DeliveryWorker:
    """Takes due deliveries and attempts them. Several workers (replicas) may run: each
    endpoint's deliveries are sent by the one worker that holds its lease."""

    def __init__(
        self,
        deliveries: DeliveryStore,
        deliverer: Deliverer,
        *,
        limits: WorkerLimits = WorkerLimits(),
        holder: str | None = None,
    ) -> None:
        self._deliveries = deliveries
        self._deliverer = deliverer
        self._limits = limits
        self._holder = holder or secrets.token_hex(8)
        self._in_flight: Counter[str] = Counter()  # attempts running, by endpoint
        self._attempting: set[str] = set()  # their deliveries, still due in the database
        self._leases = EndpointLeases(deliveries, self._holder, limits.lease)
        self._stopping = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._run = DueRun()

    async def run_once(self, now: datetime) -> list[AttemptOutcome]:
        """Claims what is due and fits the limits, attempts it all concurrently and
        returns what came of each attempt. It reads what is due at `now` afresh."""
        self._run = DueRun()
        claimed = await self._claim(now)
        endpoints = await self._endpoints_of(claimed)
        outcomes = await asyncio.gather(
            *(self._attempt(d, now, endpoints.get(d.endpoint_id)) for d in claimed)
        )
        return [outcome for outcome in outcomes if outcome is not None]

    async def run(self, clock: Callable[[], datetime] = wall_clock, poll: float = 1.0) -> None:
        """Until `stop()`: each pass starts what is due without waiting for the attempts
        of the passes before, so a slow endpoint holds only its own share of the slots
        while the others' deliveries keep going out. Stopping lets the attempts under way
        finish (each is bounded by webhook_http.Timeouts.total) and claims no more."""
        running: set[asyncio.Task[AttemptOutcome | None]] = set()
        while not self._stopping.is_set():
            now = clock()
            try:
                claimed = await self._claim(now)
            except Exception as error:
                # The database is away: nothing was claimed; the next pass tries again.
                log.warning("webhook worker paused", extra={"error": str(error)})
                claimed = []
            endpoints = await self._endpoints_of(claimed)
            for delivery in claimed:
                endpoint = endpoints.get(delivery.endpoint_id)
                task = asyncio.create_task(self._attempt(delivery, now, endpoint))
                running.add(task)
                task.add_done_callback(running.discard)
            # A burst goes out without waiting for `poll`, but a pass reads the database
            # (the order of its numbers, the claims; the due deliveries when its run
            # cannot serve it): at most one pass each PASS_GAP_SECONDS, so that a backlog
            # cannot take the database from the services that write it.
            await asyncio.sleep(PASS_GAP_SECONDS)
            if claimed and self._has_room():
                continue  # more may be due at once
            # Nothing due, or every slot taken: the next pass when an attempt ends (a slot
            # is free) or after `poll` (a retry falls due, another process added work).
            self._slot_freed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken(), timeout=poll)
        await asyncio.gather(*running)
        await self._leases.release_all()

    async def _endpoints_of(self, claimed: list[Delivery]) -> dict[str, Endpoint]:
        """The pass's endpoints in one read; when it fails, each attempt reads its own."""
        try:
            return await self._deliverer.endpoints_of(claimed)
        except Exception as error:
            log.warning("webhook endpoints not read", extra={"error": str(error)})
            return {}

    def _has_room(self) -> bool:
        return sum(self._in_flight.values()) < self._limits.overall

    async def _woken(self) -> None:
        stopping = asyncio.ensure_future(self._stopping.wait())
        freed = asyncio.ensure_future(self._slot_freed.wait())
        try:
            await asyncio.wait({stopping, freed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            freed.cancel()

    def stop(self) -> None:
        self._stopping.set()

    async def _claim(self, now: datetime) -> list[Delivery]:
        free = self._limits.overall - sum(self._in_flight.values())
        claimed: list[Delivery] = []
        try:
            await self._claim_into(claimed, free, now)
        except BaseException:
            for delivery in claimed:  # still due: taken again by a later pass
                self._release(delivery)
            raise
        return claimed

    async def _claim_into(self, claimed: list[Delivery], free: int, now: datetime) -> None:
        reads: int | None = None  # decided when the run cannot fill the free slots
        passed_over: set[str] = set()  # waiting for an earlier event, or taken by another
        while len(claimed) < free:
            need = free - len(claimed)
            skip_ids = passed_over | self._attempting
            due = self._run.first(
                max(4 * need, MIN_SCAN), skip_endpoints=set(self._skipped(now)), skip_ids=skip_ids
            )
            if not due:
                if reads is None:
                    may_read = self._run.may_read(now, self._limits.reread_after)
                    reads = self._limits.scans if may_read else 0
                if reads == 0:
                    break
                reads -= 1
                read = await self._deliveries.due(
                    now,
                    self._limits.scan,
                    skip_endpoints=self._skipped(now),
                    skip_ids=sorted(skip_ids),
                )
                self._run.add(read, now)
                if len(read) < self._limits.scan:
                    reads = 0  # nothing more is due
                if not read:
                    break
                continue
            # An earlier event of its number first: one read for the batch, of only those
            # that could go (the read costs one index look-up per number): twice what
            # each endpoint has room for, so that a few waiting ones leave enough.
            candidates = self._within_limits(due, 2 * need, spare=2)
            waiting = await self._deliveries.waiting_for_earlier(candidates)
            passed_over |= waiting
            ready = [d for d in candidates if d.id not in waiting]
            wanted = self._within_limits(ready, need)
            held = await self._take(wanted, now)
            taken = {d.id for d in held}
            gone = {d.id for d in wanted} - taken  # another worker's, or no longer due
            passed_over |= gone
            self._run.drop(taken | gone)
            for delivery in held:
                claimed.append(delivery)
                self._in_flight[delivery.endpoint_id] += 1
                self._attempting.add(delivery.id)

    async def _take(self, wanted: list[Delivery], now: datetime) -> list[Delivery]:
        """Of `wanted`, those this worker now sends: their endpoints held, and still due
        as the database has them now (read before, maybe sent by another holder since)."""
        endpoints = sorted({d.endpoint_id for d in wanted})
        mine = {e for e in endpoints if await self._leases.hold(e, now)}
        return await self._deliveries.still_due(
            [d.id for d in wanted if d.endpoint_id in mine], now
        )

    def _within_limits(self, due: list[Delivery], free: int, spare: int = 1) -> list[Delivery]:
        """The first of `due` that fit: `free` in all, and no endpoint past its share
        (`spare` times the room it has left)."""
        share = self._limits.per_endpoint
        room = Counter({e: spare * (share - n) for e, n in self._in_flight.items()})
        chosen: list[Delivery] = []
        for delivery in due:
            if len(chosen) >= free:
                break
            endpoint = delivery.endpoint_id
            if endpoint not in room:
                room[endpoint] = spare * share
            if room[endpoint] <= 0:
                continue  # left out of the next read
            room[endpoint] -= 1
            chosen.append(delivery)
        return chosen

    def _skipped(self, now: datetime) -> list[str]:
        """The endpoints left out of a pass: those with as many attempts in flight as they
        may have, and those another worker holds."""
        full = [e for e, n in self._in_flight.items() if n >= self._limits.per_endpoint]
        return sorted({*full, *self._leases.others(now)})

    async def _attempt(
        self, delivery: Delivery, now: datetime, endpoint: Endpoint | None
    ) -> AttemptOutcome | None:
        """The outcome, or None when it could not be recorded (the database is away): the
        delivery is still due and is tried again."""
        try:
            return await self._deliverer.attempt(delivery, now, endpoint)
        except Exception as error:
            log.warning(
                "webhook attempt not recorded",
                extra={"delivery_id": delivery.id, "error": str(error)},
            )
            return None
        finally:
            self._release(delivery)

    def _release(self, delivery: Delivery) -> None:
        self._attempting.discard(delivery.id)
        self._in_flight[delivery.endpoint_id] -= 1
        if self._in_flight[delivery.endpoint_id] <= 0:
            del self._in_flight[delivery.endpoint_id]
        self._slot_freed.set()


async def retry_delivery(
    deliveries: DeliveryStore,
    deliverer: Deliverer,
    company_id: str,
    delivery_id: str,
    now: datetime,
    *,
    lease: timedelta = WorkerLimits.lease,
) -> AttemptOutcome:
    """A company's "send it again" of a failed delivery, or of one waiting for its next
    attempt: a new attempt now, and if it fails, a new day of retries from it."""
    held = await deliveries.restart(company_id, delivery_id, now, secrets.token_hex(8), now + lease)
    if held is None:
        delivery = await deliveries.get(company_id, delivery_id)  # NotFound: not theirs
        raise NotAllowed(
            f"delivery {delivery.id} is {delivery.state}: only a failed delivery, or one "
            "waiting for its next attempt, is sent again"
        )
    return await deliverer.attempt(held, now)
