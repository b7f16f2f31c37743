"""Catalog's rules: the company's hierarchy tree.

Pure and synchronous. A node keeps the ids of its ancestors (root first), so a subtree
is one indexed query (`ancestors` contains X) and a move rewrites only the moved subtree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from services.kit.errors import InvalidArgument, NotAllowed, NotFound

ROOT_KIND = "company"
NODE_KINDS: dict[str, str] = {
    ROOT_KIND: "Компания",
    "region": "Регион",
    "city": "Город",
    "branch": "Филиал",
    "department": "Отдел",
    "group": "Группа",
}
NAME_MAX = 200
MAX_DEPTH = 32


@dataclass(frozen=True)
class Node:
    id: str
    company_id: str
    parent_id: str | None
    name: str
    kind: str
    ancestors: tuple[str, ...] = ()  # root first; empty for the root

    @property
    def is_root(self) -> bool:
        return self.parent_id is None

    @property
    def path(self) -> tuple[str, ...]:
        """The ancestors and the node itself: what a scope check walks."""
        return (*self.ancestors, self.id)


def checked_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidArgument(
            "the node's name is not valid", {"name": f"use 1 to {NAME_MAX} characters"}
        )
    return name


def checked_kind(kind: str) -> str:
    if kind not in NODE_KINDS or kind == ROOT_KIND:
        allowed = ", ".join(k for k in NODE_KINDS if k != ROOT_KIND)
        raise InvalidArgument("unknown kind of node", {"kind": f"one of: {allowed}"})
    return kind


class Tree:
    """One company's hierarchy, as loaded from the store."""

    def __init__(self, nodes: Iterable[Node]) -> None:
        self._nodes = {node.id: node for node in nodes}
        self._children: dict[str, list[str]] = defaultdict(list)
        for node in self._nodes.values():
            if node.parent_id is not None:
                self._children[node.parent_id].append(node.id)

    @property
    def nodes(self) -> list[Node]:
        """Parents before their children (by depth), siblings by name."""
        return sorted(self._nodes.values(), key=lambda n: (len(n.ancestors), n.name, n.id))

    @property
    def root(self) -> Node:
        return next(node for node in self._nodes.values() if node.is_root)

    def get(self, node_id: str, *, field: str | None = None) -> Node:
        """The node; NotFound if the company has none of this id, naming the request's
        `field` when the id came in one (a parent, a target), not in the path."""
        node = self._nodes.get(node_id)
        if node is None:
            fields = {field: "no such hierarchy node"} if field else None
            raise NotFound("no such hierarchy node", fields)
        return node

    def children(self, node_id: str) -> list[Node]:
        return [self._nodes[child] for child in self._children.get(node_id, [])]

    def subtree(self, node_id: str) -> list[Node]:
        """The node first, then everything below it, parents before their children."""
        members = [n for n in self._nodes.values() if n.id == node_id or node_id in n.ancestors]
        return sorted(members, key=lambda n: (len(n.ancestors), n.id))

    def new_child(
        self, node_id: str, *, parent_id: str, name: str, kind: str, company_id: str
    ) -> Node:
        parent = self.get(parent_id, field="parent_id")
        if len(parent.path) >= MAX_DEPTH:
            raise NotAllowed(f"the hierarchy is at most {MAX_DEPTH} levels deep", reason="TOO_DEEP")
        return Node(
            node_id, company_id, parent.id, checked_name(name), checked_kind(kind), parent.path
        )

    def moved(self, node_id: str, new_parent_id: str) -> list[Node]:
        """The moved node (first) and its whole subtree with their new ancestors; never a
        cycle."""
        node = self.get(node_id)
        if node.is_root:
            raise NotAllowed("the company itself cannot be moved", reason="ROOT_NODE")
        new_parent = self.get(new_parent_id, field="parent_id")
        if new_parent.id == node.id or node.id in new_parent.ancestors:
            raise NotAllowed("a node cannot move into its own subtree", reason="CYCLE")
        depth_below = max(len(n.ancestors) for n in self.subtree(node.id)) - len(node.ancestors)
        if len(new_parent.path) + depth_below >= MAX_DEPTH:
            raise NotAllowed(f"the hierarchy is at most {MAX_DEPTH} levels deep", reason="TOO_DEEP")
        old_prefix = len(node.ancestors)
        return [
            replace(
                member,
                parent_id=new_parent.id if member.id == node.id else member.parent_id,
                ancestors=(*new_parent.path, *member.ancestors[old_prefix:]),
            )
            for member in self.subtree(node.id)
        ]

    def ensure_deletable(
        self, node_id: str, *, has_numbers: bool, move_to: str | None
    ) -> Node | None:
        """The node that will take the numbers (if any); refuses a node with children."""
        node = self.get(node_id)
        if node.is_root:
            raise NotAllowed("the company itself cannot be deleted", reason="ROOT_NODE")
        if self._children.get(node.id):
            raise NotAllowed(
                "the node has child nodes; move or delete them first", reason="NODE_NOT_EMPTY"
            )
        if move_to is None:
            if has_numbers:
                raise NotAllowed(
                    "the node has numbers; say where they go (move_to)", reason="NODE_NOT_EMPTY"
                )
            return None
        target = self.get(move_to, field="move_to")
        if target.id == node.id:
            raise InvalidArgument(
                "the numbers cannot move to the node being deleted",
                {"move_to": "choose another node"},
            )
        return target

    def subtree_counts(self, direct: Mapping[str, int]) -> dict[str, int]:
        """Numbers in each node's subtree, from the numbers attached to each node."""
        totals = dict.fromkeys(self._nodes, 0)
        for node_id, count in direct.items():
            node = self._nodes.get(node_id)
            if node is None:
                continue
            for member in node.path:
                totals[member] += count
        return totals
