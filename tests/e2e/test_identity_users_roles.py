"""Users, custom roles and assignments through REST: what an administrator does."""

from __future__ import annotations

import secrets

import httpx
import pytest

from tests.e2e.conftest import NewCompany, operator_metadata
from tests.e2e.test_identity_flows import bearer, register
from vm.identity.v1 import directory_pb2, directory_pb2_grpc

pytestmark = pytest.mark.e2e
PASSWORD = "Staff-passw0rd"


async def admin_headers(api: httpx.AsyncClient, company: NewCompany) -> dict[str, str]:
    return bearer(await register(api, company))


async def create_user(api, headers, *, roles=(), login=None, **overrides) -> dict:
    body = {
        "login": login or f"user.{secrets.token_hex(4)}",
        "full_name": "Иванова Анна Сергеевна",
        "email": f"{secrets.token_hex(4)}@staff.example",
        "password": PASSWORD,
        "assignments": [{"role_id": r} for r in roles],
        **overrides,
    }
    response = await api.post("/api/v1/users", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def login_as(api, login: str, password: str = PASSWORD) -> dict[str, str]:
    response = await api.post("/api/v1/auth/login", json={"login": login, "password": password})
    assert response.status_code == 200, response.text
    return bearer(response.json())


async def test_the_permission_catalogue_has_categories_and_the_presets_are_listed(api, company):
    headers = await admin_headers(api, company)
    catalogue = (await api.get("/api/v1/permissions", headers=headers)).json()
    ids = [p["id"] for c in catalogue["categories"] for p in c["permissions"]]
    assert len(ids) == 24
    assert "numbers.tariff" in ids
    assert "numbers.manage_notes" in ids
    finance = next(c for c in catalogue["categories"] if c["id"] == "finance")
    assert all(p["company_level"] for p in finance["permissions"])
    roles = (await api.get("/api/v1/roles", headers=headers)).json()["items"]
    presets = {r["id"] for r in roles if r["preset"]}
    assert presets == {
        "global_admin",
        "telecom_admin",
        "accountant",
        "department_manager",
        "viewer",
    }


async def test_admin_creates_a_user_who_logs_in_with_their_role(api, company):
    headers = await admin_headers(api, company)
    user = await create_user(api, headers, roles=["accountant"], login="Petrova.M")
    assert user["login"] == "petrova.m"
    assert user["assignments"] == [{"role_id": "accountant", "node_id": None}]

    me = (await api.get("/api/v1/me", headers=await login_as(api, "petrova.m"))).json()

    assert me["user"]["id"] == user["id"]
    assert "finance.transfer" in me["permissions"]
    assert "users.manage" not in me["permissions"]


async def test_users_are_listed_in_pages_and_filtered(api, company):
    headers = await admin_headers(api, company)
    made = [await create_user(api, headers, full_name=f"Сотрудник {i}") for i in range(5)]
    seen, token = [], ""
    while True:
        page = (
            await api.get(
                "/api/v1/users", headers=headers, params={"page_size": 2, "page_token": token}
            )
        ).json()
        assert len(page["items"]) <= 2
        seen += [u["id"] for u in page["items"]]
        token = page["next_page_token"]
        if not token:
            break
    assert set(seen) >= {u["id"] for u in made}
    assert len(seen) == len(set(seen)) == 6  # five staff and the administrator
    found = (await api.get("/api/v1/users", headers=headers, params={"q": "Сотрудник 3"})).json()[
        "items"
    ]
    assert [u["id"] for u in found] == [made[3]["id"]]

    # A number finds the user whose phone it is, in any usual form.
    phoned = await create_user(api, headers, full_name="Сотрудник с телефоном", phone="79031112233")
    for query in ("8 (903) 111-22-33", "+7 903 111 22 33", "1112233"):
        found = (await api.get("/api/v1/users", headers=headers, params={"q": query})).json()
        assert [u["id"] for u in found["items"]] == [phoned["id"]], query


async def test_bad_user_fields_are_422_per_field(api, company):
    headers = await admin_headers(api, company)
    response = await api.post(
        "/api/v1/users",
        headers=headers,
        json={
            "login": "1",
            "full_name": " ",
            "email": "nope",
            "password": "short",
            "assignments": [{"role_id": "no_such_role"}],
        },
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"login", "full_name", "email"} <= fields or "password" in fields


async def test_a_taken_login_is_409(api, company):
    headers = await admin_headers(api, company)
    taken = (await create_user(api, headers, login="same." + secrets.token_hex(3)))["login"]
    response = await api.post(
        "/api/v1/users",
        headers=headers,
        json={"login": taken, "full_name": "X", "email": "x@y.example", "password": PASSWORD},
    )
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"


async def test_deactivated_user_cannot_log_in_and_loses_live_sessions(api, company):
    headers = await admin_headers(api, company)
    user = await create_user(api, headers, roles=["viewer"])
    user_headers = await login_as(api, user["login"])
    assert (await api.get("/api/v1/me", headers=user_headers)).status_code == 200

    patched = await api.patch(
        f"/api/v1/users/{user['id']}", headers=headers, json={"status": "deactivated"}
    )

    assert patched.status_code == 200
    assert patched.json()["status"] == "deactivated"
    # the access token has not expired, but its session has ended
    assert (await api.get("/api/v1/me", headers=user_headers)).status_code == 401
    login = await api.post(
        "/api/v1/auth/login", json={"login": user["login"], "password": PASSWORD}
    )
    assert login.status_code == 401


async def test_the_main_number_administrator_cannot_be_deleted_or_deactivated(api, company):
    headers = await admin_headers(api, company)
    admin = (await api.get("/api/v1/me", headers=headers)).json()["user"]
    other_admin = await create_user(api, headers, roles=["global_admin"])
    other_headers = await login_as(api, other_admin["login"])
    for response in (
        await api.delete(f"/api/v1/users/{admin['id']}", headers=other_headers),
        await api.patch(
            f"/api/v1/users/{admin['id']}", headers=other_headers, json={"status": "deactivated"}
        ),
        await api.delete(f"/api/v1/users/{admin['id']}", headers=headers),
    ):
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "not_allowed"


async def test_delete_user_then_404(api, company):
    headers = await admin_headers(api, company)
    user = await create_user(api, headers)
    assert (await api.delete(f"/api/v1/users/{user['id']}", headers=headers)).status_code == 204
    assert (await api.get(f"/api/v1/users/{user['id']}", headers=headers)).status_code == 404
    assert (await api.delete(f"/api/v1/users/{user['id']}", headers=headers)).status_code == 404


async def test_custom_role_lifecycle(api, company):
    headers = await admin_headers(api, company)
    created = await api.post(
        "/api/v1/roles",
        headers=headers,
        json={"name": "Связист филиала", "permissions": ["numbers.view", "numbers.blocks"]},
    )
    assert created.status_code == 201, created.text
    role = created.json()
    assert role["preset"] is False

    renamed = await api.patch(
        f"/api/v1/roles/{role['id']}",
        headers=headers,
        json={"name": "Связист", "permissions": ["numbers.view"]},
    )
    assert renamed.json() == {**role, "name": "Связист", "permissions": ["numbers.view"]}

    user = await create_user(api, headers, roles=[role["id"]])
    refused = await api.delete(f"/api/v1/roles/{role['id']}", headers=headers)
    assert refused.status_code == 409
    await api.put(
        f"/api/v1/users/{user['id']}/assignments", headers=headers, json=[{"role_id": "viewer"}]
    )
    assert (await api.delete(f"/api/v1/roles/{role['id']}", headers=headers)).status_code == 204
    assert (await api.get(f"/api/v1/roles/{role['id']}", headers=headers)).status_code == 404


async def test_preset_roles_cannot_change_and_names_are_unique(api, company):
    headers = await admin_headers(api, company)
    assert (
        await api.patch("/api/v1/roles/viewer", headers=headers, json={"name": "x"})
    ).status_code == 409
    assert (await api.delete("/api/v1/roles/viewer", headers=headers)).status_code == 409
    body = {"name": "Дубль", "permissions": ["numbers.view"]}
    assert (await api.post("/api/v1/roles", headers=headers, json=body)).status_code == 201
    assert (await api.post("/api/v1/roles", headers=headers, json=body)).status_code == 409
    unknown = await api.post(
        "/api/v1/roles", headers=headers, json={"name": "Y", "permissions": ["numbers.fly"]}
    )
    assert unknown.status_code == 422


async def test_no_escalation_a_user_manager_cannot_grant_more_than_they_hold(api, company):
    headers = await admin_headers(api, company)
    manager_role = (
        await api.post(
            "/api/v1/roles",
            headers=headers,
            json={"name": "Кадровик", "permissions": ["users.manage", "numbers.view"]},
        )
    ).json()
    manager = await create_user(api, headers, roles=[manager_role["id"]])
    manager_headers = await login_as(api, manager["login"])

    refused = await api.post(
        "/api/v1/users",
        headers=manager_headers,
        json={
            "login": "grab." + secrets.token_hex(3),
            "full_name": "X",
            "email": "x@y.example",
            "password": PASSWORD,
            "assignments": [{"role_id": "global_admin"}],
        },
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"

    own_level = await api.post(
        "/api/v1/users",
        headers=manager_headers,
        json={
            "login": "peer." + secrets.token_hex(3),
            "full_name": "X",
            "email": "x@y.example",
            "password": PASSWORD,
            "assignments": [{"role_id": manager_role["id"]}],
        },
    )
    assert own_level.status_code == 201

    # nor can they act on someone who holds more than they do
    admin = (await api.get("/api/v1/me", headers=headers)).json()["user"]
    stronger = await create_user(api, headers, roles=["telecom_admin"])
    for response in (
        await api.patch(
            f"/api/v1/users/{stronger['id']}", headers=manager_headers, json={"full_name": "Hacked"}
        ),
        await api.put(
            f"/api/v1/users/{stronger['id']}/assignments", headers=manager_headers, json=[]
        ),
        await api.delete(f"/api/v1/users/{admin['id']}", headers=manager_headers),
    ):
        assert response.status_code in (403, 409), response.text


async def test_a_role_carries_only_what_its_author_holds(api, company):
    headers = await admin_headers(api, company)
    author_role = (
        await api.post(
            "/api/v1/roles",
            headers=headers,
            json={"name": "Ролевик", "permissions": ["roles.manage", "numbers.view"]},
        )
    ).json()
    author = await create_user(api, headers, roles=[author_role["id"]])
    author_headers = await login_as(api, author["login"])
    refused = await api.post(
        "/api/v1/roles",
        headers=author_headers,
        json={"name": "Финансы", "permissions": ["finance.transfer"]},
    )
    assert refused.status_code == 403
    ok = await api.post(
        "/api/v1/roles",
        headers=author_headers,
        json={"name": "Просмотр", "permissions": ["numbers.view"]},
    )
    assert ok.status_code == 201


async def test_node_scopes_need_a_known_hierarchy_node(api, company):
    headers = await admin_headers(api, company)
    user = await create_user(api, headers)
    response = await api.put(
        f"/api/v1/users/{user['id']}/assignments",
        headers=headers,
        json=[{"role_id": "department_manager", "node_id": "node_x"}],
    )
    # a node that does not exist: 404 naming the field (it was 422, a malformed request)
    assert response.status_code == 404, response.text
    assert response.json()["errors"][0]["field"] == "assignments.0.node_id"


async def test_another_companys_users_and_roles_are_not_found(api, company, other_company):
    headers = await admin_headers(api, company)
    user = await create_user(api, headers)
    role = (
        await api.post(
            "/api/v1/roles", headers=headers, json={"name": "Своя", "permissions": ["numbers.view"]}
        )
    ).json()

    other_headers = await admin_headers(api, other_company)
    for path in (f"/api/v1/users/{user['id']}", f"/api/v1/roles/{role['id']}"):
        response = await api.get(path, headers=other_headers)
        assert response.status_code == 404
        assert user["login"] not in response.text
    listed = (await api.get("/api/v1/users", headers=other_headers)).json()["items"]
    assert user["id"] not in {u["id"] for u in listed}
    assert (
        await api.patch(
            f"/api/v1/users/{user['id']}", headers=other_headers, json={"full_name": "X"}
        )
    ).status_code == 404


def mobile() -> tuple[str, str]:
    """A random mobile number as a person types it, and as it is kept (the MSISDN)."""
    msisdn = f"79{secrets.randbelow(10**9):09d}"
    return f"+7 ({msisdn[1:4]}) {msisdn[4:7]}-{msisdn[7:9]}-{msisdn[9:]}", msisdn


async def test_a_users_own_phone_is_set_changed_kept_and_cleared(api, company):
    headers = await admin_headers(api, company)
    typed, msisdn = mobile()
    user = await create_user(api, headers, roles=["viewer"], phone=typed)
    assert user["phone"] == msisdn
    path = f"/api/v1/users/{user['id']}"
    assert (await api.get(path, headers=headers)).json()["phone"] == msisdn
    me = (await api.get("/api/v1/me", headers=await login_as(api, user["login"]))).json()
    assert me["user"]["phone"] == msisdn

    other_typed, other = mobile()
    changed = await api.patch(path, headers=headers, json={"phone": other_typed})
    assert changed.status_code == 200, changed.text
    assert changed.json()["phone"] == other
    # A change of other fields leaves the number as it is.
    renamed = (await api.patch(path, headers=headers, json={"full_name": "Петрова М."})).json()
    assert renamed["phone"] == other
    cleared = (await api.patch(path, headers=headers, json={"phone": ""})).json()
    assert cleared["phone"] is None
    assert (await api.get(path, headers=headers)).json()["phone"] is None
    listed = (await api.get("/api/v1/users", headers=headers)).json()["items"]
    assert next(u for u in listed if u["id"] == user["id"])["phone"] is None
    # Without one, a user has none.
    assert (await create_user(api, headers))["phone"] is None


@pytest.mark.parametrize("phone", ["12345", "+7 495 123-45-67", "8 800 123 45 67", "916"])
async def test_a_phone_that_is_no_mobile_number_is_422_naming_the_field(api, company, phone):
    headers = await admin_headers(api, company)
    created = await api.post(
        "/api/v1/users",
        headers=headers,
        json={
            "login": f"user.{secrets.token_hex(4)}",
            "full_name": "Иванова Анна Сергеевна",
            "email": f"{secrets.token_hex(4)}@staff.example",
            "password": PASSWORD,
            "phone": phone,
        },
    )
    assert created.status_code == 422, created.text
    assert {e["field"] for e in created.json()["errors"]} == {"phone"}
    user = await create_user(api, headers)
    patched = await api.patch(f"/api/v1/users/{user['id']}", headers=headers, json={"phone": phone})
    assert patched.status_code == 422, patched.text
    assert {e["field"] for e in patched.json()["errors"]} == {"phone"}


async def test_the_directory_reaches_a_user_at_the_phone_given_through_rest(
    api, company, system, identity_channel
):
    """Notifications ask identity's directory how to reach people: a user's own number,
    set through REST, is where their SMS notices go."""
    headers = await admin_headers(api, company)
    typed, msisdn = mobile()
    user = await create_user(api, headers, roles=["accountant"], phone=typed)
    directory = directory_pb2_grpc.DirectoryServiceStub(identity_channel)

    async def phones() -> dict[str, str]:
        answer = await directory.ListCompanyPeople(
            directory_pb2.ListCompanyPeopleRequest(
                company_id=company.id, permission="finance.view"
            ),
            metadata=operator_metadata(system),
        )
        return {p.user_id: p.phone for p in answer.people}

    reached = await phones()
    assert reached[user["id"]] == msisdn
    # The global administrator is still reached on the main number, their login.
    assert company.main_number in reached.values()

    await api.patch(f"/api/v1/users/{user['id']}", headers=headers, json={"phone": ""})
    assert (await phones())[user["id"]] == ""
