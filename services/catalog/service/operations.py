"""Catalog's use cases: the operations on one number.

Each reads the number (within the caller's scope for the operation's permission:
elsewhere it is not found) and lets the domain decide the number's new state. The network
is never asked inside a transaction (service/provisioning_saga.py): the decision is
recorded as an intent, which holds the number, in one transaction; the network is asked
after the commit with the intent's reference, and its answer is recorded in a second
transaction guarded by the intent still pending — the fields the change sets, the event,
the intent finished and so the number let go. A refusal of the network leaves the number
as it was. A number with a change in flight refuses another (409 `conflict`, reason
CHANGE_IN_PROGRESS); a process killed between the steps leaves the intent to the
reconciler, which asks the network how it ended and finishes or undoes it — the caller
then got no answer or 503 PROVISIONING_PENDING, and the journal tells the outcome.

Each is also an operation of the journal (`vm.catalog.operation.updated.v1`, a single
operation: services/kit/single_operation.py) written with the answer — or, refused before
the network was asked once the number was found and the caller allowed, alone after the
rollback.

Who may: numbers.tariff, numbers.services, numbers.blocks, numbers.forwarding and
numbers.sim where the number is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from services.catalog.domain import operations as rules
from services.catalog.domain.catalogue import SettingValue
from services.catalog.domain.numbers import Number, Scope, checked_iccid, checked_msisdn
from services.catalog.provisioning import MsisdnChange, SimChange
from services.catalog.service.decisions import (
    MSISDN_REPLACED,
    SIM_REPLACED,
    SOURCE,
    Decide,
    Decision,
    Loaded,
    block_removal,
    block_setting,
    forwarding_removal,
    forwarding_setting,
    number_event,
    service_connection,
    service_disconnection,
    tariff_change,
    tariff_settings_change,
)
from services.catalog.service.provisioning_saga import ProvisioningSaga
from services.catalog.store.catalogue import CatalogueStore
from services.catalog.store.intents import SINGLE, Intent
from services.catalog.store.number_changes import NumberChanges, fields_changed
from services.catalog.store.numbers import NumberStore
from services.kit import single_operation as single
from services.kit.authz import Access
from services.kit.caller_access import CallerAccessResolver
from services.kit.context import Caller
from services.kit.errors import Conflict, NotAllowed, NotFound, Unavailable
from services.kit.events import Event
from services.kit.ids import new_id
from services.kit.mongo import Transactions
from services.kit.outbox import Outbox
from vm.catalog.events.v1 import events_pb2

SERVICE = "catalog"


def _told(op: single.SingleOperation, outcome: single.Outcome) -> Event:
    return single.operation_event(op, outcome, source=SOURCE)


class OperationCases:
    def __init__(
        self,
        numbers: NumberStore,
        changes: NumberChanges,
        catalogue: CatalogueStore,
        transactions: Transactions,
        outbox: Outbox,
        access: CallerAccessResolver,
        saga: ProvisioningSaga,
    ) -> None:
        self._numbers = numbers
        self._changes = changes
        self._catalogue = catalogue
        self._tx = transactions
        self._outbox = outbox
        self._access = access
        self._saga = saga

    async def ensure_indexes(self) -> None:
        await self._changes.ensure_indexes()
        await self._saga.ensure_indexes()

    # ------------------------------------------------------------ tariff

    async def change_tariff(
        self, caller: Caller, msisdn: str, tariff_id: str, settings: Mapping[str, SettingValue]
    ) -> Number:
        decide = tariff_change(tariff_id, settings)
        return await self._operate(caller, msisdn, "change_tariff", decide)

    async def change_tariff_settings(
        self, caller: Caller, msisdn: str, settings: Mapping[str, SettingValue]
    ) -> Number:
        decide = tariff_settings_change(settings)
        return await self._operate(caller, msisdn, "change_tariff_settings", decide)

    # ------------------------------------------------------------ services

    async def connect_service(self, caller: Caller, msisdn: str, service_id: str) -> Number:
        decide = service_connection(service_id, datetime.now(UTC))
        return await self._operate(caller, msisdn, "connect_service", decide)

    async def disconnect_service(self, caller: Caller, msisdn: str, service_id: str) -> Number:
        decide = service_disconnection(service_id)
        return await self._operate(caller, msisdn, "disconnect_service", decide)

    # ------------------------------------------------------------ blocks

    async def set_block(self, caller: Caller, msisdn: str, block_type: str) -> Number:
        decide = block_setting(rules.checked_block_type(block_type), datetime.now(UTC))
        return await self._operate(caller, msisdn, "block", decide)

    async def remove_block(self, caller: Caller, msisdn: str, block_type: str) -> Number:
        decide = block_removal(rules.checked_block_type(block_type))
        return await self._operate(caller, msisdn, "unblock", decide)

    # ------------------------------------------------------------ forwarding

    async def set_forwarding(
        self, caller: Caller, msisdn: str, condition: str, target: str
    ) -> Number:
        wanted_msisdn = checked_msisdn(msisdn)
        wanted = rules.checked_condition(condition)
        normalized = rules.checked_forwarding_target(target, wanted_msisdn)
        decide = forwarding_setting(wanted, normalized)
        return await self._operate(caller, wanted_msisdn, "set_forwarding", decide)

    async def remove_forwarding(self, caller: Caller, msisdn: str, condition: str) -> Number:
        decide = forwarding_removal(rules.checked_condition(condition))
        return await self._operate(caller, msisdn, "remove_forwarding", decide)

    # ------------------------------------------------------------ SIM and number

    async def replace_sim(self, caller: Caller, msisdn: str, iccid: str) -> Number:
        wanted = checked_iccid(iccid)

        async def decide(loaded: Loaded) -> Decision:
            after = rules.with_sim(loaded.number, wanted)
            if await self._changes.sim_taken(wanted, loaded.session):
                raise Conflict("the SIM card is already in use", reason="ALREADY_EXISTS")
            payload = events_pb2.NumberSimReplaced(
                company_id=after.company_id,
                msisdn=after.msisdn,
                iccid=wanted,
                previous_iccid=loaded.number.iccid,
            )
            return Decision(
                after, SimChange(after.msisdn, wanted), number_event(SIM_REPLACED, payload, after)
            )

        return await self._operate(caller, msisdn, "replace_sim", decide)

    async def replace_number(self, caller: Caller, msisdn: str, new_msisdn: str = "") -> Number:
        wanted = checked_msisdn(msisdn)
        wanted_new = checked_msisdn(new_msisdn, "new_msisdn") if new_msisdn.strip() else None
        if wanted_new:
            rules.checked_new_msisdn(wanted_new, wanted)

        async def decide(loaded: Loaded) -> Decision:
            old = loaded.number
            free = await self._changes.take_free(wanted_new, loaded.session)
            if free is None and wanted_new:
                raise Conflict("the number is not in the free pool", reason="NUMBER_NOT_FREE")
            if free is None:
                raise NotAllowed("the pool has no free numbers now", reason="POOL_EMPTY")
            after = rules.replaced(old, free["_id"])
            payload = events_pb2.NumberMsisdnReplaced(
                company_id=after.company_id,
                msisdn=after.msisdn,
                previous_msisdn=old.msisdn,
                iccid=after.iccid,
                node_id=after.node_id,
                node_path=list(after.node_path),
            )

            return Decision(
                after,
                MsisdnChange(old.msisdn, after.msisdn, after.iccid),
                number_event(MSISDN_REPLACED, payload, after),
                taken=free,  # back to the pool if the network refuses
            )

        return await self._operate(caller, wanted, "replace_number", decide)

    # ------------------------------------------------------------ the one way a change goes

    async def _operate(
        self, caller: Caller, msisdn: str, operation_type: str, decide: Decide
    ) -> Number:
        """The change, told to the journal as a single operation: with its answer, or —
        refused before the network was asked, once the number was found and the caller
        allowed — alone, after the deciding transaction rolled back."""
        permission, title = rules.SINGLE_OPERATIONS[operation_type]
        wanted = checked_msisdn(msisdn)
        access, scope = await self._scope(caller, permission)
        journal = single.SingleOperation(
            service=SERVICE,
            company_id=access.company_id,
            type=operation_type,
            title=title,
            permission=permission,
            target=wanted,
            created_by=caller.user_id or "",
            at=datetime.now(UTC),
        )
        reached = False  # the number found and the caller allowed: an operation on it
        reference = new_id("prv")

        async def intend(session: AsyncClientSession) -> tuple[Number, Intent | None]:
            nonlocal reached
            number = await self._numbers.get(scope, wanted, session)
            if number is None:
                raise NotFound("no such number")
            access.require(permission, number.node_path)
            reached = True
            catalogue = await self._catalogue.catalogue(session)
            decision = await decide(Loaded(number, catalogue, session))
            if decision is None:  # already so: nothing to ask the network, nothing to tell
                await self._outbox.add(session, _told(journal, single.UNCHANGED))
                return number, None
            if decision.change is None:  # ours alone: written at once, a hold left as it is
                await self._changes.set_fields(
                    decision.after, fields_changed(number, decision.after), session
                )
                await self._outbox.add(session, decision.event, _told(journal, single.CHANGED))
                return decision.after, None
            intent = Intent(
                reference=reference,
                company_id=number.company_id,
                msisdn=number.msisdn,
                change=decision.change,
                fields=fields_changed(number, decision.after),
                event=decision.event,
                owner=SINGLE,
                journal=asdict(journal),
                free=decision.taken,
            )
            await self._saga.intend([intent], session, lease=self._saga.lease)
            return decision.after, intent

        try:
            after, intent = await self._tx.run(intend)
        except (NotAllowed, Conflict, Unavailable) as refusal:
            if reached:
                failed = _told(journal, single.refused(refusal))

                async def tell(session: AsyncClientSession) -> None:
                    await self._outbox.add(session, failed)

                await self._tx.run(tell)
            raise
        if intent is not None:
            await self._saga.run_single(intent)  # its refusal is told with it
        return after

    async def _scope(self, caller: Caller, permission: str) -> tuple[Access, Scope]:
        """The caller's access and the numbers it reaches with `permission`."""
        access = await self._access.access(caller)
        return access, Scope.required(access, permission)
