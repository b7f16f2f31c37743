"""Catalog's rules: the company's numbers (MSISDN + SIM card) and what a company writes on them.

Pure and synchronous. A number keeps the path of its hierarchy node (the node's ancestors,
root first, and the node), so a subtree filter and a scope check are one indexed condition
(`node_path` contains X) and never a walk of the tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from services.catalog.domain.hierarchy import Node
from services.kit.authz import Access
from services.kit.errors import Conflict, InvalidArgument, PermissionDenied
from services.kit.phone import normalize_msisdn

ACTIVE = "active"
BLOCKED = "blocked"
STATUSES: dict[str, str] = {ACTIVE: "активен", BLOCKED: "заблокирован"}

LABEL_MAX = 100
COMMENT_MAX = 500
COST_CENTER_MAX = 50
QUERY_MAX = 100
# One AddNumbers call; the operator sends more in several calls.
ADD_BATCH_MAX = 10_000
# One MoveNumbers call; more at once is a bulk operation (move_to_node).
MOVE_BATCH_MAX = 1_000
# Per-field errors reported for one batch: enough to fix the input, small enough for a status.
ERRORS_SHOWN = 20

ICCID_PREFIX = "89"  # the telecom industry identifier of ISO/IEC 7812
_ICCID_SHAPE = re.compile(r"89[0-9]{17,18}")
_ICCID_SEPARATORS = re.compile(r"[\s\-]")
_QUERY_DIGITS = re.compile(r"\+?[0-9\s()\-.]+")


@dataclass(frozen=True)
class TariffChoice:
    id: str
    name: str = ""
    settings: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ConnectedService:
    id: str
    name: str
    connected_at: datetime


@dataclass(frozen=True)
class Block:
    type: str
    set_at: datetime


@dataclass(frozen=True)
class Forwarding:
    condition: str
    target: str


@dataclass(frozen=True)
class Number:
    msisdn: str
    iccid: str
    company_id: str
    status: str
    node_id: str
    node_path: tuple[str, ...]  # the node's ancestors, root first, and the node
    tariff: TariffChoice
    added_at: datetime
    services: tuple[ConnectedService, ...] = ()
    blocks: tuple[Block, ...] = ()
    forwarding: tuple[Forwarding, ...] = ()
    account_id: str = ""
    label: str = ""
    comment: str = ""
    cost_center: str = ""

    def moved_to(self, node: Node) -> Number:
        return replace(self, node_id=node.id, node_path=node.path)


# --- identifiers ---------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of ISO/IEC 7812 over a string of digits, check digit last."""
    if not digits or not (digits.isascii() and digits.isdigit()):
        return False
    return _luhn_sum(digits) % 10 == 0


def luhn_check_digit(body: str) -> str:
    """The digit that makes `body` + digit pass the Luhn check (to make valid ICCIDs)."""
    return str((10 - _luhn_sum(body + "0") % 10) % 10)


def _luhn_sum(digits: str) -> int:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:  # every second digit from the right, the check digit not
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total


def checked_msisdn(raw: str, field_name: str = "msisdn") -> str:
    msisdn = normalize_msisdn(raw)
    if msisdn is None:
        raise InvalidArgument(
            "the number is not a mobile number",
            {field_name: "11 digits starting with 79, e.g. +7 916 123-45-67"},
        )
    return msisdn


def checked_iccid(raw: str, field_name: str = "iccid") -> str:
    iccid = _ICCID_SEPARATORS.sub("", raw.strip())
    if not _ICCID_SHAPE.fullmatch(iccid):
        raise InvalidArgument(
            "the SIM card number (ICCID) is not valid",
            {field_name: "19 or 20 digits starting with 89"},
        )
    if not luhn_valid(iccid):
        raise InvalidArgument(
            "the SIM card number (ICCID) is not valid",
            {field_name: "the check digit does not match: check the number on the card"},
        )
    return iccid


# --- the company's notes -------------------------------------------------------------

NOTE_LIMITS: dict[str, int] = {
    "label": LABEL_MAX,
    "comment": COMMENT_MAX,
    "cost_center": COST_CENTER_MAX,
}


def checked_notes(
    *, label: str | None = None, comment: str | None = None, cost_center: str | None = None
) -> dict[str, str]:
    """The notes to change (None: keep), trimmed; an empty text clears the note."""
    given = {"label": label, "comment": comment, "cost_center": cost_center}
    notes = {name: value.strip() for name, value in given.items() if value is not None}
    errors = {
        name: f"at most {NOTE_LIMITS[name]} characters"
        for name, value in notes.items()
        if len(value) > NOTE_LIMITS[name]
    }
    errors |= {
        name: "no control characters"
        for name, value in notes.items()
        if name != "comment" and any(ord(char) < 32 for char in value)
    }
    if errors:
        raise InvalidArgument("the notes are not valid", errors)
    return notes


def changed_notes(number: Number, notes: dict[str, str]) -> dict[str, str]:
    """Of the checked notes, those whose text differs from the number's (nothing to write,
    nothing to tell for the others)."""
    return {name: value for name, value in notes.items() if getattr(number, name) != value}


# --- adding numbers ------------------------------------------------------------------


@dataclass(frozen=True)
class NewNumber:
    """One number the operator gives a company, as sent (checked by `checked_batch`)."""

    msisdn: str
    iccid: str
    tariff_id: str = ""
    node_id: str = ""


def checked_batch(numbers: Sequence[NewNumber], *, need_tariff: bool = True) -> list[NewNumber]:
    """Each number normalised; every malformed field reported (the first ERRORS_SHOWN);
    a number or SIM card twice in one batch is a conflict."""
    if not numbers:
        raise InvalidArgument("no numbers given", {"numbers": "give at least one number"})
    if len(numbers) > ADD_BATCH_MAX:
        raise InvalidArgument(
            "too many numbers in one call", {"numbers": f"at most {ADD_BATCH_MAX} per call"}
        )
    errors: dict[str, str] = {}
    checked: list[NewNumber] = []
    for index, number in enumerate(numbers):
        try:
            checked.append(_checked_new_number(number, f"numbers[{index}]", need_tariff))
        except InvalidArgument as error:
            errors.update(error.fields)
    if errors:
        shown = dict(sorted(errors.items(), key=_by_index)[:ERRORS_SHOWN])
        raise InvalidArgument(f"{len(errors)} fields of the numbers are not valid", shown)
    ensure_each_once([n.msisdn for n in checked], "number")
    ensure_each_once([n.iccid for n in checked], "SIM card")
    return checked


def _checked_new_number(number: NewNumber, prefix: str, need_tariff: bool) -> NewNumber:
    errors: dict[str, str] = {}
    msisdn = iccid = ""
    try:
        msisdn = checked_msisdn(number.msisdn, f"{prefix}.msisdn")
    except InvalidArgument as error:
        errors.update(error.fields)
    try:
        iccid = checked_iccid(number.iccid, f"{prefix}.iccid")
    except InvalidArgument as error:
        errors.update(error.fields)
    tariff_id = number.tariff_id.strip()
    if need_tariff and not tariff_id:
        errors[f"{prefix}.tariff_id"] = "name the number's tariff"
    if errors:
        raise InvalidArgument("the number is not valid", errors)
    return NewNumber(msisdn, iccid, tariff_id, number.node_id.strip())


def _by_index(item: tuple[str, str]) -> tuple[int, str]:
    name = item[0]
    index = name[name.find("[") + 1 : name.find("]")]
    return (int(index) if index.isdigit() else -1, name)


def ensure_each_once(values: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    repeated: list[str] = []
    for value in values:
        if value in seen:
            repeated.append(value)
        seen.add(value)
    if repeated:
        raise already_given(what, repeated, "twice in the batch")


def already_given(what: str, values: Sequence[str], why: str = "given out already") -> Conflict:
    """A conflict that names the values (the first ten): the operator fixes the batch."""
    shown = ", ".join(sorted(set(values))[:10])
    more = len(set(values)) - 10
    tail = f" and {more} more" if more > 0 else ""
    return Conflict(f"{what} {why}: {shown}{tail}", reason="ALREADY_EXISTS")


def new_number(
    number: NewNumber,
    *,
    company_id: str,
    node: Node,
    tariff: TariffChoice,
    added_at: datetime,
) -> Number:
    """A number just given to the company: active, at `node`, on `tariff`."""
    return Number(
        msisdn=number.msisdn,
        iccid=number.iccid,
        company_id=company_id,
        status=ACTIVE,
        node_id=node.id,
        node_path=node.path,
        tariff=tariff,
        added_at=added_at,
    )


# --- moving numbers ------------------------------------------------------------------


def checked_msisdns(raw: Sequence[str], *, limit: int = MOVE_BATCH_MAX) -> list[str]:
    """The numbers of a request, normalised, each once, in the order given."""
    if not raw:
        raise InvalidArgument("no numbers given", {"msisdns": "give at least one number"})
    if len(raw) > limit:
        raise InvalidArgument("too many numbers", {"msisdns": f"at most {limit} at once"})
    errors: dict[str, str] = {}
    found: dict[str, None] = {}
    for index, text in enumerate(raw):
        msisdn = normalize_msisdn(text)
        if msisdn is None:
            errors[f"msisdns[{index}]"] = "11 digits starting with 79, e.g. +7 916 123-45-67"
        else:
            found[msisdn] = None
    if errors:
        shown = dict(sorted(errors.items(), key=_by_index)[:ERRORS_SHOWN])
        raise InvalidArgument(f"{len(errors)} of the numbers are not mobile numbers", shown)
    return list(found)


# --- who sees which numbers, and the list's filters ----------------------------------


@dataclass(frozen=True)
class Scope:
    """The numbers a caller may reach: the company's, and unless `nodes` is None only
    those under one of these nodes (the roots of the subtrees where a permission holds)."""

    company_id: str
    nodes: frozenset[str] | None = None

    @classmethod
    def of(cls, access: Access, permission: str) -> Scope:
        return cls(access.company_id, access.nodes_with(permission))

    @classmethod
    def required(cls, access: Access, permission: str) -> Scope:
        """The numbers reached with `permission`; holding it nowhere is refused outright
        (a number outside the scope is then simply not found)."""
        scope = cls.of(access, permission)
        if scope.is_empty:
            raise PermissionDenied(f"you do not have the permission {permission!r}")
        return scope

    @property
    def is_empty(self) -> bool:
        return self.nodes is not None and not self.nodes


@dataclass(frozen=True)
class NumberFilter:
    node_id: str = ""  # the node's whole subtree
    status: str = ""
    tariff_id: str = ""
    service_id: str = ""
    query: str = ""  # text in the number, label, comment or cost centre

    def msisdn_prefix(self) -> str | None:
        """The digits of a query that looks like the start of a number, as an MSISDN starts:
        "916 12" and "8916" find 791612…, 7916…; None for a query with letters."""
        if not _QUERY_DIGITS.fullmatch(self.query):
            return None
        digits = "".join(char for char in self.query if char.isdigit())
        if not digits:  # "-" or "()" is no number at all
            return None
        if digits.startswith("9"):
            return "7" + digits
        if digits.startswith("8"):
            return "7" + digits[1:]
        return digits


def checked_filter(
    *,
    node_id: str = "",
    status: str = "",
    tariff_id: str = "",
    service_id: str = "",
    query: str = "",
) -> NumberFilter:
    errors: dict[str, str] = {}
    if status and status not in STATUSES:
        errors["status"] = f"one of: {', '.join(STATUSES)}"
    query = " ".join(query.split())
    if len(query) > QUERY_MAX:
        errors["query"] = f"at most {QUERY_MAX} characters"
    for name, value in (("node_id", node_id), ("tariff_id", tariff_id), ("service_id", service_id)):
        if len(value) > 64:
            errors[name] = "at most 64 characters"
    if errors:
        raise InvalidArgument("the filter is not valid", errors)
    return NumberFilter(node_id.strip(), status, tariff_id.strip(), service_id.strip(), query)
