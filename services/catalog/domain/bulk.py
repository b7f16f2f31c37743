"""Bulk operations: one change (or an SMS) for many numbers at once, with progress and a
result for each number.

Pure and synchronous. A request names its numbers (a list, or a node's subtree) and an
action; `checked_action` checks the typed action (trimmed, within its bounds) or refuses
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
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

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
TEXT_MAX = 64  # an id, a kind, a condition... in an action

# --- the actions --------------------------------------------------------------------

SMS = "sms"


# Each action is a draft until `checked`: its fields are named as the request's params (and
# as the stored operation's), so a stored one is its class called with them.


@dataclass(frozen=True)
class ChangeTariff:
    operation_type: ClassVar[str] = "change_tariff"
    tariff_id: str
    settings: Mapping[str, str] = field(default_factory=dict)  # setting → its value as text

    def checked(self) -> ChangeTariff:
        # The settings are checked against the tariff (check_against_catalogue).
        return ChangeTariff(_text("tariff_id", self.tariff_id), dict(self.settings))


@dataclass(frozen=True)
class ConnectService:
    operation_type: ClassVar[str] = "connect_service"
    service_id: str

    def checked(self) -> ConnectService:
        return ConnectService(_text("service_id", self.service_id))


@dataclass(frozen=True)
class DisconnectService:
    operation_type: ClassVar[str] = "disconnect_service"
    service_id: str

    def checked(self) -> DisconnectService:
        return DisconnectService(_text("service_id", self.service_id))


@dataclass(frozen=True)
class SetBlock:
    operation_type: ClassVar[str] = "block"
    type: str  # of block: voluntary, lost_stolen

    def checked(self) -> SetBlock:
        return SetBlock(checked_block_type(_text("type", self.type)))


@dataclass(frozen=True)
class RemoveBlock:
    operation_type: ClassVar[str] = "unblock"
    type: str

    def checked(self) -> RemoveBlock:
        return RemoveBlock(checked_block_type(_text("type", self.type)))


@dataclass(frozen=True)
class SetForwarding:
    operation_type: ClassVar[str] = "set_forwarding"
    condition: str
    target: str  # digits with the country code

    def checked(self) -> SetForwarding:
        condition = checked_condition(_text("condition", self.condition))
        # Whether a number would forward to itself is each number's own refusal.
        target = checked_forwarding_target(_text("target", self.target), msisdn="")
        return SetForwarding(condition, target)


@dataclass(frozen=True)
class RemoveForwarding:
    operation_type: ClassVar[str] = "remove_forwarding"
    condition: str

    def checked(self) -> RemoveForwarding:
        return RemoveForwarding(checked_condition(_text("condition", self.condition)))


@dataclass(frozen=True)
class MoveToNode:
    operation_type: ClassVar[str] = "move_to_node"
    node_id: str

    def checked(self) -> MoveToNode:
        return MoveToNode(_text("node_id", self.node_id))


@dataclass(frozen=True)
class SetLimit:
    operation_type: ClassVar[str] = "set_limit"
    kind: str
    amount: int  # kopecks a month
    action: str  # what reaching it does

    def checked(self) -> SetLimit:
        return SetLimit(
            _text("kind", self.kind, LIMIT_KINDS),
            _kopecks("amount", self.amount),
            _text("action", self.action, LIMIT_ACTIONS),
        )


@dataclass(frozen=True)
class RemoveLimit:
    operation_type: ClassVar[str] = "remove_limit"
    kind: str

    def checked(self) -> RemoveLimit:
        return RemoveLimit(_text("kind", self.kind, LIMIT_KINDS))


@dataclass(frozen=True)
class MoveToAccount:
    operation_type: ClassVar[str] = "move_to_account"
    account_id: str

    def checked(self) -> MoveToAccount:
        return MoveToAccount(_text("account_id", self.account_id))


@dataclass(frozen=True)
class SendSms:
    operation_type: ClassVar[str] = SMS
    text: str

    def checked(self) -> SendSms:
        return checked_sms_text(self.text)


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
BulkChange = NumberChange | AccountChange
Action = BulkChange | SendSms

LIMIT_KINDS = ("total", "data", "roaming", "calls", "sms")
LIMIT_ACTIONS = ("notify", "block")

# type → its action (an SMS is its own request)
BULK_CHANGES: dict[str, type[BulkChange]] = {
    change.operation_type: change
    for change in (
        ChangeTariff,
        ConnectService,
        DisconnectService,
        SetBlock,
        RemoveBlock,
        SetLimit,
        RemoveLimit,
        SetForwarding,
        RemoveForwarding,
        MoveToNode,
        MoveToAccount,
    )
}
BULK_TYPES = tuple(BULK_CHANGES)

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


def checked_action(draft: Action) -> Action:
    """The action as it will run (trimmed, normalised), or the precise field at fault."""
    return draft.checked()


def check_bulk_type(operation_type: str) -> None:
    if operation_type not in BULK_CHANGES:
        raise InvalidArgument(
            "unknown type of operation", {"type": f"one of: {', '.join(BULK_TYPES)}"}
        )


def action_params(action: Action) -> dict[str, Any]:
    """The action as the operation stores it: its fields by name."""
    return asdict(action)


def stored_action(operation_type: str, params: Mapping[str, Any]) -> Action:
    """A stored operation's action, checked again as when it was asked. Operations stored
    before the typed request kept its JSON params: an amount may be a float (1000.0), a
    tariff setting true or 300."""
    if operation_type == SMS:
        return checked_sms_text(str(params.get("text", "")))
    check_bulk_type(operation_type)
    fields = dict(params)
    if "amount" in fields:
        fields["amount"] = int(fields["amount"])  # whole when it was checked
    if "settings" in fields:
        fields["settings"] = settings_text(fields["settings"] or {})
    return checked_action(BULK_CHANGES[operation_type](**fields))


def settings_text(settings: Mapping[str, Any]) -> dict[str, str]:
    """Tariff settings as text: JSON's true and 300 (or 300.0) are "true" and "300"."""
    return {str(name): _setting_text(value) for name, value in settings.items()}


def _setting_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def checked_sms_text(text: str) -> SendSms:
    cleaned = text.strip()
    if not cleaned:
        raise InvalidArgument("the message is empty", {"text": "write the message"})
    if len(cleaned) > SMS_TEXT_MAX:
        raise InvalidArgument(
            "the message is too long", {"text": f"at most {SMS_TEXT_MAX} characters"}
        )
    return SendSms(cleaned)


def _text(name: str, value: str, choices: tuple[str, ...] = ()) -> str:
    """A text field of an action, trimmed; named `params.<name>` as the REST body names it."""
    value = value.strip()
    if not value:
        hint = f"one of: {', '.join(choices)}" if choices else "required"
        raise InvalidArgument(f"params.{name} is required", {f"params.{name}": hint})
    if choices and value not in choices:
        raise InvalidArgument(
            f"params.{name} is not known", {f"params.{name}": f"one of: {', '.join(choices)}"}
        )
    if len(value) > TEXT_MAX:
        raise InvalidArgument(
            f"params.{name} is too long", {f"params.{name}": f"at most {TEXT_MAX} characters"}
        )
    return value


def _kopecks(name: str, value: int) -> int:
    if not 0 < value <= LIMIT_AMOUNT_MAX:
        raise InvalidArgument(
            f"params.{name} is out of range",
            {f"params.{name}": f"from 1 to {LIMIT_AMOUNT_MAX} kopecks"},
        )
    return value


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
        return stored_action(self.type, self.params)

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
