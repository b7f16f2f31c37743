"""What each change of a number does, decided once for the single-number calls and the
bulk operations alike.

A `Decide` takes the number as read in the unit's transaction (with the catalogue) and
returns a `Decision`: the number after the change, what the network is asked, and the
event — or None when the number already is so (nothing to ask, nothing to tell). A
refusal raises the domain's error with its reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from services.catalog.domain import operations as rules
from services.catalog.domain.catalogue import Catalogue, SettingValue
from services.catalog.domain.hierarchy import Node
from services.catalog.domain.numbers import Number
from services.catalog.provisioning import (
    BlockChange,
    Change,
    ForwardingChange,
    ServiceChange,
    TariffChange,
)
from services.kit.errors import NotAllowed
from services.kit.events import Event, new_event
from vm.catalog.events.v1 import events_pb2

SOURCE = "/services/catalog"

TARIFF_CHANGED = "vm.catalog.number.tariff_changed.v1"
TARIFF_SETTINGS_CHANGED = "vm.catalog.number.tariff_settings_changed.v1"
SERVICE_CONNECTED = "vm.catalog.number.service_connected.v1"
SERVICE_DISCONNECTED = "vm.catalog.number.service_disconnected.v1"
BLOCKED = "vm.catalog.number.blocked.v1"
UNBLOCKED = "vm.catalog.number.unblocked.v1"
FORWARDING_CHANGED = "vm.catalog.number.forwarding_changed.v1"
SIM_REPLACED = "vm.catalog.number.sim_replaced.v1"
MSISDN_REPLACED = "vm.catalog.number.msisdn_replaced.v1"
NUMBER_MOVED = "vm.catalog.number.moved.v1"


@dataclass(frozen=True)
class Decision:
    """What a change will do: the number after it, what the network is asked (None: a
    change of ours alone, such as the node), the event, and (for number replacement) the
    free pool's document of the number it took (back to the pool if the network refuses)."""

    after: Number
    change: Change | None
    event: Event
    taken: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Loaded:
    number: Number
    catalogue: Catalogue
    session: AsyncClientSession


Decide = Callable[[Loaded], Awaitable[Decision | None]]


def number_event(event_type: str, payload: object, number: Number) -> Event:
    return new_event(
        event_type,
        payload,  # type: ignore[arg-type]
        source=SOURCE,
        company_id=number.company_id,
        subject=number.msisdn,
    )


def number_moved(number: Number, node: Node) -> Event:
    payload = events_pb2.NumberMoved(
        company_id=number.company_id,
        msisdn=number.msisdn,
        node_id=node.id,
        node_path=list(node.path),
    )
    return number_event(NUMBER_MOVED, payload, number)


def _tariff_event(event_type: str, before: Number, after: Number) -> Event:
    payload = events_pb2.NumberTariffChanged(
        company_id=after.company_id,
        msisdn=after.msisdn,
        tariff_id=after.tariff.id,
        previous_tariff_id=before.tariff.id,
        settings=dict(after.tariff.settings),
    )
    return number_event(event_type, payload, after)


def block_event(event_type: str, after: Number, block_type: str) -> Event:
    payload = events_pb2.NumberBlockChanged(
        company_id=after.company_id,
        msisdn=after.msisdn,
        block_type=block_type,
        status=after.status,
        blocks=[b.type for b in after.blocks],
    )
    return number_event(event_type, payload, after)


def _service_event(event_type: str, after: Number, service_id: str) -> Event:
    payload = events_pb2.NumberServiceChanged(
        company_id=after.company_id, msisdn=after.msisdn, service_id=service_id
    )
    return number_event(event_type, payload, after)


# ---------------------------------------------------------------- tariff


def tariff_change(tariff_id: str, settings: Mapping[str, SettingValue]) -> Decide:
    async def decide(loaded: Loaded) -> Decision | None:
        tariff = loaded.catalogue.known_tariff(tariff_id.strip())
        after = rules.with_tariff(loaded.number, tariff, settings, loaded.catalogue)
        if after == loaded.number:
            return None
        return Decision(
            after,
            TariffChange(after.msisdn, tariff.id, after.tariff.settings),
            _tariff_event(TARIFF_CHANGED, loaded.number, after),
        )

    return decide


def tariff_settings_change(settings: Mapping[str, SettingValue]) -> Decide:
    async def decide(loaded: Loaded) -> Decision | None:
        tariff = loaded.catalogue.tariffs_by_id.get(loaded.number.tariff.id)
        if tariff is None:
            raise NotAllowed(
                "the number's tariff is no longer in the catalogue; change the tariff",
                reason="TARIFF_UNAVAILABLE",
            )
        after = rules.with_tariff_settings(loaded.number, tariff, settings)
        if after == loaded.number:
            return None
        return Decision(
            after,
            TariffChange(after.msisdn, tariff.id, after.tariff.settings),
            _tariff_event(TARIFF_SETTINGS_CHANGED, loaded.number, after),
        )

    return decide


# ---------------------------------------------------------------- services


def service_connection(service_id: str, now: datetime) -> Decide:
    async def decide(loaded: Loaded) -> Decision:
        service = loaded.catalogue.known_service(service_id.strip())
        after = rules.with_service(loaded.number, service, loaded.catalogue, now)
        return Decision(
            after,
            ServiceChange(after.msisdn, service.id, connected=True),
            _service_event(SERVICE_CONNECTED, after, service.id),
        )

    return decide


def service_disconnection(service_id: str) -> Decide:
    async def decide(loaded: Loaded) -> Decision:
        after = rules.without_service(loaded.number, service_id, loaded.catalogue)
        return Decision(
            after,
            ServiceChange(after.msisdn, service_id, connected=False),
            _service_event(SERVICE_DISCONNECTED, after, service_id),
        )

    return decide


# ---------------------------------------------------------------- blocks


def block_setting(block_type: str, now: datetime) -> Decide:
    async def decide(loaded: Loaded) -> Decision:
        after = rules.with_block(loaded.number, block_type, now)
        return Decision(
            after,
            BlockChange(after.msisdn, block_type, set=True),
            block_event(BLOCKED, after, block_type),
        )

    return decide


def block_removal(block_type: str) -> Decide:
    async def decide(loaded: Loaded) -> Decision:
        after = rules.without_block(loaded.number, block_type)
        return Decision(
            after,
            BlockChange(after.msisdn, block_type, set=False),
            block_event(UNBLOCKED, after, block_type),
        )

    return decide


# ---------------------------------------------------------------- forwarding


def forwarding_setting(condition: str, target: str) -> Decide:
    """`target` already normalised; forwarding a number to itself is refused here."""

    async def decide(loaded: Loaded) -> Decision | None:
        rules.check_not_to_itself(target, loaded.number.msisdn)
        if rules.forwarding_target(loaded.number, condition) == target:
            return None
        after = rules.with_forwarding(loaded.number, condition, target)
        return _forwarding_decision(after, condition, target)

    return decide


def forwarding_removal(condition: str) -> Decide:
    async def decide(loaded: Loaded) -> Decision:
        after = rules.without_forwarding(loaded.number, condition)
        return _forwarding_decision(after, condition, "")

    return decide


def _forwarding_decision(after: Number, condition: str, target: str) -> Decision:
    payload = events_pb2.NumberForwardingChanged(
        company_id=after.company_id, msisdn=after.msisdn, condition=condition, target=target
    )
    return Decision(
        after,
        ForwardingChange(after.msisdn, condition, target),
        number_event(FORWARDING_CHANGED, payload, after),
    )


# ---------------------------------------------------------------- the node


def move_to(node: Node) -> Decide:
    """A place in the company's tree is ours alone: nothing for the network."""

    async def decide(loaded: Loaded) -> Decision | None:
        if loaded.number.node_id == node.id:
            return None
        after = replace(loaded.number, node_id=node.id, node_path=tuple(node.path))
        return Decision(after, None, number_moved(after, node))

    return decide
