"""Catalog's use cases: the company's numbers — the list, the card, the company's notes,
moving numbers between nodes, the export — and the operator giving out numbers.

Who may: reading needs numbers.view where the number is, the notes numbers.manage_notes
there (written with `vm.catalog.number.notes_changed.v1`); a caller scoped to
subtrees sees only their numbers, and every other number is not found (never "forbidden":
that would say it exists). Moving needs hierarchy.manage at each number's node and at the
target node. Adding numbers and filling the free pool is the operator's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from services.catalog.domain import numbers as domain
from services.catalog.domain.catalogue import Catalogue
from services.catalog.domain.hierarchy import Tree
from services.catalog.domain.numbers import NewNumber, Number, NumberFilter, Scope, TariffChoice
from services.catalog.service.decisions import number_event, number_moved
from services.catalog.store.catalogue import CatalogueStore
from services.catalog.store.hierarchy import NodeStore
from services.catalog.store.numbers import FreeNumberStore, NumberStore
from services.kit.authz import Access
from services.kit.caller_access import CallerAccessResolver
from services.kit.context import Caller
from services.kit.errors import InvalidArgument, NotFound, PermissionDenied
from services.kit.events import Event
from services.kit.known_companies import KnownCompanies
from services.kit.mongo import Transactions
from services.kit.outbox import Outbox
from services.kit.paging import MAX_PAGE_SIZE, decode_page_token, encode_page_token, page_size
from vm.catalog.events.v1 import events_pb2

VIEW = "numbers.view"
MANAGE_NOTES = "numbers.manage_notes"
MANAGE = "hierarchy.manage"
NUMBER_ADDED = "vm.catalog.number.added.v1"
NOTES_CHANGED = "vm.catalog.number.notes_changed.v1"
# Events written to the outbox per insert: a batch of 10,000 numbers makes 10,000 events.
EVENT_CHUNK = 1_000


def number_added(number: Number) -> Event:
    payload = events_pb2.NumberAdded(
        company_id=number.company_id,
        msisdn=number.msisdn,
        iccid=number.iccid,
        node_id=number.node_id,
        tariff_id=number.tariff.id,
    )
    return number_event(NUMBER_ADDED, payload, number)


def notes_changed(before: Number, after: Number, changes: dict[str, str]) -> Event:
    payload = events_pb2.NumberNotesChanged(
        company_id=after.company_id,
        msisdn=after.msisdn,
        changed=sorted(changes),
        label=after.label,
        comment=after.comment,
        cost_center=after.cost_center,
        previous_label=before.label,
        previous_comment=before.comment,
        previous_cost_center=before.cost_center,
    )
    return number_event(NOTES_CHANGED, payload, after)


class NumberCases:
    def __init__(
        self,
        numbers: NumberStore,
        free_numbers: FreeNumberStore,
        nodes: NodeStore,
        catalogue: CatalogueStore,
        companies: KnownCompanies,
        transactions: Transactions,
        outbox: Outbox,
        access: CallerAccessResolver,
    ) -> None:
        self._numbers = numbers
        self._free = free_numbers
        self._nodes = nodes
        self._catalogue = catalogue
        self._companies = companies
        self._tx = transactions
        self._outbox = outbox
        self._access = access

    async def ensure_indexes(self) -> None:
        await self._numbers.ensure_indexes()
        await self._free.ensure_indexes()

    # ------------------------------------------------------------ a company reads

    async def list_numbers(
        self, caller: Caller, number_filter: NumberFilter, size: int, token: str
    ) -> tuple[list[Number], str]:
        _, scope = await self._scope(caller, VIEW)
        limit = page_size(size)
        found = await self._numbers.page(scope, number_filter, after=_after(token), limit=limit + 1)
        next_token = encode_page_token(found[limit - 1].msisdn) if len(found) > limit else ""
        return found[:limit], next_token

    async def export_numbers(
        self, caller: Caller, number_filter: NumberFilter
    ) -> AsyncIterator[list[Number]]:
        """The whole filtered list in pages, read one after another as they are sent."""
        _, scope = await self._scope(caller, VIEW)
        after: str | None = None
        while True:
            page = await self._numbers.page(scope, number_filter, after=after, limit=MAX_PAGE_SIZE)
            if page:
                yield page
            if len(page) < MAX_PAGE_SIZE:
                return
            after = page[-1].msisdn

    async def get_number(self, caller: Caller, msisdn: str) -> Number:
        _, scope = await self._scope(caller, VIEW)
        number = await self._numbers.get(scope, domain.checked_msisdn(msisdn))
        if number is None:
            raise NotFound("no such number")
        return number

    # ------------------------------------------------------------ a company changes

    async def update_number(
        self,
        caller: Caller,
        msisdn: str,
        *,
        label: str | None,
        comment: str | None,
        cost_center: str | None,
    ) -> Number:
        """The company's own notes on a number (nothing changes on the network), written
        with `number.notes_changed` (what changed, before and after) for the audit log."""
        access, scope = await self._scope(caller, MANAGE_NOTES)
        wanted = domain.checked_msisdn(msisdn)
        notes = domain.checked_notes(label=label, comment=comment, cost_center=cost_center)

        async def write(session: AsyncClientSession) -> Number:
            before = await self._numbers.get(scope, wanted, session)
            if before is None:
                raise NotFound("no such number")
            access.require(MANAGE_NOTES, before.node_path)
            changes = domain.changed_notes(before, notes)
            if not changes:
                return before  # already so: nothing to write, nothing to tell
            after = await self._numbers.update_notes(scope, wanted, changes, session)
            if after is None:
                raise NotFound("no such number")
            await self._outbox.add(session, notes_changed(before, after, changes))
            return after

        return await self._tx.run(write)

    async def move_numbers(self, caller: Caller, msisdns: Sequence[str], node_id: str) -> int:
        """All of the numbers to the node, or none; returns how many changed place."""
        access, scope = await self._scope(caller, VIEW)
        wanted = domain.checked_msisdns(msisdns)

        async def write(session: AsyncClientSession) -> int:
            # Read inside the transaction: a concurrent move of the same numbers conflicts
            # and the whole unit runs again on what it left.
            tree = await self._nodes.tree(access.company_id, session)
            target = tree.get(node_id, field="node_id")
            found = await self._numbers.get_many(scope, wanted, session)
            if len(found) < len(wanted):
                # Named by count only: another company's number and no number look the same.
                missing = len(wanted) - len(found)
                raise NotFound(f"{missing} of the numbers are not found among yours")
            access.require(MANAGE, target.path)
            for number in found:
                access.require(MANAGE, number.node_path)
            moving = [number for number in found if number.node_id != target.id]
            if not moving:
                return 0
            await self._numbers.move(scope, [n.msisdn for n in moving], target, session)
            for start in range(0, len(moving), EVENT_CHUNK):
                chunk = moving[start : start + EVENT_CHUNK]
                await self._outbox.add(session, *(number_moved(n, target) for n in chunk))
            return len(moving)

        return await self._tx.run(write)

    # ------------------------------------------------------------ the operator

    async def add_numbers(
        self, caller: Caller, company_id: str, numbers: Sequence[NewNumber]
    ) -> int:
        """Numbers given to a company: each once (no other company, nor the pool, has it),
        on a tariff of the catalogue, at a node of the company (default: the root)."""
        _require_operator(caller)
        batch = domain.checked_batch(numbers)
        await self._companies.get(company_id)
        added_at = datetime.now(UTC)

        async def write(session: AsyncClientSession) -> int:
            tree = await self._nodes.tree(company_id, session)
            catalogue = await self._catalogue.catalogue(session)
            created = _placed(batch, company_id, tree, catalogue, added_at)
            await self._ensure_free(batch, session)
            await self._numbers.insert_all(created, session)
            for start in range(0, len(created), EVENT_CHUNK):
                chunk = created[start : start + EVENT_CHUNK]
                await self._outbox.add(session, *(number_added(n) for n in chunk))
            return len(created)

        return await self._tx.run(write)

    async def add_free_numbers(self, caller: Caller, numbers: Sequence[NewNumber]) -> int:
        """Numbers into the operator's pool, from which number replacement takes."""
        _require_operator(caller)
        batch = domain.checked_batch(numbers, need_tariff=False)
        added_at = datetime.now(UTC)

        async def write(session: AsyncClientSession) -> int:
            await self._ensure_free(batch, session)
            pairs = [(n.msisdn, n.iccid) for n in batch]
            await self._free.insert_all(pairs, added_at, session)
            return len(pairs)

        return await self._tx.run(write)

    # ------------------------------------------------------------ helpers

    async def _scope(self, caller: Caller, permission: str) -> tuple[Access, Scope]:
        """The caller's access and the numbers it reaches with `permission`."""
        access = await self._access.access(caller)
        return access, Scope.required(access, permission)

    async def _ensure_free(self, batch: Sequence[NewNumber], session: AsyncClientSession) -> None:
        msisdns = [n.msisdn for n in batch]
        iccids = [n.iccid for n in batch]
        for store, where in (
            (self._numbers, "given to a company already"),
            (self._free, "in the free pool already"),
        ):
            taken_msisdns, taken_iccids = await store.taken(msisdns, iccids, session)
            if taken_msisdns:
                raise domain.already_given("number", sorted(taken_msisdns), where)
            if taken_iccids:
                raise domain.already_given("SIM card", sorted(taken_iccids), where)


def _placed(
    batch: Sequence[NewNumber],
    company_id: str,
    tree: Tree,
    catalogue: Catalogue,
    added_at: datetime,
) -> list[Number]:
    """The numbers at their nodes, on their tariffs (with the tariff's default settings);
    an unknown node or tariff is reported per number."""
    errors: dict[str, str] = {}
    placed: list[Number] = []
    root = tree.root
    for index, number in enumerate(batch):
        at = f"numbers[{index}]"
        try:
            node = tree.get(number.node_id) if number.node_id else root
        except NotFound:
            errors[f"{at}.node_id"] = "not a node of this company"
            node = root
        try:
            tariff = catalogue.known_tariff(number.tariff_id, f"{at}.tariff_id")
        except NotFound as error:  # reported with the batch's other errors (422)
            errors.update(error.fields)
            continue
        choice = TariffChoice(tariff.id, tariff.name, tariff.defaults)
        placed.append(
            domain.new_number(
                number, company_id=company_id, node=node, tariff=choice, added_at=added_at
            )
        )
    if errors:
        shown = dict(list(errors.items())[: domain.ERRORS_SHOWN])
        raise InvalidArgument(f"{len(errors)} fields of the numbers are not valid", shown)
    return placed


def _after(token: str) -> str | None:
    after = decode_page_token(token)
    if after is not None and not (isinstance(after, str) and after.isdigit()):
        raise InvalidArgument(
            "the page token is not valid", {"page_token": "use the token from the previous page"}
        )
    return after


def _require_operator(caller: Caller) -> None:
    if not caller.is_operator:
        raise PermissionDenied("only the operator gives out numbers")
