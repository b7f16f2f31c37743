"""Permissions, roles and their assignments with a scope (the whole company or a subtree)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.kit.authz import Access, NodePath
from services.kit.errors import InvalidArgument, NotAllowed, NotFound, PermissionDenied

PERMISSIONS: dict[str, tuple[str, ...]] = {
    # category → the checkboxes in it (API.md), in the order a person reads them
    "numbers": (
        "numbers.view",
        "numbers.manage_notes",
        "numbers.tariff",
        "numbers.services",
        "numbers.blocks",
        "numbers.limits",
        "numbers.forwarding",
        "numbers.sim",
        "numbers.sms",
    ),
    "hierarchy": ("hierarchy.manage",),
    "finance": (
        "finance.view",
        "finance.transfer",
        "finance.promised_payment",
        "finance.settings",
    ),
    "documents": ("documents.finance", "reports.run"),
    "tickets": ("tickets.view", "tickets.manage"),
    "administration": (
        "users.manage",
        "roles.manage",
        "audit.view",
        "api_keys.manage",
        "webhooks.manage",
        "automation.manage",
    ),
}
ALL_PERMISSIONS: tuple[str, ...] = tuple(p for group in PERMISSIONS.values() for p in group)
NUMBER_PERMISSIONS = frozenset(p for p in ALL_PERMISSIONS if p.startswith("numbers."))


PERMISSION_TITLES: dict[str, str] = {
    "numbers.view": "Просмотр номеров",
    "numbers.manage_notes": "Метка, комментарий и центр затрат номера",
    "numbers.tariff": "Смена тарифного плана и его настройка",
    "numbers.services": "Подключение и отключение услуг",
    "numbers.blocks": "Установка и снятие блокировок",
    "numbers.limits": "Установка и удаление лимитов",
    "numbers.forwarding": "Установка и снятие переадресации",
    "numbers.sim": "Замена SIM-карты и номера",
    "numbers.sms": "Отправка SMS",
    "hierarchy.manage": "Управление иерархией",
    "finance.view": "Просмотр лицевых счетов и баланса",
    "finance.transfer": "Перенос средств с ЛС донора",
    "finance.promised_payment": "Обещанный платёж",
    "finance.settings": "Метод взаиморасчётов и адрес доставки счетов",
    "documents.finance": "Финансовые документы",
    "reports.run": "Отчёты",
    "tickets.view": "Просмотр обращений",
    "tickets.manage": "Создание обращений и работа с ними",
    "users.manage": "Пользователи и их роли",
    "roles.manage": "Роли",
    "audit.view": "Журнал действий",
    "api_keys.manage": "Ключи API",
    "webhooks.manage": "Вебхуки",
    "automation.manage": "Правила автоматизации",
}
CATEGORY_TITLES: dict[str, str] = {
    "numbers": "Номера",
    "hierarchy": "Иерархия",
    "finance": "Финансы",
    "documents": "Документы и отчёты",
    "tickets": "Обращения",
    "administration": "Администрирование",
}


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    permissions: frozenset[str]
    preset: bool = False
    company_id: str | None = None  # None: a preset role, the same for every company


def _numbers_except(*excluded: str) -> frozenset[str]:
    return NUMBER_PERMISSIONS - set(excluded)


PRESET_ROLES: dict[str, Role] = {
    role.id: role
    for role in (
        Role("global_admin", "Глобальный администратор", frozenset(ALL_PERMISSIONS), True),
        Role(
            "telecom_admin",
            "Администратор связи",
            NUMBER_PERMISSIONS
            | {"hierarchy.manage", "tickets.view", "tickets.manage", "reports.run"},
            True,
        ),
        Role(
            "accountant",
            "Бухгалтер",
            frozenset(p for p in ALL_PERMISSIONS if p.startswith("finance."))
            | {"documents.finance", "reports.run", "numbers.view"},
            True,
        ),
        Role(
            "department_manager",
            "Руководитель подразделения",
            _numbers_except("numbers.sim", "numbers.sms")
            | {"reports.run", "tickets.view", "tickets.manage"},
            True,
        ),
        Role(
            "viewer",
            "Наблюдатель",
            frozenset(p for p in ALL_PERMISSIONS if p.endswith(".view")),
            True,
        ),
    )
}


@dataclass(frozen=True)
class Assignment:
    role_id: str
    node_id: str | None = None  # None: the whole company


@dataclass(frozen=True)
class Scope:
    node_id: str | None
    permissions: frozenset[str]


def effective_scopes(assignments: list[Assignment], roles: dict[str, Role]) -> list[Scope]:
    """Permissions per scope: the union of the roles assigned at each node (None = company)."""
    by_node: dict[str | None, set[str]] = {}
    for assignment in assignments:
        role = roles.get(assignment.role_id)
        if role is not None:
            by_node.setdefault(assignment.node_id, set()).update(role.permissions)
    ordered = sorted(by_node.items(), key=lambda item: (item[0] is not None, item[0] or ""))
    return [Scope(node, frozenset(perms)) for node, perms in ordered]


def company_wide_permissions(scopes: list[Scope]) -> frozenset[str]:
    for scope in scopes:
        if scope.node_id is None:
            return scope.permissions
    return frozenset()


def access_of(
    company_id: str, assignments: Iterable[Assignment], roles: Mapping[str, Role]
) -> Access:
    """What a set of assignments lets its holder do (unknown roles grant nothing)."""
    return Access.from_pairs(
        company_id,
        ((a.node_id, roles[a.role_id].permissions) for a in assignments if a.role_id in roles),
    )


# ---------------------------------------------------------------- custom roles

ROLE_NAME_MAX = 100
_CUSTOM_ROLE_ID = re.compile(r"^rol_[A-Za-z0-9_-]+$")


def checked_role_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= ROLE_NAME_MAX:
        raise InvalidArgument(
            "the role's name is not valid", {"name": f"use 1 to {ROLE_NAME_MAX} characters"}
        )
    return name


def checked_role_permissions(permissions: Iterable[str], author: Access) -> frozenset[str]:
    """Known, at least one, and each held company-wide by the author: a role must not carry
    what its author could not grant."""
    wanted = frozenset(permissions)
    unknown = sorted(wanted - set(ALL_PERMISSIONS))
    if unknown:
        raise InvalidArgument(
            "unknown permissions", {"permissions": f"not in the catalogue: {', '.join(unknown)}"}
        )
    if not wanted:
        raise InvalidArgument(
            "a role needs permissions", {"permissions": "choose at least one permission"}
        )
    missing = sorted(p for p in wanted if not author.allows(p))
    if missing:
        raise PermissionDenied(
            f"you cannot put permissions you do not hold company-wide into a role: "
            f"{', '.join(missing)}"
        )
    return wanted


def ensure_custom(role: Role) -> None:
    if role.preset:
        raise NotAllowed("preset roles cannot be changed or deleted", reason="PRESET_ROLE")


def is_custom_role_id(role_id: str) -> bool:
    return bool(_CUSTOM_ROLE_ID.match(role_id))


# ---------------------------------------------------------------- granting


def checked_assignments(
    assignments: Iterable[Assignment],
    roles: Mapping[str, Role],
    known_nodes: frozenset[str],
) -> tuple[Assignment, ...]:
    """Each assignment names a role of the company and, when scoped, a known node: an
    unknown one is an object that does not exist (NotFound naming the fields)."""
    errors: dict[str, str] = {}
    seen: list[Assignment] = []
    for index, assignment in enumerate(assignments):
        if assignment.role_id not in roles:
            errors[f"assignments.{index}.role_id"] = "no such role"
        if assignment.node_id is not None and assignment.node_id not in known_nodes:
            errors[f"assignments.{index}.node_id"] = "no such hierarchy node"
        if assignment not in seen:
            seen.append(assignment)
    if errors:
        raise NotFound("no such role or hierarchy node", errors)
    return tuple(seen)


def ensure_may_grant(granter: Access, granted: Access, node_path: NodePath) -> None:
    """No escalation: every permission granted, where it is granted, the granter holds."""
    if not granter.covers(granted, node_path):
        raise PermissionDenied("you cannot grant a permission or a scope you do not hold")


def ensure_may_manage(manager: Access, target: Access, node_path: NodePath) -> None:
    """A user may act on (edit, deactivate, delete, reassign) only users who hold no more
    than they do: otherwise a delegate could lock out the administrator above them."""
    if not manager.covers(target, node_path):
        raise PermissionDenied("this user holds permissions you do not; ask an administrator")
