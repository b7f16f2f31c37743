"""The provisioning port: every change of a number reaches the network through it.

The network is never asked inside a MongoDB transaction (service/provisioning_saga.py):
catalog records its intent with a reference of its own, commits, asks
`Provisioning.apply(change, reference)`, then records the answer. The port is idempotent
by reference: the same reference asked again is answered with its first answer and never
applied twice, so a caller that died (or timed out) may ask again. `settle(reference)`
gives the final answer for a reference: whether the change was applied; a reference the
network never saw is refused from then on, so a late `apply` of it cannot happen after a
reconciler gave up on it. Each change states the number's new state (a tariff, a service
on or off, ...), never a delta.

`SimulatedProvisioning` stands in for the network in development and tests: its latency
and failure rate are settings, and a list of numbers whose every change it refuses lets a
test make one number fail deterministically. It keeps every answer (and so each line's
state: tariff, services, blocks, forwarding, SIM) in a MongoDB database of its own
(`<prefix>network`, never in catalog's transactions), one write per request, so that its
memory survives a kill of the catalog service or worker and is shared by both.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from pymongo import ASCENDING, InsertOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.kit.errors import Unavailable
from services.kit.grouped_writes import GroupedWrites
from services.kit.settings import Settings

log = logging.getLogger(__name__)


class ProvisioningFailed(Unavailable):
    """The network did not confirm the change: nothing was changed, the caller may retry
    (503 `unavailable` with reason `provisioning_failed`)."""

    reason = "PROVISIONING_FAILED"


@dataclass(frozen=True)
class TariffChange:
    msisdn: str
    tariff_id: str
    settings: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceChange:
    msisdn: str
    service_id: str
    connected: bool


@dataclass(frozen=True)
class BlockChange:
    msisdn: str
    block_type: str
    set: bool


@dataclass(frozen=True)
class ForwardingChange:
    msisdn: str
    condition: str
    target: str  # empty: forwarding removed


@dataclass(frozen=True)
class SimChange:
    msisdn: str
    iccid: str


@dataclass(frozen=True)
class MsisdnChange:
    msisdn: str  # the number being replaced
    new_msisdn: str
    iccid: str  # the SIM card that takes the new number


Change = TariffChange | ServiceChange | BlockChange | ForwardingChange | SimChange | MsisdnChange


def numbers_of(change: Change) -> tuple[str, ...]:
    """The numbers a change touches on the network."""
    if isinstance(change, MsisdnChange):
        return (change.msisdn, change.new_msisdn)
    return (change.msisdn,)


CHANGE_TYPES: dict[str, type[Change]] = {
    t.__name__: t
    for t in (TariffChange, ServiceChange, BlockChange, ForwardingChange, SimChange, MsisdnChange)
}


def change_doc(change: Change) -> dict[str, Any]:
    """A change as a document (an intent's, the simulator's record)."""
    return {"kind": type(change).__name__, **asdict(change)}


def change_from(doc: Mapping[str, Any]) -> Change:
    fields = {k: v for k, v in doc.items() if k != "kind"}
    if "settings" in fields:
        fields["settings"] = dict(fields["settings"])
    return CHANGE_TYPES[doc["kind"]](**fields)


class ProvisioningPending(Unavailable):
    """The network's answer is not known (it did not answer in time): the change is
    finished or undone by the reconciler shortly (503 `unavailable`, reason
    `provisioning_pending`); the number takes no other change meanwhile."""

    reason = "PROVISIONING_PENDING"


class Provisioning(Protocol):
    async def apply(self, change: Change, reference: str) -> None:
        """Returns when the network confirmed the change; ProvisioningFailed when it
        refused. The same `reference` again gets its first answer, never a second change.
        Any other error: the answer is unknown (ask `settle` later)."""

    async def settle(self, reference: str) -> bool:
        """Whether the change of `reference` was applied: final. A reference never seen is
        refused from now on (a late `apply` of it is refused)."""


@dataclass(frozen=True)
class Line:
    """A line as the network has it, from the changes it applied (None: never told)."""

    msisdn: str
    tariff_id: str | None = None
    settings: Mapping[str, str] | None = None
    services: Mapping[str, bool] = field(default_factory=dict)  # told on (True) or off
    blocks: Mapping[str, bool] = field(default_factory=dict)
    forwarding: Mapping[str, str] = field(default_factory=dict)  # condition → target ("": off)
    iccid: str | None = None
    replaced_by: str | None = None


def _told(line: Line, change: Change) -> Line:
    match change:
        case TariffChange(tariff_id=tariff_id, settings=settings):
            return replace(line, tariff_id=tariff_id, settings=dict(settings))
        case ServiceChange(service_id=service_id, connected=connected):
            return replace(line, services={**line.services, service_id: connected})
        case BlockChange(block_type=block_type, set=is_set):
            return replace(line, blocks={**line.blocks, block_type: is_set})
        case ForwardingChange(condition=condition, target=target):
            return replace(line, forwarding={**line.forwarding, condition: target})
        case SimChange(iccid=iccid):
            return replace(line, iccid=iccid)
        case MsisdnChange(msisdn=old, new_msisdn=new, iccid=iccid):
            if line.msisdn == old:
                return replace(line, replaced_by=new)
            return replace(line, iccid=iccid)  # the card's line, under its new number
    return line


class Answers(Protocol):
    """Where the simulator keeps its answers, each with its change: `record` keeps the
    first answer of a reference and returns the one kept."""

    async def record(self, reference: str, answer: dict[str, Any]) -> dict[str, Any]: ...

    async def of_line(self, msisdn: str) -> list[dict[str, Any]]:
        """The applied answers touching the number, in the order they were applied."""
        ...


class MemoryAnswers:
    """For tests that need no durable network: one process's memory."""

    def __init__(self) -> None:
        self._answers: dict[str, dict[str, Any]] = {}

    async def record(self, reference: str, answer: dict[str, Any]) -> dict[str, Any]:
        return self._answers.setdefault(reference, {"_id": reference, **answer})

    async def of_line(self, msisdn: str) -> list[dict[str, Any]]:
        touching = [
            a for a in self._answers.values() if a["applied"] and msisdn in a.get("msisdns", ())
        ]
        return sorted(touching, key=lambda a: a["seq"])


class MongoAnswers:
    """The network's own database: `requests`, one document per reference (its `_id`), so
    the first answer is kept by the unique key alone — one insert per request. A bulk
    batch asks about a hundred changes at once: their inserts go out grouped, one command
    for what arrives together, so that the stand-in for the network does not cost the
    shared database a command per number that the real network would not."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._requests = db["requests"]
        self._inserts = GroupedWrites(self._requests)

    async def ensure_indexes(self) -> None:
        await self._requests.create_index([("msisdns", ASCENDING), ("seq", ASCENDING)])

    async def record(self, reference: str, answer: dict[str, Any]) -> dict[str, Any]:
        document = {"_id": reference, **answer}
        try:
            await self._inserts.write(InsertOne(document))
        except DuplicateKeyError:
            first = await self._requests.find_one({"_id": reference})
            if first is not None:
                return first
            raise
        return document

    async def of_line(self, msisdn: str) -> list[dict[str, Any]]:
        cursor = self._requests.find({"msisdns": msisdn, "applied": True}).sort("seq", ASCENDING)
        return [doc async for doc in cursor]


class SimulatedProvisioning:
    """The network as development and tests see it: confirms after `latency_seconds`,
    refuses a `failure_rate` share of changes at random and every change of `fail_msisdns`;
    its answers are kept in `answers` (a process's memory unless given)."""

    def __init__(
        self,
        *,
        latency_seconds: float = 0.0,
        failure_rate: float = 0.0,
        fail_msisdns: Iterable[str] = (),
        rng: random.Random | None = None,
        answers: Answers | None = None,
    ) -> None:
        if latency_seconds < 0 or not 0.0 <= failure_rate <= 1.0:
            raise ValueError("latency must be 0 or more, the failure rate from 0.0 to 1.0")
        self._latency = latency_seconds
        self._failure_rate = failure_rate
        self._fail_msisdns = frozenset(fail_msisdns)
        self._rng = rng or random.Random()
        self._answers = answers or MemoryAnswers()

    @classmethod
    def from_settings(
        cls, settings: Settings, db: AsyncDatabase | None = None
    ) -> SimulatedProvisioning:
        """`db`: the network's own database (settings.database_name("network"))."""
        fail = [m.strip() for m in settings.provisioning_fail_msisdns.split(",") if m.strip()]
        return cls(
            latency_seconds=settings.provisioning_latency_seconds,
            failure_rate=settings.provisioning_failure_rate,
            fail_msisdns=fail,
            answers=MongoAnswers(db) if db is not None else None,
        )

    async def ensure_indexes(self) -> None:
        if isinstance(self._answers, MongoAnswers):
            await self._answers.ensure_indexes()

    async def apply(self, change: Change, reference: str) -> None:
        if self._latency:
            await asyncio.sleep(self._latency)
        refused = any(m in self._fail_msisdns for m in numbers_of(change))
        if self._failure_rate and self._rng.random() < self._failure_rate:
            refused = True
        answer = await self._answers.record(
            reference,
            {
                "applied": not refused,
                "msisdns": list(numbers_of(change)),
                "change": change_doc(change),
                "seq": time.time_ns(),
            },
        )
        if not answer["applied"]:
            log.warning(
                "provisioning refused a change",
                extra={"change": type(change).__name__, "msisdn": change.msisdn},
            )
            raise ProvisioningFailed(
                "the network did not confirm the change; nothing was changed, try again later"
            )

    async def settle(self, reference: str) -> bool:
        answer = await self._answers.record(
            reference, {"applied": False, "msisdns": [], "settled": True, "seq": time.time_ns()}
        )
        return bool(answer["applied"])

    async def line(self, msisdn: str) -> Line:
        """The line as the changes the network applied left it (a replacement's new
        number starts from the old number's line)."""
        line = Line(msisdn)
        for answer in await self._answers.of_line(msisdn):
            change = change_from(answer["change"])
            if isinstance(change, MsisdnChange) and change.new_msisdn == msisdn:
                line = replace(await self._line_until(change.msisdn, answer["seq"]), msisdn=msisdn)
            line = _told(line, change)
        return line

    async def _line_until(self, msisdn: str, seq: int) -> Line:
        line = Line(msisdn)
        for answer in await self._answers.of_line(msisdn):
            if answer["seq"] >= seq:
                break
            line = _told(line, change_from(answer["change"]))
        return line
