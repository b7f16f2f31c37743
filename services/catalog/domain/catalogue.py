"""Catalog's rules: the operator's tariff and service catalogue, and the compatibility rules
every change of a number's tariff or services is checked against.

Pure and synchronous. The catalogue is the operator's, shared by every company: the
operator defines (creates or replaces by id) tariffs and services; companies read it.

- A tariff has a monthly fee and typed settings a company configures per number (BOOL,
  INT within min..max, CHOICE among given values); values travel as text ("true", "300",
  "unlimited") and are normalised here.
- A service has a monthly price and compatibility: the services it `requires` (connected
  first), the ones it `excludes` (never together, whichever side names the other), and
  the `tariffs` it may be connected on (none named: every tariff).

The `check_*` functions are what the number operations ask before they change anything;
each refusal names its rule (`reason`) and the services concerned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from services.kit.errors import InvalidArgument, NotAllowed, NotFound

CURRENCY = "RUB"

# Ids are chosen by the operator and appear in numbers, events and URLs for years.
ITEM_ID = re.compile(r"[a-z0-9_]{3,64}")
SETTING_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
INTEGER = re.compile(r"-?[0-9]{1,18}")

NAME_MAX = 200
DESCRIPTION_MAX = 2000
TITLE_MAX = 200
CHOICE_MAX = 64
SETTINGS_MAX = 20
CHOICES_MAX = 50
LINKS_MAX = 100  # requires, excludes, tariffs: each

BOOL = "bool"
INT = "int"
CHOICE = "choice"
SETTING_TYPES = (BOOL, INT, CHOICE)
TRUE, FALSE = "true", "false"

SERVICE_CATEGORIES: dict[str, str] = {
    "internet": "Интернет",
    "roaming": "Роуминг",
    "calls": "Звонки",
    "messaging": "Сообщения",
    "security": "Безопасность",
    "other": "Другое",
}

SettingValue = str | int | bool


@dataclass(frozen=True)
class SettingDefinition:
    """A setting of a tariff, configured per number. `default` is text, as values are."""

    key: str
    title: str
    type: str
    default: str
    choices: tuple[str, ...] = ()
    min: int = 0
    max: int = 0


@dataclass(frozen=True)
class Tariff:
    id: str
    name: str
    description: str
    monthly_fee: int  # kopecks
    settings: tuple[SettingDefinition, ...] = ()
    available: bool = True

    def setting(self, key: str) -> SettingDefinition | None:
        return next((s for s in self.settings if s.key == key), None)

    @property
    def defaults(self) -> dict[str, str]:
        return {s.key: s.default for s in self.settings}


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    description: str
    monthly_price: int  # kopecks
    requires: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    tariffs: tuple[str, ...] = ()  # empty: every tariff
    category: str = "other"
    available: bool = True

    def allowed_on(self, tariff_id: str) -> bool:
        return not self.tariffs or tariff_id in self.tariffs


class Incompatible(NotAllowed):
    """A catalogue rule forbids the change; `service_ids` are the services it concerns
    (the missing requirements, the excluding services, ...), for per-number results."""

    def __init__(self, message: str, *, reason: str, service_ids: Iterable[str] = ()) -> None:
        super().__init__(message, reason=reason)
        self.service_ids = tuple(service_ids)


@dataclass(frozen=True)
class Catalogue:
    """Every tariff and service, as loaded from the store."""

    tariffs_by_id: Mapping[str, Tariff] = field(default_factory=dict)
    services_by_id: Mapping[str, Service] = field(default_factory=dict)

    @classmethod
    def of(cls, tariffs: Iterable[Tariff], services: Iterable[Service]) -> Catalogue:
        return cls({t.id: t for t in tariffs}, {s.id: s for s in services})

    @property
    def tariffs(self) -> list[Tariff]:
        """Cheapest first: the order a price list is read in."""
        return sorted(self.tariffs_by_id.values(), key=lambda t: (t.monthly_fee, t.name, t.id))

    @property
    def services(self) -> list[Service]:
        return sorted(self.services_by_id.values(), key=_service_order)

    def tariff(self, tariff_id: str) -> Tariff:
        tariff = self.tariffs_by_id.get(tariff_id)
        if tariff is None:
            raise NotFound("no such tariff")
        return tariff

    def service(self, service_id: str) -> Service:
        service = self.services_by_id.get(service_id)
        if service is None:
            raise NotFound("no such service")
        return service

    def known_tariff(self, tariff_id: str, field_name: str = "tariff_id") -> Tariff:
        """A tariff named in a request's body: an unknown one is an object that does not
        exist (404 `not_found`, naming the field), not a malformed request."""
        tariff = self.tariffs_by_id.get(tariff_id)
        if tariff is None:
            raise NotFound("no such tariff", {field_name: "not a tariff of the catalogue"})
        return tariff

    def known_service(self, service_id: str, field_name: str = "service_id") -> Service:
        """A service named in a request's body: unknown is 404, as for a tariff."""
        service = self.services_by_id.get(service_id)
        if service is None:
            raise NotFound("no such service", {field_name: "not a service of the catalogue"})
        return service

    def connectable_on(self, tariff_id: str) -> list[Service]:
        """The services offered now that may be connected on the tariff."""
        return [s for s in self.services if s.available and s.allowed_on(tariff_id)]

    def with_service(self, service: Service) -> Catalogue:
        return Catalogue(self.tariffs_by_id, {**self.services_by_id, service.id: service})

    def name_of(self, service_id: str) -> str:
        service = self.services_by_id.get(service_id)
        return f"«{service.name}»" if service else service_id

    def names_of(self, service_ids: Iterable[str]) -> str:
        return ", ".join(self.name_of(s) for s in service_ids)


def _service_order(service: Service) -> tuple[int, str, str]:
    categories = list(SERVICE_CATEGORIES)
    rank = categories.index(service.category) if service.category in categories else 99
    return rank, service.name, service.id


# ---------------------------------------------------------------- defining the catalogue


def checked_tariff(tariff: Tariff, *, currency: str = CURRENCY) -> Tariff:
    """The tariff with its text tidied, or InvalidArgument naming every bad field.

    `currency` is the fee's currency as given (empty means roubles)."""
    errors: dict[str, str] = {}
    _check_item_id(tariff.id, errors)
    name = _checked_text(tariff.name, "name", NAME_MAX, errors, required=True)
    description = _checked_text(tariff.description, "description", DESCRIPTION_MAX, errors)
    _check_money(tariff.monthly_fee, currency, "monthly_fee", errors)
    if len(tariff.settings) > SETTINGS_MAX:
        errors["settings"] = f"at most {SETTINGS_MAX} settings"
    settings = tuple(
        _checked_setting(setting, f"settings[{i}]", errors)
        for i, setting in enumerate(tariff.settings)
    )
    seen: set[str] = set()
    for i, setting in enumerate(settings):
        if setting.key in seen:
            errors.setdefault(f"settings[{i}].key", f"{setting.key!r} is already a setting")
        seen.add(setting.key)
    if errors:
        raise InvalidArgument("the tariff is not valid", errors)
    return replace(tariff, name=name, description=description, settings=settings)


def _checked_setting(
    setting: SettingDefinition, at: str, errors: dict[str, str]
) -> SettingDefinition:
    if not SETTING_KEY.fullmatch(setting.key):
        errors[f"{at}.key"] = "lowercase latin letters, digits and _, starting with a letter"
    title = _checked_text(setting.title, f"{at}.title", TITLE_MAX, errors, required=True)
    if setting.type not in SETTING_TYPES:
        errors[f"{at}.type"] = "BOOL, INT or CHOICE"
        return setting
    if setting.type != INT and (setting.min or setting.max):
        errors[f"{at}.min"] = "min and max are for INT settings only"
    if setting.type != CHOICE and setting.choices:
        errors[f"{at}.choices"] = "choices are for CHOICE settings only"
    checked = replace(setting, title=title)
    if setting.type == CHOICE:
        checked = replace(checked, choices=_checked_choices(setting.choices, at, errors))
    if setting.type == INT and setting.min > setting.max:
        errors[f"{at}.max"] = "max must not be less than min"
        return checked
    if f"{at}.choices" in errors:
        return checked
    try:
        default = _normalized_value(checked, setting.default)
    except ValueError as problem:
        errors[f"{at}.default_value"] = str(problem)
        return checked
    return replace(checked, default=default)


def _checked_choices(choices: tuple[str, ...], at: str, errors: dict[str, str]) -> tuple[str, ...]:
    tidy = tuple(" ".join(c.split()) for c in choices)
    if not tidy:
        errors[f"{at}.choices"] = "a CHOICE setting needs at least one choice"
    elif len(tidy) > CHOICES_MAX:
        errors[f"{at}.choices"] = f"at most {CHOICES_MAX} choices"
    elif any(not 1 <= len(c) <= CHOICE_MAX for c in tidy):
        errors[f"{at}.choices"] = f"each choice is 1 to {CHOICE_MAX} characters"
    elif len(set(tidy)) != len(tidy):
        errors[f"{at}.choices"] = "each choice once"
    return tidy


def checked_service(service: Service, *, currency: str = CURRENCY) -> Service:
    """The service with its text tidied and its lists without repeats, or InvalidArgument
    naming every bad field. Whether the names exist is `check_service_definition`'s job."""
    errors: dict[str, str] = {}
    _check_item_id(service.id, errors)
    name = _checked_text(service.name, "name", NAME_MAX, errors, required=True)
    description = _checked_text(service.description, "description", DESCRIPTION_MAX, errors)
    _check_money(service.monthly_price, currency, "monthly_price", errors)
    requires = _checked_links(service.requires, "requires", errors)
    excludes = _checked_links(service.excludes, "excludes", errors)
    tariffs = _checked_links(service.tariffs, "tariffs", errors)
    for name_of_list, links in (("requires", requires), ("excludes", excludes)):
        if service.id in links:
            errors.setdefault(name_of_list, "a service cannot name itself")
    if both := [s for s in requires if s in excludes]:
        errors.setdefault("excludes", f"both required and excluded: {', '.join(both)}")
    if service.category not in SERVICE_CATEGORIES:
        errors["category"] = f"one of: {', '.join(SERVICE_CATEGORIES)}"
    if errors:
        raise InvalidArgument("the service is not valid", errors)
    return replace(
        service,
        name=name,
        description=description,
        requires=requires,
        excludes=excludes,
        tariffs=tariffs,
    )


def check_service_definition(service: Service, catalogue: Catalogue) -> None:
    """The service (already `checked_service`) fits the catalogue: it names existing
    tariffs and services, and with it every service could still be connected somewhere —
    no chain of requirements leads back to itself or to a service excluded along the way.
    Refusals are InvalidArgument on the service's field (422)."""
    errors: dict[str, str] = {}
    for list_name, links, known in (
        ("requires", service.requires, catalogue.services_by_id),
        ("excludes", service.excludes, catalogue.services_by_id),
        ("tariffs", service.tariffs, catalogue.tariffs_by_id),
    ):
        if unknown := [link for link in links if link not in known and link != service.id]:
            what = "tariffs" if list_name == "tariffs" else "services"
            errors[list_name] = f"no such {what}: {', '.join(unknown)}"
    if errors:
        raise InvalidArgument("the service names what the catalogue does not have", errors)
    after = catalogue.with_service(service)
    _check_connectable(service, after, service.id)
    for other in after.services:
        if other.id != service.id and service.id in _requirements(other.id, after):
            _check_connectable(other, after, service.id)


def _requirements(service_id: str, catalogue: Catalogue) -> set[str]:
    """Everything the service needs, directly or through what it needs."""
    found: set[str] = set()
    waiting = list(catalogue.services_by_id[service_id].requires)
    while waiting:
        current = waiting.pop()
        if current in found or current not in catalogue.services_by_id:
            continue
        found.add(current)
        waiting.extend(catalogue.services_by_id[current].requires)
    return found


def _check_connectable(service: Service, catalogue: Catalogue, defined_id: str) -> None:
    needed = _requirements(service.id, catalogue)
    whose = "it" if service.id == defined_id else f"«{service.name}»"
    if service.id in needed:
        raise InvalidArgument(
            "the requirements go round in a circle",
            {"requires": f"{whose} would require itself through its requirements"},
        )
    together = [catalogue.services_by_id[s] for s in (*sorted(needed), service.id)]
    for first in together:
        for second in together:
            if second.id in first.excludes:
                raise InvalidArgument(
                    "the service could never be connected",
                    {
                        "excludes": f"{whose} would need «{first.name}» and «{second.name}» "
                        "together, and one excludes the other"
                    },
                )


def _check_item_id(item_id: str, errors: dict[str, str]) -> None:
    if not ITEM_ID.fullmatch(item_id):
        errors["id"] = "3 to 64 lowercase latin letters, digits and _"


def _checked_text(
    text: str, field_name: str, limit: int, errors: dict[str, str], *, required: bool = False
) -> str:
    tidy = " ".join(text.split())
    if required and not tidy:
        errors[field_name] = "required"
    elif len(tidy) > limit:
        errors[field_name] = f"at most {limit} characters"
    return tidy


def _check_money(amount: int, currency: str, field_name: str, errors: dict[str, str]) -> None:
    if amount < 0:
        errors[field_name] = "kopecks, 0 or more"
    if currency not in ("", CURRENCY):
        errors[f"{field_name}.currency"] = f"the catalogue is in {CURRENCY}"


def _checked_links(
    links: Iterable[str], field_name: str, errors: dict[str, str]
) -> tuple[str, ...]:
    unique = tuple(dict.fromkeys(links))
    if len(unique) > LINKS_MAX:
        errors[field_name] = f"at most {LINKS_MAX}"
    elif bad := [link for link in unique if not ITEM_ID.fullmatch(link)]:
        errors[field_name] = f"not ids: {', '.join(repr(b) for b in bad[:5])}"
    return unique


# ---------------------------------------------------------------- tariff settings


def check_tariff_settings(tariff: Tariff, values: Mapping[str, SettingValue]) -> dict[str, str]:
    """Every setting of the tariff, as normalised text: the values given, checked against
    their definitions, and the defaults for the rest. InvalidArgument names each bad key."""
    errors: dict[str, str] = {}
    normalized = tariff.defaults
    for key, value in values.items():
        setting = tariff.setting(key)
        if setting is None:
            errors[key] = f"not a setting of «{tariff.name}»"
            continue
        try:
            normalized[key] = _normalized_value(setting, value)
        except ValueError as problem:
            errors[key] = str(problem)
    if errors:
        raise InvalidArgument("the tariff's settings are not valid", errors)
    return normalized


def settings_in_force(tariff: Tariff, stored: Mapping[str, str]) -> dict[str, str]:
    """A number's settings on the tariff as it is defined now: stored values that still
    fit, the default where the operator has since added or changed a setting."""
    in_force = tariff.defaults
    for setting in tariff.settings:
        if setting.key not in stored:
            continue
        try:
            in_force[setting.key] = _normalized_value(setting, stored[setting.key])
        except ValueError:
            continue
    return in_force


def typed_value(setting: SettingDefinition, text: str) -> SettingValue:
    """A normalised value as its type (for JSON): True, 300, "unlimited"."""
    if setting.type == BOOL:
        return text == TRUE
    if setting.type == INT:
        return int(text)
    return text


def _normalized_value(setting: SettingDefinition, value: SettingValue) -> str:
    """The value as canonical text, or ValueError saying what is expected."""
    if setting.type == BOOL:
        return _bool_text(value)
    if setting.type == INT:
        return _int_text(value, setting.min, setting.max)
    if isinstance(value, str) and value in setting.choices:
        return value
    raise ValueError(f"one of: {', '.join(setting.choices)}")


def _bool_text(value: SettingValue) -> str:
    if isinstance(value, bool):
        return TRUE if value else FALSE
    if isinstance(value, str) and value.strip().lower() in (TRUE, FALSE):
        return value.strip().lower()
    raise ValueError("true or false")


def _int_text(value: SettingValue, low: int, high: int) -> str:
    expected = f"a whole number from {low} to {high}"
    if isinstance(value, bool):  # bool is an int in Python, never a number here
        raise ValueError(expected)
    if isinstance(value, str):
        if not INTEGER.fullmatch(value.strip()):
            raise ValueError(expected)
        value = int(value.strip())
    if not isinstance(value, int) or not low <= value <= high:
        raise ValueError(expected)
    return str(value)


# ---------------------------------------------------------------- compatibility


def check_service_connection(
    service: Service,
    tariff_id: str,
    connected_service_ids: Iterable[str],
    catalogue: Catalogue,
) -> None:
    """May `service` be connected to a number on `tariff_id` that has these services?"""
    connected = set(connected_service_ids)
    name = f"«{service.name}»"
    if service.id in connected:
        raise Incompatible(
            f"{name} is already connected", reason="ALREADY_CONNECTED", service_ids=[service.id]
        )
    if not service.available:
        raise Incompatible(
            f"{name} is no longer offered", reason="SERVICE_UNAVAILABLE", service_ids=[service.id]
        )
    if not service.allowed_on(tariff_id):
        tariff = catalogue.tariffs_by_id.get(tariff_id)
        on = f"«{tariff.name}»" if tariff else tariff_id
        raise Incompatible(
            f"{name} cannot be connected on the tariff {on}",
            reason="SERVICE_NOT_ON_TARIFF",
            service_ids=[service.id],
        )
    if missing := [s for s in service.requires if s not in connected]:
        raise Incompatible(
            f"{name} needs {catalogue.names_of(missing)} connected first",
            reason="SERVICE_REQUIRES",
            service_ids=missing,
        )
    if excluding := [s for s in sorted(connected) if _exclude_each_other(service, s, catalogue)]:
        raise Incompatible(
            f"{name} cannot be connected together with {catalogue.names_of(excluding)}",
            reason="SERVICE_EXCLUDED",
            service_ids=excluding,
        )


def _exclude_each_other(service: Service, other_id: str, catalogue: Catalogue) -> bool:
    if other_id in service.excludes:
        return True
    other = catalogue.services_by_id.get(other_id)
    return other is not None and service.id in other.excludes


def check_service_disconnection(
    service_id: str, connected: Iterable[str], catalogue: Catalogue
) -> None:
    """May the service be disconnected from a number that has `connected`?"""
    connected_ids = set(connected)
    if service_id not in connected_ids:
        raise Incompatible(
            f"{catalogue.name_of(service_id)} is not connected",
            reason="NOT_CONNECTED",
            service_ids=[service_id],
        )
    needing = sorted(
        other
        for other in connected_ids - {service_id}
        if other in catalogue.services_by_id
        and service_id in catalogue.services_by_id[other].requires
    )
    if needing:
        raise Incompatible(
            f"{catalogue.name_of(service_id)} is needed by {catalogue.names_of(needing)}; "
            "disconnect them first",
            reason="REQUIRED_BY",
            service_ids=needing,
        )


def check_tariff_change(
    new_tariff: Tariff, connected_service_ids: Iterable[str], catalogue: Catalogue
) -> None:
    """May a number with these services move to `new_tariff`?"""
    if not new_tariff.available:
        raise Incompatible(
            f"the tariff «{new_tariff.name}» is no longer offered", reason="TARIFF_UNAVAILABLE"
        )
    not_allowed = sorted(
        s
        for s in set(connected_service_ids)
        if s in catalogue.services_by_id
        and not catalogue.services_by_id[s].allowed_on(new_tariff.id)
    )
    if not_allowed:
        raise Incompatible(
            f"the tariff «{new_tariff.name}» does not allow {catalogue.names_of(not_allowed)}; "
            "disconnect them first",
            reason="SERVICES_NOT_ON_TARIFF",
            service_ids=not_allowed,
        )
