"""Catalog's use cases: the hierarchy.

Who may: reading needs any company user; a change needs hierarchy.manage where it
happens — at the node (and, for a move, at the new parent as well), so a manager scoped
to a subtree changes only that subtree.
"""

from __future__ import annotations

from dataclasses import replace

from pymongo.asynchronous.client_session import AsyncClientSession

from services.catalog.domain import hierarchy as domain
from services.catalog.domain.hierarchy import Node, Tree
from services.catalog.store.hierarchy import NodeStore
from services.catalog.store.numbers import NumberStore
from services.kit.authz import Access
from services.kit.caller_access import CallerAccessResolver
from services.kit.context import Caller
from services.kit.events import Event, new_event
from services.kit.ids import new_id
from services.kit.mongo import Transactions
from services.kit.outbox import Outbox
from vm.catalog.events.v1 import events_pb2

SOURCE = "/services/catalog"
MANAGE = "hierarchy.manage"


def node_event(event_type: str, node: Node) -> Event:
    return new_event(
        event_type,
        events_pb2.NodeChanged(
            company_id=node.company_id,
            node_id=node.id,
            parent_id=node.parent_id or "",
            name=node.name,
            kind=node.kind,
        ),
        source=SOURCE,
        company_id=node.company_id,
        subject=node.id,
    )


class HierarchyCases:
    def __init__(
        self,
        nodes: NodeStore,
        transactions: Transactions,
        outbox: Outbox,
        access: CallerAccessResolver,
        *,
        numbers: NumberStore,
    ) -> None:
        self._nodes = nodes
        self._tx = transactions
        self._outbox = outbox
        self._access = access
        self._numbers = numbers  # their node paths follow the nodes that move

    async def ensure_indexes(self) -> None:
        await self._nodes.ensure_indexes()

    async def hierarchy(self, caller: Caller) -> tuple[list[Node], dict[str, int]]:
        access = await self._access.access(caller)
        tree = await self._nodes.tree(access.company_id)
        counts = tree.subtree_counts(await self._nodes.numbers_per_node(access.company_id))
        return tree.nodes, counts

    async def create_node(self, caller: Caller, parent_id: str, name: str, kind: str) -> Node:
        access, tree = await self._load(caller)
        access.require(MANAGE, tree.get(parent_id, field="parent_id").path)
        node = tree.new_child(
            new_id("nod"), parent_id=parent_id, name=name, kind=kind, company_id=access.company_id
        )

        async def write(session: AsyncClientSession) -> None:
            await self._nodes.insert(node, session)
            await self._outbox.add(session, node_event("vm.catalog.node.created.v1", node))

        await self._tx.run(write)
        return node

    async def update_node(
        self,
        caller: Caller,
        node_id: str,
        *,
        name: str | None,
        kind: str | None,
        parent_id: str | None,
    ) -> Node:
        access, tree = await self._load(caller)
        node = tree.get(node_id)
        access.require(MANAGE, node.path)
        changed = [node]
        if parent_id is not None and parent_id != node.parent_id:
            access.require(MANAGE, tree.get(parent_id, field="parent_id").path)
            changed = tree.moved(node.id, parent_id)
        if name is not None or kind is not None:
            if node.is_root:
                kind = None  # the root stays the company; only its name may change
            changed[0] = replace(
                changed[0],
                name=domain.checked_name(name) if name is not None else node.name,
                kind=domain.checked_kind(kind) if kind is not None else node.kind,
            )
        updated = changed[0]

        async def write(session: AsyncClientSession) -> None:
            await self._nodes.save_all(changed, session)
            await self._numbers.follow_nodes(changed, session)
            await self._outbox.add(session, node_event("vm.catalog.node.changed.v1", updated))

        await self._tx.run(write)
        return updated

    async def delete_node(self, caller: Caller, node_id: str, move_to: str | None) -> None:
        access, tree = await self._load(caller)
        node = tree.get(node_id)
        access.require(MANAGE, node.path)
        direct = await self._nodes.numbers_per_node(access.company_id)
        target = tree.ensure_deletable(
            node.id, has_numbers=direct.get(node.id, 0) > 0, move_to=move_to
        )
        if target is not None:
            access.require(MANAGE, target.path)
        deleted = new_event(
            "vm.catalog.node.deleted.v1",
            events_pb2.NodeDeleted(
                company_id=node.company_id,
                node_id=node.id,
                moved_to_node_id=target.id if target else "",
            ),
            source=SOURCE,
            company_id=node.company_id,
            subject=node.id,
        )

        async def write(session: AsyncClientSession) -> None:
            if target is not None:
                await self._nodes.move_numbers(access.company_id, node.id, target, session)
            await self._nodes.delete(access.company_id, node.id, session)
            await self._outbox.add(session, deleted)

        await self._tx.run(write)

    async def create_root(self, company_id: str, name: str, session: AsyncClientSession) -> None:
        """The company's root node, when catalog learns of the company (once)."""
        if await self._nodes.has_root(company_id, session):
            return
        root = Node(new_id("nod"), company_id, None, name, domain.ROOT_KIND)
        await self._nodes.insert(root, session)
        await self._outbox.add(session, node_event("vm.catalog.node.created.v1", root))

    async def _load(self, caller: Caller) -> tuple[Access, Tree]:
        access = await self._access.access(caller)
        return access, await self._nodes.tree(access.company_id)
