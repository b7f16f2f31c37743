"""Operations on one number through REST: tariff and settings, services, blocks, forwarding,
SIM and number replacement — each checked against the catalogue and the rules, applied
through provisioning, told by its event; refusals with precise codes change nothing; a
number the network refuses stays as it was; other companies and subtrees do not see it."""

from __future__ import annotations

import pytest

from tests.e2e.test_catalog_catalogue import (
    a_service,
    a_tariff,
    define_service,
    define_tariff,
    unique,
)
from tests.e2e.test_catalog_hierarchy import add_node, assignable, root_node
from tests.e2e.test_catalog_numbers import (
    catalog_events,
    fresh_iccid,
    fresh_msisdn,
    give_number,
    give_numbers,
    number_admin,
    spaced,
)
from tests.e2e.test_identity_flows import bearer, register
from tests.e2e.test_identity_users_roles import create_user, login_as
from tests.support.system import PROVISIONING_FAILS
from vm.catalog.v1 import numbers_pb2 as pb

pytestmark = pytest.mark.e2e


@pytest.fixture
async def admin(api, company) -> dict[str, str]:
    return bearer(await register(api, company))


@pytest.fixture
async def shop(system) -> dict[str, str]:
    """Tariffs and services of this test's own: `main` (with settings) and `lite`;
    `base`, `addon` (requires base), `rival` (excludes base), `main_only` (on main only)."""
    main = await define_tariff(system, a_tariff(unique("t_main")))
    lite = await define_tariff(system, a_tariff(unique("t_lite"), name="Лайт", settings=[]))
    base = await define_service(system, a_service(unique("s_base"), name="Интернет"))
    addon = await define_service(
        system, a_service(unique("s_addon"), name="Турбо", requires=[base.id])
    )
    rival = await define_service(
        system, a_service(unique("s_rival"), name="Детский", excludes=[base.id])
    )
    main_only = await define_service(
        system, a_service(unique("s_main_only"), name="Роуминг", tariffs=[main.id])
    )
    return {
        "main": main.id,
        "lite": lite.id,
        "base": base.id,
        "addon": addon.id,
        "rival": rival.id,
        "main_only": main_only.id,
    }


@pytest.fixture
async def msisdn(system, company, shop) -> str:
    (number,) = await give_numbers(system, company.id, [""], shop["main"])
    return number


def url(msisdn: str, tail: str = "") -> str:
    return f"/api/v1/numbers/{msisdn}{tail}"


def refused(response, status: int, code: str, reason: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    if reason:
        assert body.get("reason") == reason, body
    return body


async def card(api, headers, msisdn: str) -> dict:
    """Catalog's part of the card (billing's account and limits join it once billing has
    heard of the number: they are not what these tests look at)."""
    response = await api.get(url(msisdn), headers=headers)
    assert response.status_code == 200, response.text
    return {k: v for k, v in response.json().items() if k not in ("account", "limits")}


async def events_of(system, event_type: str, msisdn: str) -> list[dict]:
    return [e.data for e in await catalog_events(system, event_type, {msisdn})]


# ---------------------------------------------------------------- tariff


async def test_tariff_and_its_settings_change_and_are_told(system, api, admin, shop, msisdn):
    changed = await api.put(
        url(msisdn, "/tariff"),
        headers=admin,
        json={"tariff_id": shop["main"], "settings": {"minutes": 300, "roaming": False}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["tariff"]["settings"] == {
        "minutes": "300",
        "internet": "30gb",
        "roaming": "false",
    }

    patched = await api.patch(
        url(msisdn, "/tariff/settings"), headers=admin, json={"settings": {"internet": "unlimited"}}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["tariff"]["settings"] == {
        "minutes": "300",
        "internet": "unlimited",
        "roaming": "false",
    }

    lite = await api.put(url(msisdn, "/tariff"), headers=admin, json={"tariff_id": shop["lite"]})
    assert lite.status_code == 200, lite.text
    assert lite.json()["tariff"] == {"id": shop["lite"], "name": "Лайт", "settings": {}}
    [told] = [
        e
        for e in await events_of(system, "vm.catalog.number.tariff_changed.v1", msisdn)
        if e["tariff_id"] == shop["lite"]
    ]
    assert told["previous_tariff_id"] == shop["main"]
    assert await events_of(system, "vm.catalog.number.tariff_settings_changed.v1", msisdn)


async def test_bad_tariffs_and_settings_are_refused_and_change_nothing(api, admin, shop, msisdn):
    before = await card(api, admin, msisdn)
    unknown = await api.put(url(msisdn, "/tariff"), headers=admin, json={"tariff_id": "no_such"})
    # a tariff that does not exist: 404 naming the field (it was 422, a malformed request)
    body = refused(unknown, 404, "not_found")
    assert [e["field"] for e in body["errors"]] == ["tariff_id"]
    bad = await api.put(
        url(msisdn, "/tariff"),
        headers=admin,
        json={"tariff_id": shop["main"], "settings": {"minutes": 99999, "colour": "red"}},
    )
    assert {e["field"] for e in refused(bad, 422, "validation_failed")["errors"]} >= {
        "minutes",
        "colour",
    }
    empty = await api.patch(url(msisdn, "/tariff/settings"), headers=admin, json={"settings": {}})
    refused(empty, 422, "validation_failed")
    assert await card(api, admin, msisdn) == before


# ---------------------------------------------------------------- services


async def test_services_follow_the_catalogues_compatibility(system, api, admin, shop, msisdn):
    async def connect(service_id: str):
        return await api.post(
            url(msisdn, "/services"), headers=admin, json={"service_id": service_id}
        )

    needs_base = refused(await connect(shop["addon"]), 409, "not_allowed", "service_requires")
    assert "Интернет" in needs_base["detail"]
    assert (await connect(shop["base"])).status_code == 200
    added = await connect(shop["addon"])
    assert added.status_code == 200, added.text
    assert [s["id"] for s in added.json()["services"]] == [shop["base"], shop["addon"]]

    refused(await connect(shop["rival"]), 409, "not_allowed", "service_excluded")
    refused(await connect(shop["base"]), 409, "not_allowed", "already_connected")
    # a service that does not exist: 404 naming the field (it was 422)
    unknown = refused(await connect("no_such_service"), 404, "not_found")
    assert [e["field"] for e in unknown["errors"]] == ["service_id"]
    needed = await api.delete(url(msisdn, f"/services/{shop['base']}"), headers=admin)
    refused(needed, 409, "not_allowed", "required_by")

    assert (await connect(shop["main_only"])).status_code == 200
    to_lite = await api.put(url(msisdn, "/tariff"), headers=admin, json={"tariff_id": shop["lite"]})
    refused(to_lite, 409, "not_allowed", "services_not_on_tariff")

    removed = await api.delete(url(msisdn, f"/services/{shop['addon']}"), headers=admin)
    assert removed.status_code == 200, removed.text
    assert shop["addon"] not in [s["id"] for s in removed.json()["services"]]
    not_there = await api.delete(url(msisdn, f"/services/{shop['addon']}"), headers=admin)
    refused(not_there, 409, "not_allowed", "not_connected")

    connected = await events_of(system, "vm.catalog.number.service_connected.v1", msisdn)
    assert sorted(e["service_id"] for e in connected) == sorted(
        [shop["base"], shop["addon"], shop["main_only"]]
    )
    disconnected = await events_of(system, "vm.catalog.number.service_disconnected.v1", msisdn)
    assert [e["service_id"] for e in disconnected] == [shop["addon"]]


# ---------------------------------------------------------------- blocks


async def test_customer_blocks_set_and_lift_and_system_blocks_are_refused(
    system, api, admin, msisdn
):
    voluntary = await api.post(url(msisdn, "/blocks"), headers=admin, json={"type": "voluntary"})
    assert voluntary.status_code == 200, voluntary.text
    assert voluntary.json()["status"] == "blocked"
    stolen = await api.post(url(msisdn, "/blocks"), headers=admin, json={"type": "lost_stolen"})
    assert [b["type"] for b in stolen.json()["blocks"]] == ["voluntary", "lost_stolen"]

    for system_block in ("financial", "limit", "administrative"):
        body = refused(
            await api.post(url(msisdn, "/blocks"), headers=admin, json={"type": system_block}),
            409,
            "not_allowed",
            "system_block",
        )
        assert system_block in body["detail"]
        lift = await api.delete(url(msisdn, f"/blocks/{system_block}"), headers=admin)
        refused(lift, 409, "not_allowed", "system_block")
    unknown = await api.post(url(msisdn, "/blocks"), headers=admin, json={"type": "holiday"})
    refused(unknown, 422, "validation_failed")
    twice = await api.post(url(msisdn, "/blocks"), headers=admin, json={"type": "voluntary"})
    refused(twice, 409, "not_allowed", "already_blocked")

    one_left = await api.delete(url(msisdn, "/blocks/voluntary"), headers=admin)
    assert one_left.json()["status"] == "blocked"
    none_left = await api.delete(url(msisdn, "/blocks/lost_stolen"), headers=admin)
    assert none_left.json()["status"] == "active" and none_left.json()["blocks"] == []
    refused(
        await api.delete(url(msisdn, "/blocks/lost_stolen"), headers=admin),
        409,
        "not_allowed",
        "not_blocked",
    )

    blocked = await events_of(system, "vm.catalog.number.blocked.v1", msisdn)
    assert [e["block_type"] for e in blocked] == ["voluntary", "lost_stolen"]
    unblocked = await events_of(system, "vm.catalog.number.unblocked.v1", msisdn)
    assert [(e["block_type"], e["status"]) for e in unblocked] == [
        ("voluntary", "blocked"),
        ("lost_stolen", "active"),
    ]


# ---------------------------------------------------------------- forwarding


async def test_forwarding_per_condition_to_any_valid_number(system, api, admin, msisdn):
    busy = await api.put(
        url(msisdn, "/forwarding/busy"), headers=admin, json={"target": "+7 (495) 123-45-67"}
    )
    assert busy.status_code == 200, busy.text
    abroad = await api.put(
        url(msisdn, "/forwarding/unreachable"), headers=admin, json={"target": "+44 20 7946 0958"}
    )
    assert {(f["condition"], f["target"]) for f in abroad.json()["forwarding"]} == {
        ("busy", "74951234567"),
        ("unreachable", "442079460958"),
    }

    for condition, target in (
        ("busy", "12-34"),
        ("busy", spaced(msisdn)),  # the number itself
        ("sometimes", "+7 495 123-45-67"),
    ):
        response = await api.put(
            url(msisdn, f"/forwarding/{condition}"), headers=admin, json={"target": target}
        )
        refused(response, 422, "validation_failed")

    removed = await api.delete(url(msisdn, "/forwarding/busy"), headers=admin)
    assert [f["condition"] for f in removed.json()["forwarding"]] == ["unreachable"]
    again = await api.delete(url(msisdn, "/forwarding/busy"), headers=admin)
    refused(again, 409, "not_allowed", "forwarding_not_set")

    told = await events_of(system, "vm.catalog.number.forwarding_changed.v1", msisdn)
    assert [(e["condition"], e.get("target", "")) for e in told] == [
        ("busy", "74951234567"),
        ("unreachable", "442079460958"),
        ("busy", ""),
    ]


# ---------------------------------------------------------------- SIM and number


async def test_sim_replacement_checks_luhn_and_uniqueness(system, api, admin, company, msisdn):
    before = await card(api, admin, msisdn)
    new_iccid = fresh_iccid()
    replaced = await api.post(
        url(msisdn, "/sim-replacement"), headers=admin, json={"iccid": new_iccid}
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["iccid"] == new_iccid

    broken = new_iccid[:-1] + str((int(new_iccid[-1]) + 1) % 10)
    for bad in (broken, "12345"):
        response = await api.post(
            url(msisdn, "/sim-replacement"), headers=admin, json={"iccid": bad}
        )
        assert [e["field"] for e in refused(response, 422, "validation_failed")["errors"]] == [
            "iccid"
        ]
    (other,) = await give_numbers(system, company.id, [""])
    taken = (await card(api, admin, other))["iccid"]
    response = await api.post(url(msisdn, "/sim-replacement"), headers=admin, json={"iccid": taken})
    refused(response, 409, "conflict")

    [told] = await events_of(system, "vm.catalog.number.sim_replaced.v1", msisdn)
    assert (told["iccid"], told["previous_iccid"]) == (new_iccid, before["iccid"])


async def add_free(system) -> str:
    free = fresh_msisdn()
    await number_admin(
        system,
        "AddFreeNumbers",
        pb.AddFreeNumbersRequest(numbers=[pb.FreeNumber(msisdn=free, iccid=fresh_iccid())]),
    )
    return free


async def test_number_replacement_moves_the_card_and_retires_the_old_number(
    system, api, admin, shop, msisdn
):
    await api.post(url(msisdn, "/services"), headers=admin, json={"service_id": shop["base"]})
    await api.post(url(msisdn, "/blocks"), headers=admin, json={"type": "lost_stolen"})
    await api.put(url(msisdn, "/forwarding/busy"), headers=admin, json={"target": "84951234567"})
    await api.patch(url(msisdn), headers=admin, json={"label": "Водитель"})
    before = await card(api, admin, msisdn)
    free = await add_free(system)

    replaced = await api.post(
        url(msisdn, "/number-replacement"), headers=admin, json={"new_msisdn": spaced(free)}
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["msisdn"] == free and replaced.json()["previous_msisdn"] == msisdn
    after = await card(api, admin, free)
    for kept in ("iccid", "node_id", "tariff", "services", "blocks", "forwarding", "label"):
        assert after[kept] == before[kept], kept
    refused(await api.get(url(msisdn), headers=admin), 404, "not_found")

    [told] = await events_of(system, "vm.catalog.number.msisdn_replaced.v1", free)
    assert (told["previous_msisdn"], told["iccid"]) == (msisdn, before["iccid"])

    itself = await api.post(
        url(free, "/number-replacement"), headers=admin, json={"new_msisdn": free}
    )
    # well formed but against a rule across the path and the body: 409 (was 422)
    refused(itself, 409, "not_allowed", "same_number")
    # the old number left the company and did not go back to the pool
    not_free = await api.post(
        url(free, "/number-replacement"), headers=admin, json={"new_msisdn": msisdn}
    )
    refused(not_free, 409, "conflict", "number_not_free")
    malformed = await api.post(
        url(free, "/number-replacement"), headers=admin, json={"new_msisdn": "12345"}
    )
    refused(malformed, 422, "validation_failed")

    await add_free(system)
    any_free = await api.post(url(free, "/number-replacement"), headers=admin, json={})
    assert any_free.status_code == 200, any_free.text
    assert any_free.json()["msisdn"] not in (free, msisdn)


# ---------------------------------------------------------------- the network refuses


async def test_a_change_the_network_refuses_leaves_the_number_as_it_was(
    system, api, admin, company, shop
):
    failing = PROVISIONING_FAILS[0]
    await give_number(system, company.id, failing, shop["main"])
    before = await card(api, admin, failing)
    free = await add_free(system)
    attempts = [
        ("PUT", "/tariff", {"tariff_id": shop["lite"]}),
        ("PATCH", "/tariff/settings", {"settings": {"minutes": 10}}),
        ("POST", "/services", {"service_id": shop["base"]}),
        ("POST", "/blocks", {"type": "voluntary"}),
        ("PUT", "/forwarding/busy", {"target": "+7 495 123-45-67"}),
        ("POST", "/sim-replacement", {"iccid": fresh_iccid()}),
        ("POST", "/number-replacement", {"new_msisdn": free}),
    ]
    for method, tail, body in attempts:
        response = await api.request(method, url(failing, tail), headers=admin, json=body)
        refused(response, 503, "unavailable", "provisioning_failed")

    assert await card(api, admin, failing) == before
    for verb in ("tariff_changed", "tariff_settings_changed", "service_connected", "blocked"):
        assert await events_of(system, f"vm.catalog.number.{verb}.v1", failing) == []
    for verb in ("forwarding_changed", "sim_replaced", "msisdn_replaced"):
        assert await events_of(system, f"vm.catalog.number.{verb}.v1", failing) == []
    # the free number the replacement took went back to the pool with the rolled-back unit
    (other,) = await give_numbers(system, company.id, [""], shop["main"])
    taken = await api.post(
        url(other, "/number-replacement"), headers=admin, json={"new_msisdn": free}
    )
    assert taken.status_code == 200, taken.text


# ---------------------------------------------------------------- who may


async def test_other_companies_and_other_subtrees_do_not_see_the_number(
    system, api, admin, company, other_company, shop
):
    root = await root_node(api, admin)
    here = (await add_node(api, admin, root, "Регион А", "region"))["id"]
    there = (await add_node(api, admin, root, "Регион Б", "region"))["id"]
    (msisdn,) = await give_numbers(system, company.id, [here], shop["main"])
    role = await api.post(
        "/api/v1/roles",
        headers=admin,
        json={"name": "Тарифы региона", "permissions": ["numbers.view", "numbers.tariff"]},
    )
    elsewhere = await create_user(api, admin)
    await assignable(
        api, admin, elsewhere["id"], [{"role_id": role.json()["id"], "node_id": there}]
    )
    viewer = await create_user(api, admin, roles=["viewer"])
    stranger = bearer(await register(api, other_company))
    change = {"tariff_id": shop["lite"]}

    scoped = await api.put(
        url(msisdn, "/tariff"), headers=await login_as(api, elsewhere["login"]), json=change
    )
    refused(scoped, 404, "not_found")
    denied = await api.put(
        url(msisdn, "/tariff"), headers=await login_as(api, viewer["login"]), json=change
    )
    refused(denied, 403, "permission_denied")
    for method, tail, body in (
        ("PUT", "/tariff", change),
        ("POST", "/services", {"service_id": shop["base"]}),
        ("POST", "/blocks", {"type": "voluntary"}),
        ("DELETE", "/forwarding/busy", None),
        ("POST", "/sim-replacement", {"iccid": fresh_iccid()}),
        ("POST", "/number-replacement", {}),
    ):
        response = await api.request(method, url(msisdn, tail), headers=stranger, json=body)
        refused(response, 404, "not_found")
        assert msisdn not in response.text
    assert (await card(api, admin, msisdn))["tariff"]["id"] == shop["main"]
