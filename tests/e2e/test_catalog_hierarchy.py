"""The company's hierarchy through REST, and assignments scoped to one of its subtrees."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.e2e.test_identity_flows import bearer, register
from tests.e2e.test_identity_users_roles import create_user, login_as

pytestmark = pytest.mark.e2e


async def hierarchy(api: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, dict]:
    for _ in range(100):  # the root appears once catalog has the company's event
        nodes = (await api.get("/api/v1/hierarchy", headers=headers)).json()["nodes"]
        if nodes:
            return {n["id"]: n for n in nodes}
        await asyncio.sleep(0.1)
    raise AssertionError("the company's root never appeared")


async def add_node(api, headers, parent_id: str, name: str, kind: str = "department") -> dict:
    response = await api.post(
        "/api/v1/hierarchy/nodes",
        headers=headers,
        json={"parent_id": parent_id, "name": name, "kind": kind},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def three_levels(api, headers) -> dict[str, dict]:
    root = next(n for n in (await hierarchy(api, headers)).values() if n["parent_id"] is None)
    region = await add_node(api, headers, root["id"], "Центральный регион", "region")
    city = await add_node(api, headers, region["id"], "Москва", "city")
    sales = await add_node(api, headers, city["id"], "Отдел продаж")
    other = await add_node(api, headers, root["id"], "Северо-Запад", "region")
    return {"root": root, "region": region, "city": city, "sales": sales, "other": other}


async def assignable(api, admin, user_id: str, assignments: list[dict]) -> dict:
    """Assign once identity has caught up with catalog's node events (until then the node
    is unknown to identity: 404 `not_found`, as any object that does not exist)."""
    for _ in range(100):
        response = await api.put(
            f"/api/v1/users/{user_id}/assignments", headers=admin, json=assignments
        )
        if response.status_code != 404:
            assert response.status_code == 200, response.text
            return response.json()
        await asyncio.sleep(0.1)
    raise AssertionError(f"identity never learnt the nodes: {response.text}")


async def test_the_root_is_the_company_and_nodes_nest_to_any_depth(api, company):
    admin = bearer(await register(api, company))
    tree = await three_levels(api, admin)
    nodes = await hierarchy(api, admin)
    assert tree["root"]["name"] == company.name and tree["root"]["kind"] == "company"
    assert nodes[tree["sales"]["id"]]["parent_id"] == tree["city"]["id"]
    assert all(n["number_count"] == 0 for n in nodes.values())
    order = list(nodes)
    assert order.index(tree["city"]["id"]) < order.index(tree["sales"]["id"])


async def test_rename_and_move_and_never_a_cycle(api, company):
    admin = bearer(await register(api, company))
    tree = await three_levels(api, admin)
    moved = await api.patch(
        f"/api/v1/hierarchy/nodes/{tree['city']['id']}",
        headers=admin,
        json={"parent_id": tree["other"]["id"], "name": "Санкт-Петербург"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["parent_id"] == tree["other"]["id"]
    cycle = await api.patch(
        f"/api/v1/hierarchy/nodes/{tree['other']['id']}",
        headers=admin,
        json={"parent_id": tree["sales"]["id"]},
    )
    assert cycle.status_code == 409
    assert cycle.json()["reason"] == "cycle"


async def test_delete_only_empty_nodes(api, company):
    admin = bearer(await register(api, company))
    tree = await three_levels(api, admin)
    busy = await api.delete(f"/api/v1/hierarchy/nodes/{tree['city']['id']}", headers=admin)
    assert busy.status_code == 409
    gone = await api.delete(f"/api/v1/hierarchy/nodes/{tree['sales']['id']}", headers=admin)
    assert gone.status_code == 204
    assert tree["sales"]["id"] not in await hierarchy(api, admin)
    root = await api.delete(f"/api/v1/hierarchy/nodes/{tree['root']['id']}", headers=admin)
    assert root.status_code == 409


async def test_bad_input_is_422_and_unknown_nodes_404(api, company):
    admin = bearer(await register(api, company))
    tree = await three_levels(api, admin)
    bad = await api.post(
        "/api/v1/hierarchy/nodes",
        headers=admin,
        json={"parent_id": tree["root"]["id"], "name": "X", "kind": "planet"},
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "kind"
    missing = await api.post(
        "/api/v1/hierarchy/nodes",
        headers=admin,
        json={"parent_id": "nod_nope", "name": "X", "kind": "group"},
    )
    assert missing.status_code == 404
    assert [e["field"] for e in missing.json()["errors"]] == ["parent_id"]
    # A node of the path that exists, moved under one that does not: the body's field is
    # named, so the 404 is not read as the node itself gone.
    moved = await api.patch(
        f"/api/v1/hierarchy/nodes/{tree['sales']['id']}",
        headers=admin,
        json={"parent_id": "nod_nope"},
    )
    assert moved.status_code == 404
    assert [e["field"] for e in moved.json()["errors"]] == ["parent_id"]
    gone = await api.patch(
        "/api/v1/hierarchy/nodes/nod_nope", headers=admin, json={"name": "Пропавший"}
    )
    assert gone.status_code == 404 and "errors" not in gone.json()
    emptied = await api.delete(
        f"/api/v1/hierarchy/nodes/{tree['sales']['id']}",
        headers=admin,
        params={"move_to": "nod_nope"},
    )
    assert emptied.status_code == 404, emptied.text
    assert [e["field"] for e in emptied.json()["errors"]] == ["move_to"]


async def test_another_companys_nodes_are_not_found(api, company, other_company):
    admin = bearer(await register(api, company))
    tree = await three_levels(api, admin)
    stranger = bearer(await register(api, other_company))
    for response in (
        await api.patch(
            f"/api/v1/hierarchy/nodes/{tree['sales']['id']}",
            headers=stranger,
            json={"name": "Чужой"},
        ),
        await api.delete(f"/api/v1/hierarchy/nodes/{tree['sales']['id']}", headers=stranger),
        await api.post(
            "/api/v1/hierarchy/nodes",
            headers=stranger,
            json={"parent_id": tree["city"]["id"], "name": "X", "kind": "group"},
        ),
    ):
        assert response.status_code == 404, response.text
    assert tree["sales"]["id"] not in await hierarchy(api, stranger)


async def test_a_department_manager_scoped_to_a_subtree(api, company):
    admin = bearer(await register(api, company))
    tree = await three_levels(api, admin)
    manager_role = (
        await api.post(
            "/api/v1/roles",
            headers=admin,
            json={
                "name": "Управляющий иерархией",
                "permissions": ["hierarchy.manage", "numbers.view"],
            },
        )
    ).json()
    user = await create_user(api, admin)
    assigned = await assignable(
        api,
        admin,
        user["id"],
        [
            {"role_id": "department_manager", "node_id": tree["region"]["id"]},
            {"role_id": manager_role["id"], "node_id": tree["region"]["id"]},
        ],
    )
    assert {a["node_id"] for a in assigned["assignments"]} == {tree["region"]["id"]}
    headers = await login_as(api, user["login"])

    me = (await api.get("/api/v1/me", headers=headers)).json()
    assert [s["node_id"] for s in me["scopes"]] == [tree["region"]["id"]]
    assert "numbers.tariff" in me["scopes"][0]["permissions"]

    inside = await add_node(api, headers, tree["sales"]["id"], "Группа А", "group")
    assert inside["parent_id"] == tree["sales"]["id"]
    outside = await api.post(
        "/api/v1/hierarchy/nodes",
        headers=headers,
        json={"parent_id": tree["other"]["id"], "name": "Чужая группа", "kind": "group"},
    )
    assert outside.status_code == 403
    move_out = await api.patch(
        f"/api/v1/hierarchy/nodes/{tree['sales']['id']}",
        headers=headers,
        json={"parent_id": tree["other"]["id"]},
    )
    assert move_out.status_code == 403
    # company-level permissions never come from a subtree scope
    assert (await api.get("/api/v1/users", headers=headers)).status_code == 403


async def test_no_escalation_across_subtrees(api, company):
    admin = bearer(await register(api, company))
    tree = await three_levels(api, admin)
    granter_role = (
        await api.post(
            "/api/v1/roles",
            headers=admin,
            json={"name": "Кадры и номера", "permissions": ["users.manage", "numbers.view"]},
        )
    ).json()
    granter = await create_user(api, admin)
    await assignable(
        api,
        admin,
        granter["id"],
        [
            {"role_id": granter_role["id"]},
            {"role_id": "department_manager", "node_id": tree["region"]["id"]},
        ],
    )
    headers = await login_as(api, granter["login"])
    someone = await create_user(api, admin)

    inside = await api.put(
        f"/api/v1/users/{someone['id']}/assignments",
        headers=headers,
        json=[{"role_id": "department_manager", "node_id": tree["city"]["id"]}],
    )
    assert inside.status_code == 200, inside.text
    elsewhere = await api.put(
        f"/api/v1/users/{someone['id']}/assignments",
        headers=headers,
        json=[{"role_id": "department_manager", "node_id": tree["other"]["id"]}],
    )
    assert elsewhere.status_code == 403
    wider = await api.put(
        f"/api/v1/users/{someone['id']}/assignments",
        headers=headers,
        json=[{"role_id": "department_manager"}],
    )
    assert wider.status_code == 403


async def root_node(api: httpx.AsyncClient, headers: dict[str, str]) -> str:
    nodes = await hierarchy(api, headers)
    return next(n["id"] for n in nodes.values() if n["parent_id"] is None)
