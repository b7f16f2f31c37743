"""The provisioning port: every change of a number reaches the network through it.

A use case asks `Provisioning.apply(change)` after the domain has accepted the change and
before it writes anything: the number's state changes only when the network confirmed,
and a refusal (`ProvisioningFailed`) leaves it as it was. Each change states the number's
new state (a tariff, a service on or off, ...), never a delta, so asking again — when a
transaction runs a second time after a write conflict — is harmless.

`SimulatedProvisioning` stands in for the network in development and tests: its latency
and failure rate are settings, and a list of numbers whose every change it refuses lets a
test make one number fail deterministically.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from services.kit.errors import Unavailable
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


class Provisioning(Protocol):
    async def apply(self, change: Change) -> None:
        """Returns when the network confirmed the change; ProvisioningFailed otherwise."""


class SimulatedProvisioning:
    """The network as development and tests see it: confirms after `latency_seconds`,
    refuses a `failure_rate` share of changes at random and every change of `fail_msisdns`."""

    def __init__(
        self,
        *,
        latency_seconds: float = 0.0,
        failure_rate: float = 0.0,
        fail_msisdns: Iterable[str] = (),
        rng: random.Random | None = None,
    ) -> None:
        if latency_seconds < 0 or not 0.0 <= failure_rate <= 1.0:
            raise ValueError("latency must be 0 or more, the failure rate from 0.0 to 1.0")
        self._latency = latency_seconds
        self._failure_rate = failure_rate
        self._fail_msisdns = frozenset(fail_msisdns)
        self._rng = rng or random.Random()

    @classmethod
    def from_settings(cls, settings: Settings) -> SimulatedProvisioning:
        fail = [m.strip() for m in settings.provisioning_fail_msisdns.split(",") if m.strip()]
        return cls(
            latency_seconds=settings.provisioning_latency_seconds,
            failure_rate=settings.provisioning_failure_rate,
            fail_msisdns=fail,
        )

    async def apply(self, change: Change) -> None:
        if self._latency:
            await asyncio.sleep(self._latency)
        refused = any(m in self._fail_msisdns for m in numbers_of(change))
        if refused or (self._failure_rate and self._rng.random() < self._failure_rate):
            log.warning(
                "provisioning refused a change",
                extra={"change": type(change).__name__, "msisdn": change.msisdn},
            )
            raise ProvisioningFailed(
                "the network did not confirm the change; nothing was changed, try again later"
            )
