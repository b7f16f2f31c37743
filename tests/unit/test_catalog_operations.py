"""The rules of the operations on one number, and the provisioning simulator: each
operation returns the number as it would be, or refuses with its precise reason."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from services.catalog.domain import operations as rules
from services.catalog.domain.catalogue import (
    BOOL,
    INT,
    Catalogue,
    Incompatible,
    Service,
    SettingDefinition,
    Tariff,
)
from services.catalog.domain.numbers import (
    ACTIVE,
    BLOCKED,
    ConnectedService,
    Forwarding,
    Number,
    TariffChoice,
)
from services.catalog.provisioning import (
    BlockChange,
    MsisdnChange,
    ProvisioningFailed,
    SimulatedProvisioning,
    TariffChange,
)
from services.kit.errors import InvalidArgument, NotAllowed

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
MSISDN = "79161234567"

BASIC = Tariff(
    "basic",
    "Базовый",
    "",
    30000,
    settings=(
        SettingDefinition("minutes", "Минуты", INT, "500", min=0, max=3000),
        SettingDefinition("roaming", "Роуминг", BOOL, "true"),
    ),
)
LITE = Tariff("lite", "Лайт", "", 10000)
OLD = Tariff("old", "Архивный", "", 10000, available=False)
INTERNET = Service("internet", "Интернет", "", 10000)
TURBO = Service("turbo", "Турбо", "", 5000, requires=("internet",))
ROAMING = Service("roaming", "Роуминг", "", 5000, tariffs=("basic",))
SAFE = Service("safe", "Безопасный", "", 5000, excludes=("internet",))
CATALOGUE = Catalogue.of([BASIC, LITE, OLD], [INTERNET, TURBO, ROAMING, SAFE])


def a_number(**changes) -> Number:
    fields = {
        "msisdn": MSISDN,
        "iccid": "8970199000000000009",
        "company_id": "c1",
        "status": ACTIVE,
        "node_id": "n1",
        "node_path": ("root", "n1"),
        "tariff": TariffChoice("basic", "Базовый", {"minutes": "500", "roaming": "true"}),
        "added_at": NOW,
    }
    return Number(**{**fields, **changes})


def connected(*services: Service) -> tuple[ConnectedService, ...]:
    return tuple(ConnectedService(s.id, s.name, NOW) for s in services)


# ---------------------------------------------------------------- tariff


def test_a_tariff_change_takes_the_given_settings_and_the_defaults_for_the_rest():
    after = rules.with_tariff(a_number(), BASIC, {"minutes": 300}, CATALOGUE)
    assert after.tariff == TariffChoice("basic", "Базовый", {"minutes": "300", "roaming": "true"})

    lite = rules.with_tariff(a_number(), LITE, {}, CATALOGUE)
    assert lite.tariff == TariffChoice("lite", "Лайт", {})


def test_a_tariff_change_is_refused_for_a_service_the_tariff_does_not_allow():
    number = a_number(services=connected(ROAMING))
    with pytest.raises(Incompatible) as refusal:
        rules.with_tariff(number, LITE, {}, CATALOGUE)
    assert refusal.value.reason == "SERVICES_NOT_ON_TARIFF"
    assert refusal.value.service_ids == ("roaming",)


def test_a_tariff_no_longer_offered_and_bad_settings_are_refused():
    with pytest.raises(Incompatible) as refusal:
        rules.with_tariff(a_number(), OLD, {}, CATALOGUE)
    assert refusal.value.reason == "TARIFF_UNAVAILABLE"
    with pytest.raises(InvalidArgument) as bad:
        rules.with_tariff(a_number(), BASIC, {"minutes": 5000, "colour": "red"}, CATALOGUE)
    assert set(bad.value.fields) == {"minutes", "colour"}


def test_changing_settings_keeps_the_others_as_they_are():
    number = a_number(
        tariff=TariffChoice("basic", "Базовый", {"minutes": "100", "roaming": "false"})
    )
    after = rules.with_tariff_settings(number, BASIC, {"minutes": "250"})
    assert after.tariff.settings == {"minutes": "250", "roaming": "false"}
    with pytest.raises(InvalidArgument):
        rules.with_tariff_settings(number, BASIC, {})


# ---------------------------------------------------------------- services


def test_services_connect_and_disconnect_by_the_catalogues_rules():
    number = rules.with_service(a_number(), INTERNET, CATALOGUE, NOW)
    number = rules.with_service(number, TURBO, CATALOGUE, NOW)
    assert [s.id for s in number.services] == ["internet", "turbo"]

    with pytest.raises(Incompatible) as needed:
        rules.without_service(number, "internet", CATALOGUE)
    assert needed.value.reason == "REQUIRED_BY"
    with pytest.raises(Incompatible) as excluded:
        rules.with_service(number, SAFE, CATALOGUE, NOW)
    assert excluded.value.reason == "SERVICE_EXCLUDED"
    with pytest.raises(Incompatible) as missing:
        rules.with_service(a_number(), TURBO, CATALOGUE, NOW)
    assert missing.value.reason == "SERVICE_REQUIRES"

    assert [s.id for s in rules.without_service(number, "turbo", CATALOGUE).services] == [
        "internet"
    ]


# ---------------------------------------------------------------- blocks


def test_the_customer_sets_and_removes_only_customer_blocks():
    assert rules.checked_block_type("voluntary") == "voluntary"
    assert rules.checked_block_type("lost_stolen") == "lost_stolen"
    for system_block in ("financial", "limit", "administrative"):
        with pytest.raises(NotAllowed) as refusal:
            rules.checked_block_type(system_block)
        assert refusal.value.reason == "SYSTEM_BLOCK"
    with pytest.raises(InvalidArgument) as unknown:
        rules.checked_block_type("holiday")
    assert "type" in unknown.value.fields


def test_a_number_is_blocked_while_any_block_is_set():
    one = rules.with_block(a_number(), "voluntary", NOW)
    two = rules.with_block(one, "lost_stolen", NOW)
    assert one.status == two.status == BLOCKED
    still = rules.without_block(two, "voluntary")
    assert still.status == BLOCKED and [b.type for b in still.blocks] == ["lost_stolen"]
    assert rules.without_block(still, "lost_stolen").status == ACTIVE

    with pytest.raises(NotAllowed) as twice:
        rules.with_block(one, "voluntary", NOW)
    assert twice.value.reason == "ALREADY_BLOCKED"
    with pytest.raises(NotAllowed) as absent:
        rules.without_block(a_number(), "voluntary")
    assert absent.value.reason == "NOT_BLOCKED"


# ---------------------------------------------------------------- forwarding


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+7 (495) 123-45-67", "74951234567"),
        ("8 495 123 45 67", "74951234567"),
        ("4951234567", "74951234567"),
        ("+7 916 765-43-21", "79167654321"),
        ("+44 20 7946 0958", "442079460958"),
        ("+1 (212) 555-0100", "12125550100"),
    ],
)
def test_a_forwarding_target_is_any_phone_number_normalised(raw, expected):
    assert rules.checked_forwarding_target(raw, MSISDN) == expected


@pytest.mark.parametrize(
    "raw", ["", "12345", "+7 495 123", "+0 123 456 789", "abc", "+44 20 7946 0958 0000 1", "٧٤٩٥"]
)
def test_a_malformed_forwarding_target_is_bad_input(raw):
    with pytest.raises(InvalidArgument) as bad:
        rules.checked_forwarding_target(raw, MSISDN)
    assert "target" in bad.value.fields


def test_a_number_cannot_forward_to_itself():
    with pytest.raises(InvalidArgument) as bad:
        rules.checked_forwarding_target("+7 (916) 123-45-67", MSISDN)
    assert bad.value.fields["target"] == "give another number"


def test_one_target_per_condition_and_removing_what_is_not_set_is_refused():
    number = rules.with_forwarding(a_number(), "busy", "74951234567")
    number = rules.with_forwarding(number, "busy", "74957654321")
    number = rules.with_forwarding(number, "no_reply", "74951234567")
    assert set(number.forwarding) == {
        Forwarding("busy", "74957654321"),
        Forwarding("no_reply", "74951234567"),
    }
    assert rules.without_forwarding(number, "busy").forwarding == (
        Forwarding("no_reply", "74951234567"),
    )
    with pytest.raises(NotAllowed) as absent:
        rules.without_forwarding(number, "unreachable")
    assert absent.value.reason == "FORWARDING_NOT_SET"
    with pytest.raises(InvalidArgument):
        rules.checked_condition("sometimes")


# ---------------------------------------------------------------- SIM and number


def test_sim_replacement_and_number_replacement_keep_the_card():
    assert rules.with_sim(a_number(), "8970199000000000017").iccid == "8970199000000000017"
    with pytest.raises(NotAllowed) as same:
        rules.with_sim(a_number(), a_number().iccid)
    assert same.value.reason == "SAME_SIM"

    card = a_number(
        services=connected(INTERNET),
        blocks=rules.with_block(a_number(), "voluntary", NOW).blocks,
        forwarding=(Forwarding("busy", "79990001122"), Forwarding("no_reply", "74951234567")),
        label="Водитель",
    )
    moved = rules.replaced(card, "79990001122")
    assert moved.msisdn == "79990001122"
    assert (moved.iccid, moved.services, moved.blocks, moved.label, moved.node_path) == (
        card.iccid,
        card.services,
        card.blocks,
        card.label,
        card.node_path,
    )
    # forwarding to the new number itself would loop: dropped
    assert moved.forwarding == (Forwarding("no_reply", "74951234567"),)
    # a rule across the path and the body: 409 `not_allowed`, as for the same SIM (was 422)
    with pytest.raises(NotAllowed):
        rules.checked_new_msisdn(MSISDN, MSISDN)


# ---------------------------------------------------------------- the simulator


async def test_the_simulator_refuses_the_numbers_it_is_told_to_and_confirms_the_rest():
    network = SimulatedProvisioning(fail_msisdns=["79990000001"])
    await network.apply(TariffChange(MSISDN, "basic"), "r1")
    with pytest.raises(ProvisioningFailed) as refusal:
        await network.apply(BlockChange("79990000001", "voluntary", set=True), "r2")
    assert refusal.value.reason == "PROVISIONING_FAILED"
    with pytest.raises(ProvisioningFailed):  # the new number of a replacement counts too
        await network.apply(MsisdnChange(MSISDN, "79990000001", "8970199000000000009"), "r3")


async def test_the_simulators_failure_rate_is_a_share_of_the_changes():
    always = SimulatedProvisioning(failure_rate=1.0)
    with pytest.raises(ProvisioningFailed):
        await always.apply(TariffChange(MSISDN, "basic"), "r1")
    half = SimulatedProvisioning(failure_rate=0.5, rng=random.Random(7))
    outcomes = []
    for n in range(400):
        try:
            await half.apply(TariffChange(MSISDN, "basic"), f"r{n}")
            outcomes.append(True)
        except ProvisioningFailed:
            outcomes.append(False)
    assert 150 < outcomes.count(False) < 250
    with pytest.raises(ValueError, match="failure rate"):
        SimulatedProvisioning(failure_rate=1.5)


async def test_the_simulator_answers_a_repeated_reference_with_its_first_answer():
    network = SimulatedProvisioning(failure_rate=0.5, rng=random.Random(3))
    answers = []
    for _ in range(20):  # the first answer, whatever the dice say later
        try:
            await network.apply(BlockChange(MSISDN, "voluntary", set=True), "once")
            answers.append(True)
        except ProvisioningFailed:
            answers.append(False)
    assert len(set(answers)) == 1
    assert await network.settle("once") is answers[0]


async def test_a_settled_reference_the_network_never_saw_is_refused_for_ever():
    network = SimulatedProvisioning()
    assert await network.settle("late") is False
    with pytest.raises(ProvisioningFailed):  # a late request of it changes nothing
        await network.apply(BlockChange(MSISDN, "voluntary", set=True), "late")
    assert (await network.line(MSISDN)).blocks == {}


async def test_the_simulator_keeps_each_lines_state_from_the_changes_it_applied():
    network = SimulatedProvisioning(fail_msisdns=["79990000001"])
    await network.apply(TariffChange(MSISDN, "basic", {"minutes": "300"}), "r1")
    await network.apply(BlockChange(MSISDN, "voluntary", set=True), "r2")
    await network.apply(BlockChange(MSISDN, "voluntary", set=False), "r3")
    await network.apply(BlockChange(MSISDN, "voluntary", set=True), "r2")  # a repeat: no change
    with pytest.raises(ProvisioningFailed):
        await network.apply(MsisdnChange(MSISDN, "79990000001", "8970199000000000009"), "r4")
    await network.apply(MsisdnChange(MSISDN, "79990000002", "8970199000000000009"), "r5")
    old = await network.line(MSISDN)
    assert (old.tariff_id, old.blocks, old.replaced_by) == (
        "basic",
        {"voluntary": False},
        "79990000002",
    )
    new = await network.line("79990000002")
    assert (new.tariff_id, new.settings, new.iccid) == (
        "basic",
        {"minutes": "300"},
        "8970199000000000009",
    )
