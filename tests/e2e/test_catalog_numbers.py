"""The company's numbers through REST: the operator gives them out over gRPC, the company
lists, filters, pages, reads the card, writes its notes, moves numbers and exports the list;
numbers follow their nodes through the hierarchy; scopes and companies stay apart."""

from __future__ import annotations

import csv
import io
import secrets
from urllib.parse import quote

import grpc
import httpx
import pytest
from openpyxl import load_workbook
from pymongo import AsyncMongoClient

from services.catalog.domain.numbers import luhn_check_digit
from services.kit.errors import read_remote_error
from tests.e2e.conftest import operator_metadata
from tests.e2e.test_catalog_catalogue import shared_catalogue
from tests.e2e.test_catalog_hierarchy import assignable, hierarchy, three_levels
from tests.e2e.test_identity_flows import bearer, register
from tests.e2e.test_identity_users_roles import create_user, login_as
from tests.support.kit import outbox_events
from tests.support.system import RunningSystem, events_consumed
from vm.catalog.v1 import numbers_pb2 as pb
from vm.catalog.v1 import numbers_pb2_grpc as pb_grpc

pytestmark = pytest.mark.e2e

HEADER = ["Номер", "ICCID", "Статус", "Тариф", "Узел", "Метка", "Комментарий", "Центр затрат"]


# The numbers this test run has drawn. The e2e tests share one system, and its few thousand
# random draws from 10⁹ meet each other in about one run of a few hundred: the likeliest
# cause of a fresh number refused once in CI as "given to a company already".
_DRAWN: set[str] = set()


def fresh_msisdn() -> str:
    """A number no earlier draw of this test run has made."""
    while True:
        msisdn = f"79{secrets.randbelow(10**9):09d}"
        if msisdn not in _DRAWN:
            _DRAWN.add(msisdn)
            return msisdn


def fresh_iccid() -> str:
    body = f"8970199{secrets.randbelow(10**12):012d}"
    return body + luhn_check_digit(body)


def spaced(msisdn: str) -> str:
    """+7 (916) 123-45-67"""
    return f"+7 ({msisdn[1:4]}) {msisdn[4:7]}-{msisdn[7:9]}-{msisdn[9:]}"


async def number_admin(system: RunningSystem, call: str, request, metadata=None):
    async with grpc.aio.insecure_channel(system.settings.catalog_addr) as channel:
        method = getattr(pb_grpc.NumberAdminServiceStub(channel), call)
        return await method(request, metadata=metadata or operator_metadata(system), timeout=60)


async def give_numbers(
    system: RunningSystem, company_id: str, node_ids: list[str], tariff_id: str | None = None
) -> list[str]:
    """Fresh numbers given to the company by the operator, one per node id ("" = the root)."""
    tariff_id = tariff_id or (await shared_catalogue(system))["tariff_id"]
    numbers = [
        pb.NewNumber(msisdn=fresh_msisdn(), iccid=fresh_iccid(), tariff_id=tariff_id, node_id=n)
        for n in node_ids
    ]
    added = await number_admin(
        system, "AddNumbers", pb.AddNumbersRequest(company_id=company_id, numbers=numbers)
    )
    assert added.added == len(numbers)
    return [n.msisdn for n in numbers]


async def give_number(system: RunningSystem, company_id: str, msisdn: str, tariff_id: str) -> None:
    """This very number (e.g. one the provisioning simulator refuses) to the company."""
    number = pb.NewNumber(msisdn=msisdn, iccid=fresh_iccid(), tariff_id=tariff_id)
    request = pb.AddNumbersRequest(company_id=company_id, numbers=[number])
    assert (await number_admin(system, "AddNumbers", request)).added == 1


async def refused(system: RunningSystem, call: str, request, metadata=None):
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await number_admin(system, call, request, metadata)
    return read_remote_error(error.value)


async def listed(api: httpx.AsyncClient, headers, **params) -> list[dict]:
    """Every page of the list, following the tokens."""
    items: list[dict] = []
    token = ""
    while True:
        response = await api.get(
            "/api/v1/numbers", headers=headers, params={**params, "page_token": token}
        )
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        token = response.json()["next_page_token"]
        if not token:
            return items


async def msisdns_listed(api, headers, **params) -> set[str]:
    return {item["msisdn"] for item in await listed(api, headers, **params)}


async def counts(api, headers) -> dict[str, int]:
    return {node_id: n["number_count"] for node_id, n in (await hierarchy(api, headers)).items()}


async def catalog_events(system: RunningSystem, event_type: str, subjects: set[str]) -> list:
    client = AsyncMongoClient(system.settings.mongo_url, tz_aware=True)
    try:
        catalog = client[system.settings.database_name("catalog")]
        events = await outbox_events(catalog, {"type": event_type})
    finally:
        await client.close()
    return [e for e in events if e.subject in subjects]


@pytest.fixture
async def admin(api, company) -> dict[str, str]:
    return bearer(await register(api, company))


@pytest.fixture
async def tree(api, admin) -> dict[str, dict]:
    return await three_levels(api, admin)


@pytest.fixture
async def placed(system, company, tree) -> dict[str, list[str]]:
    """Two numbers at the root, three in sales (region → city → sales), two in the other
    region."""
    at = {"root": "", "sales": tree["sales"]["id"], "other": tree["other"]["id"]}
    given = {}
    for name, count in (("root", 2), ("sales", 3), ("other", 2)):
        given[name] = await give_numbers(system, company.id, [at[name]] * count)
    return given


def everything(placed: dict[str, list[str]]) -> set[str]:
    return {m for numbers in placed.values() for m in numbers}


# ---------------------------------------------------------------- the list


async def test_the_operator_gives_numbers_and_the_company_lists_them(
    system, api, admin, tree, placed
):
    catalogue = await shared_catalogue(system)
    items = await listed(api, admin, page_size=3)
    assert [i["msisdn"] for i in items] == sorted(everything(placed))
    card = next(i for i in items if i["msisdn"] == placed["sales"][0])
    assert card["status"] == "active"
    assert card["node_id"] == tree["sales"]["id"]
    assert card["tariff"]["id"] == catalogue["tariff_id"]
    assert card["tariff"]["name"] == "Бизнес Тест"  # the catalogue's name, stored
    assert card["tariff"]["settings"] == {"minutes": "500", "internet": "30gb", "roaming": "true"}
    assert card["services"] == card["blocks"] == card["forwarding"] == []
    assert card["account_id"] is None
    root_number = next(i for i in items if i["msisdn"] == placed["root"][0])
    assert root_number["node_id"] == tree["root"]["id"]  # no node given: the root

    number_counts = await counts(api, admin)
    assert number_counts[tree["root"]["id"]] == 7
    assert number_counts[tree["region"]["id"]] == number_counts[tree["sales"]["id"]] == 3
    assert number_counts[tree["other"]["id"]] == 2

    added = await catalog_events(system, "vm.catalog.number.added.v1", everything(placed))
    assert {e.subject for e in added} == everything(placed)
    assert added[0].data["tariff_id"] == catalogue["tariff_id"]


async def test_filters_by_subtree_status_tariff_service_and_text(system, api, admin, tree, placed):
    catalogue = await shared_catalogue(system)
    assert await msisdns_listed(api, admin, node_id=tree["region"]["id"]) == set(placed["sales"])
    assert await msisdns_listed(api, admin, node_id=tree["root"]["id"]) == everything(placed)
    assert await msisdns_listed(api, admin, node_id="nod_unknown") == set()
    assert await msisdns_listed(api, admin, status="active") == everything(placed)
    assert await msisdns_listed(api, admin, status="blocked") == set()
    assert await msisdns_listed(api, admin, tariff_id=catalogue["tariff_id"]) == everything(placed)
    assert await msisdns_listed(api, admin, service_id=catalogue["service_id"]) == set()
    one = placed["other"][0]
    assert await msisdns_listed(api, admin, q=spaced(one)) == {one}
    assert await msisdns_listed(api, admin, q=one[1:8]) == {one}  # "916…" starts "7916…"
    # a filter naming a tariff the catalogue lacks matches nothing, as an unknown node
    # does (it was 422, which a REST client reads as a malformed request)
    unknown = await api.get(
        "/api/v1/numbers", headers=admin, params={"tariff_id": "no_such_tariff"}
    )
    assert unknown.status_code == 200, unknown.text
    assert unknown.json()["items"] == []
    bad_status = await api.get("/api/v1/numbers", headers=admin, params={"status": "lost"})
    assert bad_status.status_code == 422


async def test_pages_stay_right_while_numbers_are_added(system, api, admin, company, placed):
    first = await api.get("/api/v1/numbers", headers=admin, params={"page_size": 4})
    page = first.json()
    seen = [i["msisdn"] for i in page["items"]]
    late = await give_numbers(system, company.id, [""] * 5)
    token = page["next_page_token"]
    while token:
        page = (
            await api.get(
                "/api/v1/numbers", headers=admin, params={"page_size": 4, "page_token": token}
            )
        ).json()
        seen += [i["msisdn"] for i in page["items"]]
        token = page["next_page_token"]
    assert len(seen) == len(set(seen)) and seen == sorted(seen)
    assert everything(placed) <= set(seen)
    assert {m for m in late if m > seen[3]} <= set(seen)


async def test_oversized_pages_bad_tokens_and_malformed_numbers_are_422(api, admin, placed):
    for params in ({"page_size": 501}, {"page_size": -1}, {"page_token": "not a token"}):
        response = await api.get("/api/v1/numbers", headers=admin, params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["code"] == "validation_failed"
    for malformed in ("12345", "not-a-number", "+1 212 555 0100"):
        for method, body in (("GET", None), ("PATCH", {"label": "x"})):
            response = await api.request(
                method, f"/api/v1/numbers/{quote(malformed)}", headers=admin, json=body
            )
            assert response.status_code == 422, (malformed, response.text)
            assert response.json()["errors"][0]["field"] == "msisdn"


# ---------------------------------------------------------------- the card and the notes


async def test_the_card_takes_any_usual_form_of_the_number(api, admin, tree, placed):
    msisdn = placed["sales"][1]
    for form in (msisdn, spaced(msisdn), "8" + msisdn[1:], msisdn[1:]):
        response = await api.get(f"/api/v1/numbers/{quote(form)}", headers=admin)
        assert response.status_code == 200, (form, response.text)
        assert response.json()["msisdn"] == msisdn
        assert response.json()["node_id"] == tree["sales"]["id"]
    nobody = await api.get(f"/api/v1/numbers/{fresh_msisdn()}", headers=admin)
    assert nobody.status_code == 404


async def test_notes_are_trimmed_searchable_and_bounded(api, admin, placed):
    msisdn = placed["root"][0]
    patched = await api.patch(
        f"/api/v1/numbers/{msisdn}",
        headers=admin,
        json={"label": "  Водитель Петров ", "comment": "Газель №3", "cost_center": " ЦЗ-014 "},
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["label"], patched.json()["cost_center"]) == ("Водитель Петров", "ЦЗ-014")
    only_comment = await api.patch(
        f"/api/v1/numbers/{msisdn}", headers=admin, json={"comment": "  "}
    )
    assert only_comment.json()["label"] == "Водитель Петров"
    assert only_comment.json()["comment"] == ""
    assert await msisdns_listed(api, admin, q="водитель") == {msisdn}
    assert await msisdns_listed(api, admin, q="цз-01") == {msisdn}
    too_long = await api.patch(
        f"/api/v1/numbers/{msisdn}",
        headers=admin,
        json={"label": "л" * 101, "cost_center": "ц" * 51},
    )
    assert too_long.status_code == 422
    assert {e["field"] for e in too_long.json()["errors"]} == {"label", "cost_center"}
    card = (await api.get(f"/api/v1/numbers/{msisdn}", headers=admin)).json()
    assert card["label"] == "Водитель Петров"  # nothing changed


# ---------------------------------------------------------------- moving


async def test_moving_numbers_is_all_or_nothing_and_counts_follow(system, api, admin, tree, placed):
    target = tree["other"]["id"]
    moving = [spaced(placed["root"][0]), placed["sales"][0]]
    moved = await api.post(
        "/api/v1/numbers/move", headers=admin, json={"msisdns": moving, "node_id": target}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json() == {"moved": 2}
    number_counts = await counts(api, admin)
    assert number_counts[target] == 4
    assert number_counts[tree["sales"]["id"]] == number_counts[tree["region"]["id"]] == 2
    assert placed["sales"][0] in await msisdns_listed(api, admin, node_id=target)
    again = await api.post(
        "/api/v1/numbers/move", headers=admin, json={"msisdns": moving, "node_id": target}
    )
    assert again.json() == {"moved": 0}  # already there

    events = await catalog_events(system, "vm.catalog.number.moved.v1", {placed["sales"][0]})
    assert len(events) == 1
    assert events[0].data["node_path"] == [tree["root"]["id"], target]

    unknown = fresh_msisdn()
    partial = await api.post(
        "/api/v1/numbers/move",
        headers=admin,
        json={"msisdns": [placed["root"][1], unknown], "node_id": target},
    )
    assert partial.status_code == 404
    assert unknown not in partial.text
    assert placed["root"][1] not in await msisdns_listed(api, admin, node_id=target)
    malformed = await api.post(
        "/api/v1/numbers/move",
        headers=admin,
        json={"msisdns": [placed["root"][1], "12"], "node_id": target},
    )
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "msisdns[1]"
    nowhere = await api.post(
        "/api/v1/numbers/move",
        headers=admin,
        json={"msisdns": [placed["root"][1]], "node_id": "nod_unknown"},
    )
    assert nowhere.status_code == 404


async def test_a_moved_node_takes_its_numbers_along(api, admin, tree, placed):
    moved = await api.patch(
        f"/api/v1/hierarchy/nodes/{tree['city']['id']}",
        headers=admin,
        json={"parent_id": tree["other"]["id"]},
    )
    assert moved.status_code == 200, moved.text
    under_other = await msisdns_listed(api, admin, node_id=tree["other"]["id"])
    assert under_other == set(placed["sales"]) | set(placed["other"])
    assert await msisdns_listed(api, admin, node_id=tree["region"]["id"]) == set()
    assert await msisdns_listed(api, admin, node_id=tree["city"]["id"]) == set(placed["sales"])
    number_counts = await counts(api, admin)
    assert number_counts[tree["other"]["id"]] == 5
    assert number_counts[tree["region"]["id"]] == 0


async def test_deleting_a_node_with_move_to_moves_its_numbers(api, admin, tree, placed):
    sales, other = tree["sales"]["id"], tree["other"]["id"]
    refused = await api.delete(f"/api/v1/hierarchy/nodes/{sales}", headers=admin)
    assert refused.status_code == 409
    deleted = await api.delete(
        f"/api/v1/hierarchy/nodes/{sales}", headers=admin, params={"move_to": other}
    )
    assert deleted.status_code == 204, deleted.text
    assert await msisdns_listed(api, admin, node_id=other) == set(placed["sales"]) | set(
        placed["other"]
    )
    card = (await api.get(f"/api/v1/numbers/{placed['sales'][0]}", headers=admin)).json()
    assert card["node_id"] == other
    assert (await counts(api, admin))[tree["region"]["id"]] == 0


# ---------------------------------------------------------------- who sees what


async def test_a_user_scoped_to_a_subtree_sees_only_its_numbers(api, admin, tree, placed):
    role = (
        await api.post(
            "/api/v1/roles",
            headers=admin,
            json={
                "name": "Номера региона",
                "permissions": ["numbers.view", "numbers.manage_notes", "hierarchy.manage"],
            },
        )
    ).json()
    user = await create_user(api, admin)
    await assignable(
        api, admin, user["id"], [{"role_id": role["id"], "node_id": tree["region"]["id"]}]
    )
    scoped = await login_as(api, user["login"])

    assert await msisdns_listed(api, scoped) == set(placed["sales"])
    assert await msisdns_listed(api, scoped, node_id=tree["root"]["id"]) == set(placed["sales"])
    inside, outside = placed["sales"][0], placed["other"][0]
    assert (await api.get(f"/api/v1/numbers/{inside}", headers=scoped)).status_code == 200
    for response in (
        await api.get(f"/api/v1/numbers/{outside}", headers=scoped),
        await api.patch(f"/api/v1/numbers/{outside}", headers=scoped, json={"label": "x"}),
        await api.post(
            "/api/v1/numbers/move",
            headers=scoped,
            json={"msisdns": [outside], "node_id": tree["city"]["id"]},
        ),
    ):
        assert response.status_code == 404, response.text
        assert outside not in response.text
    within = await api.post(
        "/api/v1/numbers/move",
        headers=scoped,
        json={"msisdns": [inside], "node_id": tree["city"]["id"]},
    )
    assert within.json() == {"moved": 1}
    out_of_reach = await api.post(
        "/api/v1/numbers/move",
        headers=scoped,
        json={"msisdns": [inside], "node_id": tree["other"]["id"]},
    )
    assert out_of_reach.status_code == 403
    exported = await api.get("/api/v1/numbers/export", headers=scoped)
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert {row[0] for row in rows[1:]} == set(placed["sales"])

    tickets_only = (
        await api.post(
            "/api/v1/roles",
            headers=admin,
            json={"name": "Только обращения", "permissions": ["tickets.view"]},
        )
    ).json()
    no_numbers = await create_user(api, admin, roles=[tickets_only["id"]])
    nobody = await login_as(api, no_numbers["login"])
    for path in ("/api/v1/numbers", f"/api/v1/numbers/{inside}", "/api/v1/numbers/export"):
        assert (await api.get(path, headers=nobody)).status_code == 403, path


async def test_another_companys_numbers_are_not_found(
    system, api, admin, tree, placed, other_company
):
    stranger = bearer(await register(api, other_company))
    theirs = placed["sales"][0]
    stranger_root = next(iter(await hierarchy(api, stranger)))
    for response in (
        await api.get(f"/api/v1/numbers/{theirs}", headers=stranger),
        await api.patch(f"/api/v1/numbers/{theirs}", headers=stranger, json={"label": "x"}),
        await api.post(
            "/api/v1/numbers/move",
            headers=stranger,
            json={"msisdns": [theirs], "node_id": stranger_root},
        ),
    ):
        assert response.status_code == 404, response.text
        assert theirs not in response.text
    assert await msisdns_listed(api, stranger) == set()
    assert (await api.get("/api/v1/numbers/export", headers=stranger)).text.count("\n") == 1


# ---------------------------------------------------------------- the export


async def test_the_export_as_csv_and_xlsx_with_the_lists_filters(
    system, api, admin, company, tree, placed
):
    many = await give_numbers(system, company.id, [tree["other"]["id"]] * 520)  # over a page
    # The 520 numbers' events (billing's accounts, catalog's links to them, the audit log)
    # go through every service first: this test is about the export, not about that load.
    await events_consumed(system, max_wait=120)
    noted = await api.patch(
        f"/api/v1/numbers/{placed['sales'][0]}",
        headers=admin,
        json={"label": "Водитель, «Газель»", "comment": "строка\nвторая", "cost_center": "ЦЗ-1"},
    )
    assert noted.status_code == 200, noted.text
    csv_response = await api.get("/api/v1/numbers/export", headers=admin)
    assert csv_response.status_code == 200, csv_response.text
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert rows[0] == HEADER
    assert [row[0] for row in rows[1:]] == sorted(everything(placed) | set(many))
    sales_row = next(row for row in rows if row[0] == placed["sales"][0])
    assert sales_row[2:] == [
        "активен",
        "Бизнес Тест",
        "Отдел продаж",
        "Водитель, «Газель»",
        "строка\nвторая",
        "ЦЗ-1",
    ]
    formula = placed["sales"][1]
    await api.patch(f"/api/v1/numbers/{formula}", headers=admin, json={"label": "=1+2"})
    by_label = await api.get("/api/v1/numbers/export", headers=admin, params={"q": "=1+2"})
    rows = list(csv.reader(io.StringIO(by_label.content.decode("utf-8-sig"))))
    assert len(rows) == 2
    assert rows[1][0] == formula and rows[1][5] == "'=1+2"  # text, never a formula

    xlsx_response = await api.get(
        "/api/v1/numbers/export",
        headers=admin,
        params={"format": "xlsx", "node_id": tree["region"]["id"]},
    )
    assert xlsx_response.status_code == 200, xlsx_response.text
    sheet = load_workbook(io.BytesIO(xlsx_response.content), read_only=True).active
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert table[0] == HEADER
    assert sorted(row[0] for row in table[1:]) == sorted(placed["sales"])
    assert all(isinstance(row[1], str) and len(row[1]) == 20 for row in table[1:])  # as text
    label_cell = next(row[5] for row in sheet.iter_rows() if row[0].value == formula)
    assert (label_cell.value, label_cell.data_type) == ("=1+2", "s")

    refused_export = await api.get(
        "/api/v1/numbers/export", headers=admin, params={"format": "pdf"}
    )
    assert refused_export.status_code == 422
    # an unknown service matches no number: a file without rows (it was 422)
    unknown = await api.get(
        "/api/v1/numbers/export", headers=admin, params={"service_id": "no_such_service"}
    )
    assert unknown.status_code == 200, unknown.text
    assert len(unknown.text.strip().splitlines()) == 1  # the header only


# ---------------------------------------------------------------- the operator


async def test_the_operator_gives_each_number_once(
    system, api, admin, company, other_company, placed
):
    tariff_id = (await shared_catalogue(system))["tariff_id"]

    def new(msisdn=None, iccid=None, tariff=tariff_id, node=""):
        return pb.NewNumber(
            msisdn=msisdn or fresh_msisdn(),
            iccid=iccid or fresh_iccid(),
            tariff_id=tariff,
            node_id=node,
        )

    def batch(*numbers, company_id=company.id):
        return pb.AddNumbersRequest(company_id=company_id, numbers=numbers)

    taken = placed["root"][0]
    error = await refused(system, "AddNumbers", batch(new(), new(msisdn=taken)))
    assert error.code == grpc.StatusCode.ALREADY_EXISTS
    assert taken in error.message
    card = (await api.get(f"/api/v1/numbers/{taken}", headers=admin)).json()
    error = await refused(system, "AddNumbers", batch(new(iccid=card["iccid"])))
    assert error.code == grpc.StatusCode.ALREADY_EXISTS
    assert card["iccid"] in error.message
    twice = fresh_msisdn()
    error = await refused(system, "AddNumbers", batch(new(msisdn=twice), new(msisdn=twice)))
    assert error.code == grpc.StatusCode.ALREADY_EXISTS and twice in error.message
    # another company cannot be given a number this one has
    other_root = next(iter(await hierarchy(api, bearer(await register(api, other_company)))))
    error = await refused(
        system, "AddNumbers", batch(new(msisdn=taken), company_id=other_company.id)
    )
    assert error.code == grpc.StatusCode.ALREADY_EXISTS

    bad_iccid = fresh_iccid()
    bad_iccid = bad_iccid[:-1] + str((int(bad_iccid[-1]) + 1) % 10)
    error = await refused(
        system,
        "AddNumbers",
        batch(new(), new(iccid=bad_iccid), new(msisdn="12345", tariff="")),
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(error.fields) == {"numbers[1].iccid", "numbers[2].msisdn", "numbers[2].tariff_id"}
    error = await refused(system, "AddNumbers", batch(new(tariff="no_such_tariff")))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(error.fields) == {"numbers[0].tariff_id"}
    error = await refused(system, "AddNumbers", batch(new(node=other_root)))
    assert set(error.fields) == {"numbers[0].node_id"}
    error = await refused(system, "AddNumbers", batch(new(), company_id="cmp_unknown"))
    assert error.code == grpc.StatusCode.NOT_FOUND
    error = await refused(
        system, "AddNumbers", batch(new()), metadata=(("authorization", admin["authorization"]),)
    )
    assert error.code == grpc.StatusCode.PERMISSION_DENIED
    assert await msisdns_listed(api, admin) == everything(placed)  # nothing was added


async def test_the_free_pool_and_the_companies_never_share_a_number(system, company, placed):
    free = pb.FreeNumber(msisdn=fresh_msisdn(), iccid=fresh_iccid())
    added = await number_admin(system, "AddFreeNumbers", pb.AddFreeNumbersRequest(numbers=[free]))
    assert added.added == 1
    again = await refused(system, "AddFreeNumbers", pb.AddFreeNumbersRequest(numbers=[free]))
    assert again.code == grpc.StatusCode.ALREADY_EXISTS
    companys = pb.FreeNumber(msisdn=placed["root"][0], iccid=fresh_iccid())
    error = await refused(system, "AddFreeNumbers", pb.AddFreeNumbersRequest(numbers=[companys]))
    assert error.code == grpc.StatusCode.ALREADY_EXISTS
    tariff_id = (await shared_catalogue(system))["tariff_id"]
    error = await refused(
        system,
        "AddNumbers",
        pb.AddNumbersRequest(
            company_id=company.id,
            numbers=[pb.NewNumber(msisdn=free.msisdn, iccid=fresh_iccid(), tariff_id=tariff_id)],
        ),
    )
    assert error.code == grpc.StatusCode.ALREADY_EXISTS
    assert free.msisdn in error.message
