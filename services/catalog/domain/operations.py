"""Catalog's rules: the operations on one number — tariff and its settings, services,
blocks, forwarding, SIM replacement and number replacement.

Pure and synchronous. Each function takes the number as it is and returns it as it would
be after the change, or raises the refusal with its precise reason; the use case then asks
the network (provisioning) and only then stores the result.

- Blocks: the customer sets and removes `voluntary` and `lost_stolen`; `financial`,
  `limit` and `administrative` are the system's and the operator's (refused with
  SYSTEM_BLOCK). A number is `blocked` while any block is set.
- Forwarding: one target per condition; the target is any phone number (Russian in any
  usual form, or international with +), stored as digits with the country code, never
  the number itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from services.catalog.domain.catalogue import (
    Catalogue,
    Service,
    SettingValue,
    Tariff,
    check_service_connection,
    check_service_disconnection,
    check_tariff_change,
    check_tariff_settings,
    settings_in_force,
)
from services.catalog.domain.numbers import (
    ACTIVE,
    BLOCKED,
    Block,
    ConnectedService,
    Forwarding,
    Number,
    TariffChoice,
)
from services.kit.errors import InvalidArgument, NotAllowed

CUSTOMER_BLOCKS: dict[str, str] = {
    "voluntary": "добровольная",
    "lost_stolen": "утеря или кража",
}
SYSTEM_BLOCKS: dict[str, str] = {
    "financial": "финансовая",
    "limit": "по лимиту",
    "administrative": "административная",
}
BLOCK_TYPES: dict[str, str] = {**CUSTOMER_BLOCKS, **SYSTEM_BLOCKS}

FORWARDING_CONDITIONS: dict[str, str] = {
    "unconditional": "всегда",
    "busy": "если занято",
    "no_reply": "если не отвечает",
    "unreachable": "если недоступен",
}

# The single-number calls as operations of the journal: type → (the permission it needs,
# how a person reads it); a bulk type's name where a bulk operation makes the same change.
SINGLE_OPERATIONS: dict[str, tuple[str, str]] = {
    "change_tariff": ("numbers.tariff", "Смена тарифного плана"),
    "change_tariff_settings": ("numbers.tariff", "Изменение настроек тарифного плана"),
    "connect_service": ("numbers.services", "Подключение услуги"),
    "disconnect_service": ("numbers.services", "Отключение услуги"),
    "block": ("numbers.blocks", "Установка блокировки"),
    "unblock": ("numbers.blocks", "Снятие блокировки"),
    "set_forwarding": ("numbers.forwarding", "Установка переадресации"),
    "remove_forwarding": ("numbers.forwarding", "Снятие переадресации"),
    "replace_sim": ("numbers.sim", "Замена SIM-карты"),
    "replace_number": ("numbers.sim", "Замена номера"),
}

_PHONE_SEPARATORS = re.compile(r"[\s()\-.]")
# E.164: a country code and the number, at most 15 digits, never starting with 0.
_INTERNATIONAL = re.compile(r"[1-9][0-9]{7,14}")
# A Russian number without its country code: 10 digits, the area code never starting with 0.
_RUSSIAN_NATIONAL = re.compile(r"[1-9][0-9]{9}")


# ---------------------------------------------------------------- tariff


def with_tariff(
    number: Number,
    tariff: Tariff,
    values: Mapping[str, SettingValue],
    catalogue: Catalogue,
) -> Number:
    """The number on `tariff`, with the given settings and the tariff's defaults for the
    rest; refused when a connected service is not allowed on it."""
    check_tariff_change(tariff, [s.id for s in number.services], catalogue)
    settings = check_tariff_settings(tariff, values)
    return replace(number, tariff=TariffChoice(tariff.id, tariff.name, settings))


def with_tariff_settings(
    number: Number, tariff: Tariff, values: Mapping[str, SettingValue]
) -> Number:
    """The number's settings changed where given; the others stay as they are in force."""
    if not values:
        raise InvalidArgument("no settings given", {"settings": "give at least one setting"})
    current = settings_in_force(tariff, number.tariff.settings)
    checked = check_tariff_settings(tariff, values)
    merged = {key: checked[key] if key in values else current[key] for key in checked}
    return replace(number, tariff=TariffChoice(tariff.id, tariff.name, merged))


# ---------------------------------------------------------------- services


def with_service(
    number: Number, service: Service, catalogue: Catalogue, connected_at: datetime
) -> Number:
    check_service_connection(service, number.tariff.id, [s.id for s in number.services], catalogue)
    connected = ConnectedService(service.id, service.name, connected_at)
    return replace(number, services=(*number.services, connected))


def without_service(number: Number, service_id: str, catalogue: Catalogue) -> Number:
    check_service_disconnection(service_id, [s.id for s in number.services], catalogue)
    return replace(number, services=tuple(s for s in number.services if s.id != service_id))


# ---------------------------------------------------------------- blocks


def checked_block_type(block_type: str) -> str:
    """A block the customer may set or remove; unknown is bad input, a system block is
    refused with its reason."""
    if block_type not in BLOCK_TYPES:
        raise InvalidArgument(
            "unknown type of block", {"type": f"one of: {', '.join(CUSTOMER_BLOCKS)}"}
        )
    if block_type in SYSTEM_BLOCKS:
        raise NotAllowed(
            f"the {block_type} block is set and lifted only by the system or the operator",
            reason="SYSTEM_BLOCK",
        )
    return block_type


def with_block(number: Number, block_type: str, set_at: datetime) -> Number:
    if any(b.type == block_type for b in number.blocks):
        raise NotAllowed(f"the {block_type} block is already set", reason="ALREADY_BLOCKED")
    return replace(number, blocks=(*number.blocks, Block(block_type, set_at)), status=BLOCKED)


def without_block(number: Number, block_type: str) -> Number:
    if not any(b.type == block_type for b in number.blocks):
        raise NotAllowed(f"the {block_type} block is not set", reason="NOT_BLOCKED")
    blocks = tuple(b for b in number.blocks if b.type != block_type)
    return replace(number, blocks=blocks, status=BLOCKED if blocks else ACTIVE)


def as_system_wants(
    number: Number, block_type: str, wanted: bool, set_at: datetime
) -> Number | None:
    """A block the system sets (`wanted`) or lifts, on the number as it is when the
    network is about to be asked; None when the number already is so."""
    if any(b.type == block_type for b in number.blocks) is wanted:
        return None
    return with_block(number, block_type, set_at) if wanted else without_block(number, block_type)


# ---------------------------------------------------------------- forwarding


def checked_condition(condition: str) -> str:
    if condition not in FORWARDING_CONDITIONS:
        raise InvalidArgument(
            "unknown forwarding condition",
            {"condition": f"one of: {', '.join(FORWARDING_CONDITIONS)}"},
        )
    return condition


def normalized_phone(raw: str) -> str | None:
    """Any phone number as digits with its country code: "+7 (495) 123-45-67",
    "8 495 1234567" and "4951234567" give 74951234567, "+44 20 7946 0958" 442079460958."""
    text = _PHONE_SEPARATORS.sub("", raw.strip())
    if not text.isascii():
        return None
    if text.startswith("+"):
        digits = text[1:]
        if not _INTERNATIONAL.fullmatch(digits):
            return None
        if digits.startswith("7") and len(digits) != 11:
            return None
        return digits
    if len(text) == 11 and text[0] in "78" and _RUSSIAN_NATIONAL.fullmatch(text[1:]):
        return "7" + text[1:]
    if _RUSSIAN_NATIONAL.fullmatch(text):
        return "7" + text
    return None


def checked_forwarding_target(raw: str, msisdn: str) -> str:
    target = normalized_phone(raw)
    if target is None:
        raise InvalidArgument(
            "the forwarding target is not a phone number",
            {"target": "a phone number, e.g. +7 495 123-45-67 or +44 20 7946 0958"},
        )
    check_not_to_itself(target, msisdn)
    return target


def check_not_to_itself(target: str, msisdn: str) -> None:
    """`target` normalised already."""
    if target == msisdn:
        raise InvalidArgument(
            "a number cannot forward to itself", {"target": "give another number"}
        )


def with_forwarding(number: Number, condition: str, target: str) -> Number:
    others = tuple(f for f in number.forwarding if f.condition != condition)
    return replace(number, forwarding=(*others, Forwarding(condition, target)))


def without_forwarding(number: Number, condition: str) -> Number:
    if not any(f.condition == condition for f in number.forwarding):
        raise NotAllowed(
            f"no forwarding is set for the condition {condition}", reason="FORWARDING_NOT_SET"
        )
    return replace(
        number, forwarding=tuple(f for f in number.forwarding if f.condition != condition)
    )


def forwarding_target(number: Number, condition: str) -> str | None:
    return next((f.target for f in number.forwarding if f.condition == condition), None)


# ---------------------------------------------------------------- SIM and number


def with_sim(number: Number, iccid: str) -> Number:
    """The number on a new SIM card (`iccid` already Luhn-checked; uniqueness is the
    store's to tell)."""
    if iccid == number.iccid:
        raise NotAllowed("the number is already on this SIM card", reason="SAME_SIM")
    return replace(number, iccid=iccid)


def checked_new_msisdn(new_msisdn: str, msisdn: str) -> None:
    if new_msisdn == msisdn:
        # A rule across the path and the body (no schema can say it): 409, as for SAME_SIM.
        raise NotAllowed("the new number is the number being replaced", reason="SAME_NUMBER")


def replaced(number: Number, new_msisdn: str) -> Number:
    """The same card — SIM, node, tariff, services, blocks, forwarding, notes — under the
    new number. Forwarding to the new number itself would loop, so it is dropped."""
    return replace(
        number,
        msisdn=new_msisdn,
        forwarding=tuple(f for f in number.forwarding if f.target != new_msisdn),
    )
