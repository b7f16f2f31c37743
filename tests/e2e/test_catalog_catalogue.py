"""The operator's tariff and service catalogue: the operator defines it over gRPC, every
company reads it through REST.

The catalogue is shared by the whole running system (every test and the demo see it), so
each test defines items with ids of its own and looks only at those."""

from __future__ import annotations

import secrets

import grpc
import pytest
from pymongo import AsyncMongoClient

from services.kit.errors import RemoteError, read_remote_error
from tests.e2e.conftest import operator_metadata
from tests.e2e.test_identity_flows import bearer, register
from tests.e2e.test_identity_users_roles import create_user, login_as
from tests.support.kit import outbox_events
from tests.support.system import RunningSystem
from vm.catalog.v1 import tariffs_pb2 as pb
from vm.catalog.v1 import tariffs_pb2_grpc as pb_grpc
from vm.common.v1 import common_pb2

pytestmark = pytest.mark.e2e


def rub(kopecks: int) -> common_pb2.Money:
    return common_pb2.Money(amount=kopecks, currency="RUB")


def unique(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


SETTINGS = [
    pb.SettingDefinition(
        key="minutes",
        title="Пакет минут",
        type=pb.SETTING_TYPE_INT,
        min=0,
        max=3000,
        default_value="500",
    ),
    pb.SettingDefinition(
        key="internet",
        title="Пакет интернета",
        type=pb.SETTING_TYPE_CHOICE,
        choices=["10gb", "30gb", "unlimited"],
        default_value="30gb",
    ),
    pb.SettingDefinition(
        key="roaming", title="Роуминг", type=pb.SETTING_TYPE_BOOL, default_value="true"
    ),
]


def a_tariff(tariff_id: str, **changes) -> pb.Tariff:
    fields = {
        "name": "Бизнес Тест",
        "description": "Тариф для проверки",
        "monthly_fee": rub(45000),
        "settings": SETTINGS,
        "available": True,
    }
    return pb.Tariff(id=tariff_id, **{**fields, **changes})


def a_service(service_id: str, **changes) -> pb.Service:
    fields = {
        "name": "Услуга для проверки",
        "monthly_price": rub(9900),
        "category": "other",
        "available": True,
    }
    return pb.Service(id=service_id, **{**fields, **changes})


async def define_tariff(system: RunningSystem, tariff: pb.Tariff) -> pb.Tariff:
    async with grpc.aio.insecure_channel(system.settings.catalog_addr) as channel:
        response = await pb_grpc.TariffAdminServiceStub(channel).DefineTariff(
            pb.DefineTariffRequest(tariff=tariff), metadata=operator_metadata(system), timeout=10
        )
    return response.tariff


async def define_service(system: RunningSystem, service: pb.Service) -> pb.Service:
    async with grpc.aio.insecure_channel(system.settings.catalog_addr) as channel:
        response = await pb_grpc.TariffAdminServiceStub(channel).DefineService(
            pb.DefineServiceRequest(service=service), metadata=operator_metadata(system), timeout=10
        )
    return response.service


async def refused_definition(system: RunningSystem, item: pb.Tariff | pb.Service) -> RemoteError:
    """The operator's definition refused: the remote error (code, reason, fields)."""
    define = define_tariff if isinstance(item, pb.Tariff) else define_service
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await define(system, item)
    return read_remote_error(error.value)


_SHARED: dict[str, dict[str, str]] = {}


async def shared_catalogue(system: RunningSystem) -> dict[str, str]:
    """A tariff and a service every test may read (the authorization matrix's samples),
    defined once per running system; defining again would replace them unchanged."""
    key = system.settings.catalog_addr
    if key not in _SHARED:
        tariff = await define_tariff(system, a_tariff("tariff_shared_sample"))
        service = await define_service(system, a_service("shared_sample_service"))
        _SHARED[key] = {"tariff_id": tariff.id, "service_id": service.id}
    return _SHARED[key]


async def defined_events(system: RunningSystem, event_type: str, item_id: str) -> list[dict]:
    client = AsyncMongoClient(system.settings.mongo_url, tz_aware=True)
    try:
        catalog = client[system.settings.database_name("catalog")]
        events = await outbox_events(catalog, {"type": event_type})
    finally:
        await client.close()
    return [e.data for e in events if e.subject == item_id]


# ---------------------------------------------------------------- reading


async def test_the_operator_defines_and_a_company_user_reads_tariffs(system, api, company):
    tariff_id = unique("tariff_read")
    defined = await define_tariff(system, a_tariff(tariff_id, name="  Бизнес   Тест "))
    assert defined.name == "Бизнес Тест"  # tidied, as stored
    admin = bearer(await register(api, company))
    viewer = await create_user(api, admin, roles=["viewer"])
    headers = await login_as(api, viewer["login"])

    listed = await api.get("/api/v1/tariffs", headers=headers)
    one = await api.get(f"/api/v1/tariffs/{tariff_id}", headers=headers)

    assert listed.status_code == 200, listed.text
    [item] = [t for t in listed.json()["items"] if t["id"] == tariff_id]
    assert one.status_code == 200, one.text
    assert one.json() == item
    assert item["name"] == "Бизнес Тест" and item["available"] is True
    assert item["monthly_fee"] == {"amount": 45000, "currency": "RUB"}
    assert item["settings"] == [
        {
            "key": "minutes",
            "title": "Пакет минут",
            "type": "int",
            "default": 500,
            "min": 0,
            "max": 3000,
            "choices": None,
        },
        {
            "key": "internet",
            "title": "Пакет интернета",
            "type": "choice",
            "default": "30gb",
            "min": None,
            "max": None,
            "choices": ["10gb", "30gb", "unlimited"],
        },
        {
            "key": "roaming",
            "title": "Роуминг",
            "type": "bool",
            "default": True,
            "min": None,
            "max": None,
            "choices": None,
        },
    ]
    fees = [t["monthly_fee"]["amount"] for t in listed.json()["items"]]
    assert fees == sorted(fees)  # cheapest first


async def test_services_with_prices_and_rules_and_the_filter_by_tariff(system, api, company):
    on_tariff, elsewhere = unique("tariff_on"), unique("tariff_off")
    await define_tariff(system, a_tariff(on_tariff))
    await define_tariff(system, a_tariff(elsewhere, monthly_fee=rub(10000)))
    base, extra, everywhere, retired = (unique(n) for n in ("base", "extra", "all", "old"))
    await define_service(system, a_service(base, name="Международный роуминг", category="roaming"))
    await define_service(
        system,
        a_service(
            extra,
            name="Безлимит в роуминге",
            monthly_price=rub(150000),
            requires=[base],
            tariffs=[on_tariff],
            category="roaming",
        ),
    )
    await define_service(system, a_service(everywhere, name="Антиспам", category="security"))
    await define_service(system, a_service(retired, available=False))
    headers = bearer(await register(api, company))

    read = await api.get(f"/api/v1/services/{extra}", headers=headers)
    on = await api.get("/api/v1/services", params={"tariff_id": on_tariff}, headers=headers)
    off = await api.get("/api/v1/services", params={"tariff_id": elsewhere}, headers=headers)
    every = await api.get("/api/v1/services", headers=headers)

    assert read.status_code == 200, read.text
    assert read.json() == {
        "id": extra,
        "name": "Безлимит в роуминге",
        "description": "",
        "monthly_price": {"amount": 150000, "currency": "RUB"},
        "requires": [base],
        "excludes": [],
        "tariffs": [on_tariff],
        "category": "roaming",
        "available": True,
    }
    ids = {name: {s["id"] for s in r.json()["items"]} for name, r in [("on", on), ("off", off)]}
    assert {base, extra, everywhere} <= ids["on"]
    assert {base, everywhere} <= ids["off"] and extra not in ids["off"]
    assert retired not in ids["on"] | ids["off"]  # not offered: never connectable
    all_ids = {s["id"] for s in every.json()["items"]}
    assert {base, extra, everywhere, retired} <= all_ids  # unfiltered: the whole catalogue


async def test_unknown_items_and_an_unknown_filter_are_404(system, api, company):
    headers = bearer(await register(api, company))
    for path in ("/api/v1/tariffs/tariff_nowhere", "/api/v1/services/no_such_service"):
        response = await api.get(path, headers=headers)
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"
    unknown = await api.get(
        "/api/v1/services", params={"tariff_id": "tariff_nowhere"}, headers=headers
    )
    # A well-formed id of nothing is not found (naming the field); only a malformed id is 422.
    assert unknown.status_code == 404, unknown.text
    assert [e["field"] for e in unknown.json()["errors"]] == ["tariff_id"]
    malformed = await api.get("/api/v1/services", params={"tariff_id": "Не id"}, headers=headers)
    assert malformed.status_code == 422


async def test_the_catalogue_needs_a_user(system, api):
    assert (await api.get("/api/v1/tariffs")).status_code == 401
    async with grpc.aio.insecure_channel(system.settings.catalog_addr) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await pb_grpc.TariffCatalogServiceStub(channel).ListTariffs(pb.ListTariffsRequest())
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED


# ---------------------------------------------------------------- defining


async def test_a_definition_replaces_the_item_by_id_and_is_announced(system, api, company):
    tariff_id, service_id = unique("tariff_again"), unique("again")
    await define_tariff(system, a_tariff(tariff_id))
    await define_tariff(system, a_tariff(tariff_id, name="Бизнес Тест 2", monthly_fee=rub(55000)))
    await define_service(system, a_service(service_id))
    await define_service(system, a_service(service_id, available=False))
    headers = bearer(await register(api, company))

    tariffs = (await api.get("/api/v1/tariffs", headers=headers)).json()["items"]
    service = (await api.get(f"/api/v1/services/{service_id}", headers=headers)).json()

    [tariff] = [t for t in tariffs if t["id"] == tariff_id]
    assert tariff["name"] == "Бизнес Тест 2"
    assert tariff["monthly_fee"]["amount"] == 55000
    assert service["available"] is False
    assert await defined_events(system, "vm.catalog.tariff.defined.v1", tariff_id) == [
        {"item_id": tariff_id, "name": "Бизнес Тест", "monthly_kopecks": "45000"},
        {"item_id": tariff_id, "name": "Бизнес Тест 2", "monthly_kopecks": "55000"},
    ]
    assert len(await defined_events(system, "vm.catalog.service.defined.v1", service_id)) == 2


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"id": "Bad Id"}, {"id"}),
        ({"name": "", "monthly_fee": rub(-1)}, {"name", "monthly_fee"}),
        ({"monthly_fee": common_pb2.Money(amount=100, currency="USD")}, {"monthly_fee.currency"}),
        (
            {
                "settings": [
                    pb.SettingDefinition(
                        key="minutes",
                        title="Минуты",
                        type=pb.SETTING_TYPE_INT,
                        min=0,
                        max=100,
                        default_value="500",
                    ),
                    pb.SettingDefinition(
                        key="internet",
                        title="Интернет",
                        type=pb.SETTING_TYPE_CHOICE,
                        choices=["5gb"],
                        default_value="10gb",
                    ),
                    pb.SettingDefinition(key="roaming", title="Роуминг"),
                ]
            },
            {"settings[0].default_value", "settings[1].default_value", "settings[2].type"},
        ),
    ],
)
async def test_a_bad_tariff_is_refused_field_by_field_and_nothing_changes(
    system, api, company, changes, fields
):
    tariff_id = unique("tariff_bad")
    changes = dict(changes)  # the parameters stay as they are for the next case
    remote = await refused_definition(system, a_tariff(changes.pop("id", tariff_id), **changes))

    assert remote.code == grpc.StatusCode.INVALID_ARGUMENT
    assert remote.reason == "VALIDATION_FAILED"
    assert set(remote.fields) == fields, remote.fields
    headers = bearer(await register(api, company))
    assert (await api.get(f"/api/v1/tariffs/{tariff_id}", headers=headers)).status_code == 404


async def test_a_service_names_only_existing_items_and_is_never_contradictory(system, api, company):
    tariff_id, base, other = unique("tariff_rules"), unique("base"), unique("other")
    await define_tariff(system, a_tariff(tariff_id))
    await define_service(system, a_service(base))
    await define_service(system, a_service(other, excludes=[base]))
    fresh = unique("fresh")

    unknown = await refused_definition(
        system,
        a_service(fresh, requires=["ghost_service"], tariffs=[tariff_id, "tariff_ghost"]),
    )
    itself = await refused_definition(system, a_service(fresh, requires=[fresh]))
    both = await refused_definition(system, a_service(fresh, requires=[base], excludes=[base]))
    never = await refused_definition(system, a_service(fresh, requires=[base, other]))
    broken = await refused_definition(system, a_service(base, requires=[other]))
    needing = unique("needing")
    await define_service(system, a_service(needing, requires=[base]))
    circle = await refused_definition(system, a_service(base, requires=[needing]))

    assert unknown.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(unknown.fields) == {"requires", "tariffs"}
    assert "ghost_service" in unknown.fields["requires"]
    assert "tariff_ghost" in unknown.fields["tariffs"]
    assert set(itself.fields) == {"requires"}
    assert set(both.fields) == {"excludes"}
    assert set(never.fields) == {"excludes"}  # would need two that exclude each other
    assert set(broken.fields) == {"excludes"}  # base needing other, which excludes base
    assert set(circle.fields) == {"requires"}  # base needing what needs base
    headers = bearer(await register(api, company))
    assert (await api.get(f"/api/v1/services/{fresh}", headers=headers)).status_code == 404
    kept = (await api.get(f"/api/v1/services/{base}", headers=headers)).json()
    assert kept["requires"] == []  # the refused redefinition changed nothing


async def test_only_the_operator_defines_the_catalogue(system, api, company):
    tokens = await register(api, company)
    user = (("authorization", f"Bearer {tokens['access_token']}"),)
    async with grpc.aio.insecure_channel(system.settings.catalog_addr) as channel:
        admin = pb_grpc.TariffAdminServiceStub(channel)
        for metadata in (user, ()):
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await admin.DefineTariff(
                    pb.DefineTariffRequest(tariff=a_tariff(unique("tariff_user"))),
                    metadata=metadata,
                )
            assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await admin.DefineService(
                pb.DefineServiceRequest(service=a_service(unique("by_user"))), metadata=user
            )
        assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED
        # and the operator is no company user: the company-facing side is not for it
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await pb_grpc.TariffCatalogServiceStub(channel).ListTariffs(
                pb.ListTariffsRequest(), metadata=operator_metadata(system)
            )
        assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED
