"""Authorization rules every service applies itself: company isolation, the function's
permission, and the number's place in the hierarchy.

A caller's access is a set of permissions per scope: `None` is the whole company, a node
id is that node and its whole subtree. A permission on a number (or node) holds when a
scope that carries it covers one of the number's ancestors or the node itself. Company-
level permissions (money, documents, users, roles, audit, API keys) hold only from a
company-wide scope.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from services.kit.errors import NotFound, PermissionDenied

# A node's ancestors, root first, the node itself last.
NodePath = Callable[[str], Sequence[str]]

COMPANY_LEVEL_PERMISSIONS = frozenset(
    {
        "finance.view",
        "finance.transfer",
        "finance.promised_payment",
        "finance.settings",
        "documents.finance",
        "users.manage",
        "roles.manage",
        "audit.view",
        "api_keys.manage",
        "webhooks.manage",
        "automation.manage",
    }
)


@dataclass(frozen=True)
class Access:
    company_id: str
    scopes: Mapping[str | None, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_pairs(
        cls, company_id: str, pairs: Iterable[tuple[str | None, Iterable[str]]]
    ) -> Access:
        merged: dict[str | None, set[str]] = {}
        for node_id, permissions in pairs:
            merged.setdefault(node_id or None, set()).update(permissions)
        return cls(company_id, {node: frozenset(perms) for node, perms in merged.items()})

    def allows(self, permission: str, node_path: Sequence[str] = ()) -> bool:
        """`node_path`: the ancestors of the object, root first, the object's node last."""
        if permission in self.scopes.get(None, frozenset()):
            return True
        if permission in COMPANY_LEVEL_PERMISSIONS:
            return False
        return any(permission in self.scopes.get(node, frozenset()) for node in node_path)

    def nodes_with(self, permission: str) -> frozenset[str] | None:
        """The subtree roots where `permission` holds; None means the whole company.

        List queries filter by these (e.g. numbers whose path contains one of them)."""
        if permission in self.scopes.get(None, frozenset()):
            return None
        if permission in COMPANY_LEVEL_PERMISSIONS:
            return frozenset()
        return frozenset(
            node for node, perms in self.scopes.items() if node is not None and permission in perms
        )

    def require(self, permission: str, node_path: Sequence[str] = ()) -> None:
        if not self.allows(permission, node_path):
            raise PermissionDenied(f"you do not have the permission {permission!r} here")

    def require_company(self, company_id: str) -> None:
        """Another company's object does not exist for this caller."""
        if company_id != self.company_id:
            raise NotFound("not found")

    @property
    def permissions(self) -> frozenset[str]:
        return frozenset().union(*self.scopes.values()) if self.scopes else frozenset()

    def covers(self, other: Access, node_path: NodePath) -> bool:
        """True when this access holds everything `other` grants, where `other` grants it:
        the no-escalation rule (nobody grants a permission or scope they do not hold)."""
        for node, permissions in other.scopes.items():
            path = () if node is None else node_path(node)
            if not all(self.allows(permission, path) for permission in permissions):
                return False
        return True
