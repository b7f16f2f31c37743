"""Bulk operations: one change (or an SMS) for many numbers at once, with progress and a
result for each number.

Pure and synchronous. A request names its numbers (a list, or a node's subtree) and an
action; `checked_action` turns the request's `params` into one typed action or refuses
it with the precise field at fault, before anything is created. An operation then moves
`pending → running → succeeded | partially_failed | failed`, or to `cancelled` (before it
starts, or between two batches: what was done stays done). Each number's result is
decided once: `succeeded`, `unchanged` (the number already was as asked: a block already
set, a service already connected or already not, the same tariff...), `failed` (with the
refusal's reason) or `cancelled`. An operation whose numbers all succeeded or were
unchanged has succeeded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from services.catalog.domain.catalogue import Catalogue, check_tariff_settings
from services.catalog.domain.numbers import checked_msisdns
from services.catalog.domain.operations import (
    checked_block_type,
    checked_condition,
    checked_forwarding_target,
)
from services.kit.errors import InvalidArgument, NotAllowed
from services.kit.operation_status import (
    FAILED,
    FINISHED,
    PENDING,
    SUCCEEDED,
    UNCHANGED,
    status_filter_errors,
)

# --- the limits of a request ----------------------------------------------------------

TARGETS_MAX = 20_000  # numbers in one request's list (a subtree may hold more)
SCHEDULE_AHEAD_MAX = timedelta(days=90)
SMS_TEXT_MAX = 670  # ten parts of a Cyrillic SMS (67 characters each)
LIMIT_AMOUNT_MAX = 100_000_000_00  # 100 million roubles in kopecks: anything above is a typo

# --- the actions --------------------------------------------------------------------

SMS = "sms"


@dataclass(frozen=True)
class ChangeTariff:
    tariff_id: str
    settings: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ConnectService:
    service_id: str


@dataclass(frozen=True)
class DisconnectService:
    service_id: str


@dataclass(frozen=True)
class SetBlock:
    block_type: str


@dataclass(frozen=True)
class RemoveBlock:
    block_type: str


@dataclass(frozen=True)
class SetForwarding:
    condition: str
    target: str  # digits with the country code


@dataclass(frozen=True)
class RemoveForwarding:
    condition: str


@dataclass(frozen=True)
class MoveToNode:
    node_id: str


@dataclass(frozen=True)
class SetLimit:
    kind: str
    amount: int  # kopecks a month
    action: str


@dataclass(frozen=True)
class RemoveLimit:
    kind: str


@dataclass(frozen=True)
class MoveToAccount:
    account_id: str


@dataclass(frozen=True)
class SendSms:
    text: str


NumberChange = (
    ChangeTariff
    | ConnectService
    | DisconnectService
    | SetBlock
    | RemoveBlock
    | SetForwarding
    | RemoveForwarding
    | MoveToNode
)
AccountChange = SetLimit | RemoveLimit | MoveToAccount  # kept by billing
Action = NumberChange | AccountChange | SendSms

LIMIT_KINDS = ("total", "data", "roaming", "calls", "sms")
LIMIT_ACTIONS = ("notify", "block")

# type → the permission it needs where each number is
PERMISSIONS: dict[str, str] = {
    "change_tariff": "numbers.tariff",
    "connect_service": "numbers.services",
    "disconnect_service": "numbers.services",
    "block": "numbers.blocks",
    "unblock": "numbers.blocks",
    "set_limit": "numbers.limits",
    "remove_limit": "numbers.limits",
    "set_forwarding": "numbers.forwarding",
    "remove_forwarding": "numbers.forwarding",
    "move_to_node": "hierarchy.manage",
    "move_to_account": "finance.settings",
    SMS: "numbers.sms",
}
BULK_TYPES = tuple(t for t in PERMISSIONS if t != SMS)

# How a person reads each type in the journal and in documents.
TITLES: dict[str, str] = {
    "change_tariff": "Смена тарифного плана",
    "connect_service": "Подключение услуги",
    "disconnect_service": "Отключение услуги",
    "block": "Установка блокировки",
    "unblock": "Снятие блокировки",
    "set_limit": "Установка лимита",
    "remove_limit": "Удаление лимита",
    "set_forwarding": "Установка переадресации",
    "remove_forwarding": "Снятие переадресации",
    "move_to_node": "Перенос номеров в другой узел иерархии",
    "move_to_account": "Перенос номеров на другой лицевой счёт",
    SMS: "Отправка SMS",
}


def permission_for(operation_type: str) -> str:
    return PERMISSIONS[operation_type]


def checked_action(operation_type: str, params: Mapping[str, Any]) -> Action:
    """The typed action of a request, or the precise field at fault."""
    if operation_type not in BULK_TYPES:
        raise InvalidArgument(
            "unknown type of operation", {"type": f"one of: {', '.join(BULK_TYPES)}"}
        )
    reader = _Params(params)
    action = _ACTIONS[operation_type](reader)
    reader.refuse_unknown()
    return action


def checked_sms_text(text: str) -> SendSms:
    cleaned = text.strip()
    if not cleaned:
        raise InvalidArgument("the message is empty", {"text": "write the message"})
    if len(cleaned) > SMS_TEXT_MAX:
        raise InvalidArgument(
            "the message is too long", {"text": f"at most {SMS_TEXT_MAX} characters"}
        )
    return SendSms(cleaned)


class _Params:
    """The request's params, read field by field; a field never read is refused."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self._params = dict(params)
        self._read: set[str] = set()

    def text(self, name: str, *, choices: tuple[str, ...] = ()) -> str:
        self._read.add(name)
        value = self._params.get(name)
        if not isinstance(value, str) or not value.strip():
            hint = f"one of: {', '.join(choices)}" if choices else "required"
            raise InvalidArgument(f"params.{name} is required", {f"params.{name}": hint})
        value = value.strip()
        if choices and value not in choices:
            raise InvalidArgument(
                f"params.{name} is not known", {f"params.{name}": f"one of: {', '.join(choices)}"}
            )
        if len(value) > 64:
            raise InvalidArgument(
                f"params.{name} is too long", {f"params.{name}": "at most 64 characters"}
            )
        return value

    def kopecks(self, name: str) -> int:
        self._read.add(name)
        value = self._params.get(name)
        # JSON numbers may arrive as floats (1000.0): whole ones are kopecks, others are not.
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidArgument(
                f"params.{name} must be a whole number of kopecks",
                {f"params.{name}": "a positive integer (kopecks)"},
            )
        if not 0 < value <= LIMIT_AMOUNT_MAX:
            raise InvalidArgument(
                f"params.{name} is out of range",
                {f"params.{name}": f"from 1 to {LIMIT_AMOUNT_MAX} kopecks"},
            )
        return value

    def settings(self, name: str) -> dict[str, str]:
        self._read.add(name)
        value = self._params.get(name) or {}
        if not isinstance(value, Mapping):
            raise InvalidArgument(
                f"params.{name} must be an object", {f"params.{name}": "setting → value"}
            )
        return {str(k): _setting_text(v) for k, v in value.items()}

    def refuse_unknown(self) -> None:
        unknown = sorted(set(self._params) - self._read)
        if unknown:
            raise InvalidArgument(
                "unknown params",
                {f"params.{name}": "not a parameter of this type" for name in unknown},
            )


def _setting_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _forwarding(params: _Params) -> SetForwarding:
    condition = checked_condition(params.text("condition"))
    # Whether a number would forward to itself is each number's own refusal.
    return SetForwarding(condition, checked_forwarding_target(params.text("target"), msisdn=""))


def _block(params: _Params) -> str:
    return checked_block_type(params.text("type"))


def _removed_forwarding(params: _Params) -> RemoveForwarding:
    return RemoveForwarding(checked_condition(params.text("condition")))


_ACTIONS: dict[str, Any] = {
    "change_tariff": lambda p: ChangeTariff(p.text("tariff_id"), p.settings("settings")),
    "connect_service": lambda p: ConnectService(p.text("service_id")),
    "disconnect_service": lambda p: DisconnectService(p.text("service_id")),
    "block": lambda p: SetBlock(_block(p)),
    "unblock": lambda p: RemoveBlock(_block(p)),
    "set_limit": lambda p: SetLimit(
        p.text("kind", choices=LIMIT_KINDS),
        p.kopecks("amount"),
        p.text("action", choices=LIMIT_ACTIONS),
    ),
    "remove_limit": lambda p: RemoveLimit(p.text("kind", choices=LIMIT_KINDS)),
    "set_forwarding": _forwarding,
    "remove_forwarding": _removed_forwarding,
    "move_to_node": lambda p: MoveToNode(p.text("node_id")),
    "move_to_account": lambda p: MoveToAccount(p.text("account_id")),
}


# --- which numbers -------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """A request's numbers: a list (normalised, each once) or a node's whole subtree."""

    msisdns: tuple[str, ...] = ()
    node_id: str = ""


def checked_targets(msisdns: list[str], node_id: str) -> Targets:
    node_id = node_id.strip()
    if msisdns and node_id:
        raise InvalidArgument(
            "give either numbers or a node, not both",
            {"msisdns": "leave empty when node_id is given"},
        )
    if node_id:
        return Targets(node_id=node_id)
    if not msisdns:
        raise InvalidArgument(
            "no numbers given", {"msisdns": "give numbers, or node_id for a node's subtree"}
        )
    return Targets(msisdns=tuple(checked_msisdns(msisdns, limit=TARGETS_MAX)))


def checked_schedule(scheduled_at: datetime | None, now: datetime) -> datetime | None:
    """When to run: None (now), or a moment in the next SCHEDULE_AHEAD_MAX."""
    if scheduled_at is None:
        return None
    if scheduled_at.tzinfo is None:
        scheduled_at = scheduled_at.replace(tzinfo=UTC)
    if scheduled_at <= now:
        return None  # a moment already past: as soon as possible
    if scheduled_at - now > SCHEDULE_AHEAD_MAX:
        # Well formed, but a rule of now (no schema can say it): 409, not 422.
        raise NotAllowed(
            f"the operation is scheduled too far ahead: at most {SCHEDULE_AHEAD_MAX.days} "
            "days from now",
            reason="SCHEDULED_TOO_FAR_AHEAD",
        )
    return scheduled_at


# --- the operation's course ------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    total: int
    done: int  # decided, succeeded or failed
    failed: int

    @property
    def percent(self) -> int:
        if self.total <= 0:
            return 100 if self.done else 0
        return min(100, self.done * 100 // self.total)


@dataclass(frozen=True)
class BulkOperation:
    """An operation as stored: what was asked, of which numbers, and how far it got."""

    id: str
    company_id: str
    type: str
    params: Mapping[str, Any]
    targets: Targets
    # The caller's reach when it asked (None: the whole company): the worker changes no
    # number outside it, even if the tree changed meanwhile.
    scope_nodes: frozenset[str] | None
    created_by: str
    created_at: datetime
    dry_run: bool = False
    scheduled_at: datetime | None = None
    status: str = PENDING
    total: int = 0
    done: int = 0
    failed: int = 0
    unchanged: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cancel_requested: bool = False
    expanded: bool = False  # its numbers are listed as pending results

    @property
    def title(self) -> str:
        return TITLES.get(self.type, self.type)

    @property
    def progress(self) -> Progress:
        return Progress(self.total, self.done, self.failed)

    @property
    def action(self) -> Action:
        if self.type == SMS:
            return checked_sms_text(str(self.params.get("text", "")))
        return checked_action(self.type, self.params)

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED


@dataclass(frozen=True)
class TargetResult:
    """One number's result: `code` says what happened (succeeded) or why not (failed)."""

    msisdn: str
    status: str
    code: str = ""
    detail: str = ""
    seq: int = 0  # its place in the request (from 1) when known; 0 otherwise


def succeeded(msisdn: str, code: str, detail: str = "") -> TargetResult:
    return TargetResult(msisdn, SUCCEEDED, code, detail)


def refused(msisdn: str, reason: str, detail: str) -> TargetResult:
    """A failure with the refusal's stable reason, as the API spells codes (lower_snake)."""
    return TargetResult(msisdn, FAILED, reason.lower(), detail)


def unchanged(msisdn: str, code: str = "unchanged", detail: str = "уже так") -> TargetResult:
    """The number already was as asked: nothing done, and nothing failed."""
    return TargetResult(msisdn, UNCHANGED, code, detail)


# The single-number calls refuse these (409: nothing to do); for a number of a bulk
# operation each one means the number already is as asked.
ALREADY_AS_ASKED = frozenset(
    {
        "ALREADY_BLOCKED",  # block: the block is set
        "NOT_BLOCKED",  # unblock: the block is not set
        "ALREADY_CONNECTED",  # connect_service
        "NOT_CONNECTED",  # disconnect_service
        "FORWARDING_NOT_SET",  # remove_forwarding
        "LIMIT_NOT_SET",  # remove_limit (billing's)
    }
)


def refusal_result(msisdn: str, reason: str, detail: str) -> TargetResult:
    """A number's refusal as its result: `unchanged` when it only says the number already
    is as asked, else `failed`."""
    if reason in ALREADY_AS_ASKED:
        return unchanged(msisdn, reason.lower(), detail)
    return refused(msisdn, reason, detail)


def check_against_catalogue(action: Action, catalogue: Catalogue) -> None:
    """What the catalogue can tell before any number is looked at: an unknown tariff or
    service, settings the tariff does not have. Each number's own refusals come later."""
    if isinstance(action, ChangeTariff):
        tariff = catalogue.known_tariff(action.tariff_id, "params.tariff_id")
        check_tariff_settings(tariff, action.settings)
    elif isinstance(action, ConnectService):
        catalogue.known_service(action.service_id, "params.service_id")


def check_filter(operation_type: str, status: str) -> None:
    errors: dict[str, str] = {}
    if operation_type and operation_type not in PERMISSIONS:
        errors["type"] = f"one of: {', '.join(PERMISSIONS)}"
    errors.update(status_filter_errors(status))
    if errors:
        raise InvalidArgument("the filter is not valid", errors)
