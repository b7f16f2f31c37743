"""The catalogue's rules: definitions are checked field by field, tariff settings are typed,
and every compatibility rule refuses with its own reason and names the services concerned."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from services.catalog.domain.catalogue import (
    BOOL,
    CHOICE,
    INT,
    Catalogue,
    Incompatible,
    Service,
    SettingDefinition,
    Tariff,
    check_service_connection,
    check_service_definition,
    check_service_disconnection,
    check_tariff_change,
    check_tariff_settings,
    checked_service,
    checked_tariff,
    settings_in_force,
    typed_value,
)
from services.kit.errors import InvalidArgument, NotAllowed, NotFound

MINUTES = SettingDefinition("minutes", "Пакет минут", INT, "300", min=0, max=3000)
INTERNET = SettingDefinition(
    "internet", "Пакет интернета", CHOICE, "10gb", choices=("5gb", "10gb", "unlimited")
)
ROAMING = SettingDefinition("roaming", "Роуминг", BOOL, "false")

START = Tariff(
    "tariff_start", "Бизнес Старт", "Для начала", 35000, (MINUTES, INTERNET, ROAMING), True
)
UNLIMITED = Tariff("tariff_unlimited", "Бизнес Безлимит", "", 120000, (), True)
OLD = Tariff("tariff_old", "Архивный", "", 10000, (), available=False)
M2M = Tariff("tariff_m2m", "Умный бизнес M2M", "", 5000, (), True)


def service(service_id: str, **changes) -> Service:
    return replace(Service(service_id, service_id.title(), "", 10000, category="other"), **changes)


ROAMING_INTL = service("intl_roaming", name="Международный роуминг", category="roaming")
ROAMING_UNLIM = service("roaming_unlimited", name="Безлимит в роуминге", requires=("intl_roaming",))
CORPORATE = service("corporate_group", name="Корпоративная группа", excludes=("family_group",))
FAMILY = service("family_group", name="Семейная группа")
EXTRA_GB = service(
    "extra_10gb",
    name="Дополнительный интернет 10 ГБ",
    tariffs=("tariff_start", "tariff_unlimited"),
    category="internet",
)
RETIRED = service("retired_option", name="Старая опция", available=False)
ANTISPAM = service("antispam", name="Антиспам", category="security")

CATALOGUE = Catalogue.of(
    [START, UNLIMITED, OLD, M2M],
    [ROAMING_INTL, ROAMING_UNLIM, CORPORATE, FAMILY, EXTRA_GB, RETIRED, ANTISPAM],
)


def refused(error: pytest.ExceptionInfo) -> tuple[str, tuple[str, ...]]:
    assert isinstance(error.value, NotAllowed)  # 409 not_allowed at the gateway
    return error.value.reason, error.value.service_ids


# ---------------------------------------------------------------- defining a tariff


def test_a_good_tariff_is_kept_with_its_text_tidied():
    tariff = checked_tariff(replace(START, name="  Бизнес   Старт "), currency="RUB")
    assert tariff.name == "Бизнес Старт"
    assert tariff.settings == START.settings
    assert checked_tariff(START, currency="") == START  # no currency given: roubles


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": "ab"}, "id"),
        ({"id": "x" * 65}, "id"),
        ({"id": "Tariff_Start"}, "id"),
        ({"id": "тариф_старт"}, "id"),
        ({"id": "tariff-start"}, "id"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"description": "x" * 2001}, "description"),
        ({"monthly_fee": -1}, "monthly_fee"),
    ],
)
def test_bad_tariff_fields_are_refused_by_field(changes, field):
    with pytest.raises(InvalidArgument) as error:
        checked_tariff(replace(START, **changes))
    assert field in error.value.fields


def test_a_fee_in_another_currency_is_refused():
    with pytest.raises(InvalidArgument) as error:
        checked_tariff(START, currency="USD")
    assert set(error.value.fields) == {"monthly_fee.currency"}


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(InvalidArgument) as error:
        checked_tariff(replace(START, id="X", name="", monthly_fee=-5))
    assert {"id", "name", "monthly_fee"} <= set(error.value.fields)


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        (replace(MINUTES, key="Minutes"), "settings[0].key"),
        (replace(MINUTES, key="1minutes"), "settings[0].key"),
        (replace(MINUTES, title=""), "settings[0].title"),
        (replace(MINUTES, type=""), "settings[0].type"),
        (replace(MINUTES, min=100, max=10), "settings[0].max"),
        (replace(MINUTES, default="5000"), "settings[0].default_value"),
        (replace(MINUTES, default="-1"), "settings[0].default_value"),
        (replace(MINUTES, default="many"), "settings[0].default_value"),
        (replace(MINUTES, default=""), "settings[0].default_value"),
        (replace(MINUTES, choices=("a",)), "settings[0].choices"),
        (replace(INTERNET, default="20gb"), "settings[0].default_value"),
        (replace(INTERNET, choices=()), "settings[0].choices"),
        (replace(INTERNET, choices=("5gb", "5gb")), "settings[0].choices"),
        (replace(INTERNET, choices=("5gb", " ")), "settings[0].choices"),
        (replace(INTERNET, min=1), "settings[0].min"),
        (replace(ROAMING, default="yes"), "settings[0].default_value"),
        (replace(ROAMING, max=1), "settings[0].min"),
        (replace(ROAMING, choices=("true", "false")), "settings[0].choices"),
    ],
)
def test_bad_settings_are_refused_by_their_place(setting, field):
    with pytest.raises(InvalidArgument) as error:
        checked_tariff(replace(START, settings=(setting,)))
    assert field in error.value.fields, error.value.fields


def test_setting_keys_are_unique():
    with pytest.raises(InvalidArgument) as error:
        checked_tariff(replace(START, settings=(MINUTES, ROAMING, replace(MINUTES, title="Ещё"))))
    assert set(error.value.fields) == {"settings[2].key"}


def test_defaults_are_normalised():
    tariff = checked_tariff(
        replace(
            START, settings=(replace(ROAMING, default=" TRUE "), replace(MINUTES, default="0300"))
        )
    )
    assert [s.default for s in tariff.settings] == ["true", "300"]


# ---------------------------------------------------------------- defining a service


def test_a_good_service_is_kept_and_its_lists_lose_repeats():
    checked = checked_service(
        replace(ROAMING_UNLIM, requires=("intl_roaming", "intl_roaming"), name=" Безлимит ")
    )
    assert checked.requires == ("intl_roaming",)
    assert checked.name == "Безлимит"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": "a"}, "id"),
        ({"name": ""}, "name"),
        ({"monthly_price": -100}, "monthly_price"),
        ({"requires": ("roaming_unlimited",)}, "requires"),  # itself
        ({"excludes": ("roaming_unlimited",)}, "excludes"),  # itself
        ({"requires": ("intl_roaming",), "excludes": ("intl_roaming",)}, "excludes"),  # both
        ({"requires": ("Not An Id",)}, "requires"),
        ({"tariffs": ("x",)}, "tariffs"),
        ({"category": "games"}, "category"),
        ({"category": ""}, "category"),
    ],
)
def test_bad_service_fields_are_refused_by_field(changes, field):
    with pytest.raises(InvalidArgument) as error:
        checked_service(replace(ROAMING_UNLIM, **changes))
    assert field in error.value.fields, error.value.fields


def test_a_price_in_another_currency_is_refused():
    with pytest.raises(InvalidArgument) as error:
        checked_service(ANTISPAM, currency="EUR")
    assert "monthly_price.currency" in error.value.fields


@pytest.mark.parametrize(
    ("changes", "field", "named"),
    [
        ({"requires": ("intl_roaming", "nowhere")}, "requires", "nowhere"),
        ({"excludes": ("ghost_service",)}, "excludes", "ghost_service"),
        ({"tariffs": ("tariff_start", "tariff_moon")}, "tariffs", "tariff_moon"),
    ],
)
def test_a_service_names_only_what_the_catalogue_has(changes, field, named):
    with pytest.raises(InvalidArgument) as error:
        check_service_definition(replace(ROAMING_UNLIM, **changes), CATALOGUE)
    assert named in error.value.fields[field]


def test_a_service_may_be_redefined_and_may_name_an_unavailable_tariff():
    check_service_definition(replace(ROAMING_UNLIM, tariffs=("tariff_old",)), CATALOGUE)
    check_service_definition(replace(EXTRA_GB, monthly_price=0), CATALOGUE)


def test_requirements_never_go_round_in_a_circle():
    # intl_roaming ← roaming_unlimited; now intl_roaming would need roaming_unlimited
    with pytest.raises(InvalidArgument) as error:
        check_service_definition(replace(ROAMING_INTL, requires=("roaming_unlimited",)), CATALOGUE)
    assert "requires" in error.value.fields


def test_a_service_is_never_defined_so_that_it_could_never_be_connected():
    # it would need the corporate group and the family group, which exclude each other
    both = service("both_groups", requires=("corporate_group", "family_group"))
    with pytest.raises(InvalidArgument) as error:
        check_service_definition(both, CATALOGUE)
    assert "excludes" in error.value.fields
    # nor excludes what it needs through another service
    deep = service("deep", requires=("roaming_unlimited",), excludes=("intl_roaming",))
    with pytest.raises(InvalidArgument):
        check_service_definition(deep, CATALOGUE)


def test_a_redefinition_that_breaks_a_service_depending_on_it_is_refused():
    # roaming_unlimited needs intl_roaming; intl_roaming now excluding it breaks it
    with pytest.raises(InvalidArgument) as error:
        check_service_definition(replace(ROAMING_INTL, excludes=("roaming_unlimited",)), CATALOGUE)
    assert "Безлимит в роуминге" in error.value.fields["excludes"]


# ---------------------------------------------------------------- the catalogue read


def test_lookups_answer_not_found_or_bad_input_as_asked():
    with pytest.raises(NotFound):
        CATALOGUE.tariff("tariff_moon")
    with pytest.raises(NotFound):
        CATALOGUE.service("nothing")
    # A tariff or service a request's body names: 404 too, with the field named (it was
    # InvalidArgument: a 422 for a well-formed request naming what does not exist).
    with pytest.raises(NotFound) as error:
        CATALOGUE.known_tariff("tariff_moon")
    assert "tariff_id" in error.value.fields
    with pytest.raises(NotFound) as error:
        CATALOGUE.known_service("nothing", "params.service_id")
    assert "params.service_id" in error.value.fields


def test_tariffs_are_listed_cheapest_first():
    assert [t.id for t in CATALOGUE.tariffs] == [
        "tariff_m2m",
        "tariff_old",
        "tariff_start",
        "tariff_unlimited",
    ]


def test_services_connectable_on_a_tariff_are_the_offered_ones_it_allows():
    on_m2m = {s.id for s in CATALOGUE.connectable_on("tariff_m2m")}
    on_start = {s.id for s in CATALOGUE.connectable_on("tariff_start")}
    assert "extra_10gb" not in on_m2m and "extra_10gb" in on_start
    assert "retired_option" not in on_start
    assert "antispam" in on_m2m


# ---------------------------------------------------------------- tariff settings


def test_missing_settings_take_their_defaults():
    assert check_tariff_settings(START, {}) == {
        "minutes": "300",
        "internet": "10gb",
        "roaming": "false",
    }


def test_given_settings_are_normalised_text():
    values = check_tariff_settings(START, {"minutes": " 0600", "roaming": "True"})
    assert values == {"minutes": "600", "internet": "10gb", "roaming": "true"}
    typed = check_tariff_settings(
        START, {"minutes": 1200, "roaming": True, "internet": "unlimited"}
    )
    assert typed == {"minutes": "1200", "internet": "unlimited", "roaming": "true"}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"sms": "100"}, "sms"),  # unknown key
        ({"minutes": "lots"}, "minutes"),  # wrong type
        ({"minutes": True}, "minutes"),  # a bool is not a number
        ({"minutes": "1e3"}, "minutes"),
        ({"minutes": "３００"}, "minutes"),  # only latin digits
        ({"minutes": 3001}, "minutes"),  # out of range
        ({"minutes": "-1"}, "minutes"),
        ({"minutes": 2.5}, "minutes"),
        ({"internet": "20gb"}, "internet"),  # not a choice
        ({"internet": "UNLIMITED"}, "internet"),
        ({"internet": 5}, "internet"),
        ({"roaming": "yes"}, "roaming"),  # wrong type
        ({"roaming": 1}, "roaming"),
    ],
)
def test_bad_settings_are_refused_with_the_key_as_the_field(values, field):
    with pytest.raises(InvalidArgument) as error:
        check_tariff_settings(START, values)
    assert set(error.value.fields) == {field}


def test_every_bad_setting_is_reported_at_once():
    with pytest.raises(InvalidArgument) as error:
        check_tariff_settings(START, {"minutes": "x", "roaming": "x", "colour": "red"})
    assert set(error.value.fields) == {"minutes", "roaming", "colour"}


def test_settings_in_force_keep_what_still_fits():
    stored = {"minutes": "5000", "internet": "unlimited", "gone": "x"}
    assert settings_in_force(START, stored) == {
        "minutes": "300",  # no longer within the range: the default
        "internet": "unlimited",
        "roaming": "false",
    }


def test_typed_values_for_json():
    assert typed_value(ROAMING, "true") is True
    assert typed_value(MINUTES, "300") == 300
    assert typed_value(INTERNET, "unlimited") == "unlimited"


@given(low=st.integers(-(10**6), 10**6), span=st.integers(0, 10**6), value=st.integers())
def test_an_int_setting_takes_exactly_its_range(low, span, value):
    setting = SettingDefinition("n", "N", INT, str(low), min=low, max=low + span)
    tariff = Tariff("tariff_n", "N", "", 0, (setting,))
    for given_as in (value, str(value), f" {value} "):
        if low <= value <= low + span:
            assert check_tariff_settings(tariff, {"n": given_as}) == {"n": str(value)}
        else:
            with pytest.raises(InvalidArgument):
                check_tariff_settings(tariff, {"n": given_as})


@given(
    choices=st.lists(st.text(min_size=1, max_size=10).map(str.strip), min_size=1, unique=True),
    value=st.text(max_size=10),
)
def test_a_choice_setting_takes_exactly_its_choices(choices, value):
    assume(all(choices))
    setting = SettingDefinition("c", "C", CHOICE, choices[0], choices=tuple(choices))
    tariff = Tariff("tariff_c", "C", "", 0, (setting,))
    for choice in choices:
        assert check_tariff_settings(tariff, {"c": choice}) == {"c": choice}
    if value not in choices:
        with pytest.raises(InvalidArgument):
            check_tariff_settings(tariff, {"c": value})


@given(
    values=st.dictionaries(
        st.sampled_from(["minutes", "internet", "roaming", "other"]),
        st.one_of(st.text(max_size=6), st.integers(), st.booleans()),
    )
)
def test_checked_settings_are_complete_and_checking_them_again_changes_nothing(values):
    try:
        normalized = check_tariff_settings(START, values)
    except InvalidArgument as error:
        assert error.fields and set(error.fields) <= set(values)  # only the keys given
        return
    assert set(normalized) == {"minutes", "internet", "roaming"}
    assert check_tariff_settings(START, normalized) == normalized
    assert settings_in_force(START, normalized) == normalized


# ---------------------------------------------------------------- connecting a service


def test_a_compatible_service_connects():
    check_service_connection(ANTISPAM, "tariff_m2m", [], CATALOGUE)
    check_service_connection(ROAMING_UNLIM, "tariff_start", ["intl_roaming"], CATALOGUE)
    check_service_connection(EXTRA_GB, "tariff_unlimited", ["antispam"], CATALOGUE)


def test_a_connected_service_is_not_connected_again():
    with pytest.raises(Incompatible) as error:
        check_service_connection(ANTISPAM, "tariff_start", ["antispam"], CATALOGUE)
    assert refused(error) == ("ALREADY_CONNECTED", ("antispam",))


def test_a_service_no_longer_offered_is_not_connected():
    with pytest.raises(Incompatible) as error:
        check_service_connection(RETIRED, "tariff_start", [], CATALOGUE)
    assert refused(error) == ("SERVICE_UNAVAILABLE", ("retired_option",))


def test_a_service_only_on_the_tariffs_it_names():
    with pytest.raises(Incompatible) as error:
        check_service_connection(EXTRA_GB, "tariff_m2m", [], CATALOGUE)
    assert refused(error) == ("SERVICE_NOT_ON_TARIFF", ("extra_10gb",))
    assert "«Умный бизнес M2M»" in str(error.value)


def test_a_service_needs_what_it_requires_connected_first():
    with pytest.raises(Incompatible) as error:
        check_service_connection(ROAMING_UNLIM, "tariff_start", ["antispam"], CATALOGUE)
    assert refused(error) == ("SERVICE_REQUIRES", ("intl_roaming",))
    assert "«Международный роуминг»" in str(error.value)


def test_excluding_services_never_go_together_whichever_names_the_other():
    with pytest.raises(Incompatible) as error:
        check_service_connection(CORPORATE, "tariff_start", ["family_group"], CATALOGUE)
    assert refused(error) == ("SERVICE_EXCLUDED", ("family_group",))
    # the family group names nothing, the corporate group excludes it: still refused
    with pytest.raises(Incompatible) as error:
        check_service_connection(FAMILY, "tariff_start", ["corporate_group", "antispam"], CATALOGUE)
    assert refused(error) == ("SERVICE_EXCLUDED", ("corporate_group",))
    assert "«Корпоративная группа»" in str(error.value)


# ---------------------------------------------------------------- disconnecting


def test_a_service_nothing_needs_disconnects():
    check_service_disconnection(
        "roaming_unlimited", ["intl_roaming", "roaming_unlimited"], CATALOGUE
    )
    check_service_disconnection("antispam", ["antispam"], CATALOGUE)


def test_only_a_connected_service_is_disconnected():
    with pytest.raises(Incompatible) as error:
        check_service_disconnection("antispam", ["intl_roaming"], CATALOGUE)
    assert refused(error) == ("NOT_CONNECTED", ("antispam",))


def test_a_service_others_need_stays_until_they_go():
    with pytest.raises(Incompatible) as error:
        check_service_disconnection(
            "intl_roaming", ["intl_roaming", "roaming_unlimited", "antispam"], CATALOGUE
        )
    assert refused(error) == ("REQUIRED_BY", ("roaming_unlimited",))
    assert "«Безлимит в роуминге»" in str(error.value)


# ---------------------------------------------------------------- changing the tariff


def test_a_tariff_change_that_keeps_every_service_allowed():
    check_tariff_change(UNLIMITED, ["extra_10gb", "antispam"], CATALOGUE)
    check_tariff_change(M2M, ["antispam", "intl_roaming"], CATALOGUE)


def test_a_tariff_no_longer_offered_is_not_taken():
    with pytest.raises(Incompatible) as error:
        check_tariff_change(OLD, [], CATALOGUE)
    assert refused(error) == ("TARIFF_UNAVAILABLE", ())


def test_a_tariff_that_does_not_allow_a_connected_service_lists_them():
    with pytest.raises(Incompatible) as error:
        check_tariff_change(M2M, ["extra_10gb", "antispam"], CATALOGUE)
    assert refused(error) == ("SERVICES_NOT_ON_TARIFF", ("extra_10gb",))
    assert "«Дополнительный интернет 10 ГБ»" in str(error.value)


# ---------------------------------------------------------------- properties


SERVICE_IDS = ["svc_a", "svc_b", "svc_c", "svc_d", "svc_e"]


@st.composite
def catalogues(draw) -> Catalogue:
    """A few services with random rules over two tariffs (not necessarily consistent)."""
    services = []
    for service_id in SERVICE_IDS:
        others = [s for s in SERVICE_IDS if s != service_id]
        requires = draw(st.lists(st.sampled_from(others), max_size=2, unique=True))
        excludes = draw(
            st.lists(
                st.sampled_from([o for o in others if o not in requires]), max_size=2, unique=True
            )
        )
        tariffs = draw(st.lists(st.sampled_from(["tariff_x", "tariff_y"]), max_size=2, unique=True))
        services.append(
            service(
                service_id,
                requires=tuple(requires),
                excludes=tuple(excludes),
                tariffs=tuple(tariffs),
                available=draw(st.booleans()),
            )
        )
    tariffs = [Tariff("tariff_x", "X", "", 0), Tariff("tariff_y", "Y", "", 0)]
    return Catalogue.of(tariffs, services)


@given(
    catalogue=catalogues(),
    steps=st.lists(st.tuples(st.booleans(), st.sampled_from(SERVICE_IDS)), max_size=25),
    tariff=st.sampled_from(["tariff_x", "tariff_y"]),
)
def test_whatever_the_rules_allow_leaves_a_number_consistent(catalogue, steps, tariff):
    """Connecting and disconnecting only what the rules allow, a number's services always
    include their requirements, never two that exclude each other, only ones its tariff
    allows."""
    connected: set[str] = set()
    for connect, service_id in steps:
        try:
            if connect:
                check_service_connection(
                    catalogue.service(service_id), tariff, connected, catalogue
                )
                connected.add(service_id)
            else:
                check_service_disconnection(service_id, connected, catalogue)
                connected.discard(service_id)
        except Incompatible:
            continue
        for s in connected:
            rules = catalogue.service(s)
            assert set(rules.requires) <= connected
            assert not set(rules.excludes) & connected
            assert rules.allowed_on(tariff)


@given(catalogue=catalogues(), connected=st.sets(st.sampled_from(SERVICE_IDS)))
def test_a_tariff_change_is_refused_exactly_when_a_connected_service_is_not_allowed(
    catalogue, connected
):
    target = catalogue.tariff("tariff_y")
    blocked = {s for s in connected if not catalogue.service(s).allowed_on(target.id)}
    if blocked:
        with pytest.raises(Incompatible) as error:
            check_tariff_change(target, connected, catalogue)
        assert set(error.value.service_ids) == blocked
    else:
        check_tariff_change(target, connected, catalogue)
