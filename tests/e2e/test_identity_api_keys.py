"""API keys through the REST gateway: made by an administrator, used as a bearer
credential with their role's access, listed without their secret, revoked.

`GET /me` with a key answers the key (`api_key`: its id, name, role, scope) instead of a
user (`user` is null), with the company and the permissions the key's role gives.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from services.identity.domain import PRESET_ROLES
from tests.e2e.conftest import new_company
from tests.e2e.test_identity_flows import PASSWORD, bearer, register
from tests.support.system import RunningSystem

pytestmark = pytest.mark.e2e


def key_bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


async def create_key(
    api: httpx.AsyncClient, tokens: dict, role_id: str = "viewer", **fields
) -> httpx.Response:
    body = {"name": "Выгрузка в 1С", "role_id": role_id, **fields}
    return await api.post("/api/v1/api-keys", headers=bearer(tokens), json=body)


async def new_key(api: httpx.AsyncClient, tokens: dict, role_id: str = "viewer") -> dict:
    response = await create_key(api, tokens, role_id)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_viewer_key_acts_for_its_company_on_me_and_roles(api, company):
    admin = await register(api, company)

    created = await new_key(api, admin)

    key = created["key"]
    assert key.startswith("vmk_")
    listed = created["api_key"]
    assert listed["name"] == "Выгрузка в 1С"
    assert (listed["role_id"], listed["node_id"]) == ("viewer", None)
    assert key.startswith(listed["prefix"]) and len(listed["prefix"]) < len(key) // 2
    assert listed["last_used_at"] is None

    me = await api.get("/api/v1/me", headers=key_bearer(key))
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["company"]["id"] == company.id
    assert body["user"] is None
    assert body["api_key"]["id"] == listed["id"]
    assert body["api_key"]["role_id"] == "viewer"
    assert set(body["permissions"]) == PRESET_ROLES["viewer"].permissions
    assert body["scopes"] == [
        {"node_id": None, "permissions": sorted(PRESET_ROLES["viewer"].permissions)}
    ]

    roles = await api.get("/api/v1/roles", headers=key_bearer(key))
    assert roles.status_code == 200, roles.text
    assert "viewer" in {r["id"] for r in roles.json()["items"]}


async def test_a_viewer_key_cannot_create_users(api, company):
    admin = await register(api, company)
    key = (await new_key(api, admin))["key"]

    response = await api.post(
        "/api/v1/users",
        headers=key_bearer(key),
        json={
            "login": "integration.user",
            "full_name": "Интеграция",
            "email": "integration@test.example",
            "password": PASSWORD,
            "assignments": [{"role_id": "viewer"}],
        },
    )

    assert response.status_code == 403, response.text
    assert response.json()["code"] == "permission_denied"


async def test_a_key_may_do_what_its_role_allows_but_not_a_persons_functions(api, company):
    admin = await register(api, company)
    key = (await new_key(api, admin, "global_admin"))["key"]

    users = await api.get("/api/v1/users", headers=key_bearer(key))
    assert users.status_code == 200, users.text
    password = await api.put(
        "/api/v1/me/password",
        headers=key_bearer(key),
        json={"current_password": PASSWORD, "new_password": "Another-horse-8"},
    )
    assert password.status_code == 403, password.text


async def test_listing_never_shows_the_key(api, company):
    admin = await register(api, company)
    created = await new_key(api, admin)
    # The secret is URL-safe base64 and may itself hold "_": it is what follows the key's id.
    secret = created["key"].removeprefix(f"vmk_{created['api_key']['id']}_")
    assert len(secret) >= 40
    # The key has been used, so the listing has something to say about it.
    assert (await api.get("/api/v1/me", headers=key_bearer(created["key"]))).status_code == 200

    response = await api.get("/api/v1/api-keys", headers=bearer(admin))

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [item["id"] for item in items] == [created["api_key"]["id"]]
    assert set(items[0]) == set(created["api_key"])
    assert items[0]["last_used_at"] is not None
    assert secret not in response.text and secret[:8] not in response.text


async def test_a_revoked_key_gets_401_within_the_gateway_cache_period(
    api, company, system: RunningSystem
):
    admin = await register(api, company)
    created = await new_key(api, admin)
    key, key_id = created["key"], created["api_key"]["id"]
    assert (await api.get("/api/v1/me", headers=key_bearer(key))).status_code == 200

    revoked = await api.delete(f"/api/v1/api-keys/{key_id}", headers=bearer(admin))
    assert revoked.status_code == 204, revoked.text

    deadline = time.monotonic() + system.settings.api_key_cache_seconds + 3
    while (status := (await api.get("/api/v1/me", headers=key_bearer(key))).status_code) != 401:
        assert status == 200
        assert time.monotonic() < deadline, "the revoked key still works"
        await asyncio.sleep(0.2)
    # Past the cache period the gateway itself refuses it.
    await asyncio.sleep(system.settings.api_key_cache_seconds + 0.5)
    refused = await api.get("/api/v1/roles", headers=key_bearer(key))
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthenticated"

    listed = await api.get("/api/v1/api-keys", headers=bearer(admin))
    assert listed.json()["items"] == []
    again = await api.delete(f"/api/v1/api-keys/{key_id}", headers=bearer(admin))
    assert again.status_code == 404


async def test_a_key_that_is_no_key_is_401(api):
    for credential in ("vmk_", "vmk_apk_0123456789abcdef01234567_" + "a" * 43):
        response = await api.get("/api/v1/me", headers=key_bearer(credential))
        assert response.status_code == 401, credential
        assert response.json()["code"] == "unauthenticated"


async def test_another_companys_key_is_not_found(api, company, identity_channel, system):
    owner = await register(api, company)
    theirs = await new_key(api, owner)
    other = await new_company(system, identity_channel)
    stranger = await register(api, other)

    response = await api.delete(
        f"/api/v1/api-keys/{theirs['api_key']['id']}", headers=bearer(stranger)
    )

    assert response.status_code == 404, response.text
    assert (await api.get("/api/v1/api-keys", headers=bearer(stranger))).json()["items"] == []
    assert (await api.get("/api/v1/me", headers=key_bearer(theirs["key"]))).status_code == 200


async def test_no_escalation_a_key_manager_cannot_give_a_key_users_manage(api, company):
    admin = await register(api, company)
    keys_role = await make_role(api, admin, "Ключи API", ["api_keys.manage"])
    staff_role = await make_role(api, admin, "Кадры", ["users.manage"])
    delegate = await make_user(api, admin, "keys.keeper", keys_role)

    refused = await create_key(api, delegate, staff_role)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "permission_denied"
    assert (await create_key(api, delegate, "global_admin")).status_code == 403

    # What the delegate holds, they may give.
    allowed = await create_key(api, delegate, keys_role)
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["api_key"]["created_by"] != ""


async def test_a_role_held_by_a_key_cannot_be_deleted_until_the_key_is_revoked(api, company):
    admin = await register(api, company)
    role_id = await make_role(api, admin, "Интеграции", ["numbers.view"])
    key_id = (await new_key(api, admin, role_id))["api_key"]["id"]

    held = await api.delete(f"/api/v1/roles/{role_id}", headers=bearer(admin))
    assert held.status_code == 409, held.text
    assert held.json()["code"] == "not_allowed"

    revoked = await api.delete(f"/api/v1/api-keys/{key_id}", headers=bearer(admin))
    assert revoked.status_code == 204
    assert (await api.delete(f"/api/v1/roles/{role_id}", headers=bearer(admin))).status_code == 204


async def test_bad_name_or_role_is_422_with_the_fields(api, company):
    admin = await register(api, company)

    blank = await create_key(api, admin, name="   ")
    unknown = await create_key(api, admin, "no_such_role", node_id="node_nowhere")

    assert blank.status_code == 422, blank.text
    assert [e["field"] for e in blank.json()["errors"]] == ["name"]
    # a role or node that does not exist: 404 naming the fields (it was 422)
    assert unknown.status_code == 404, unknown.text
    assert {e["field"] for e in unknown.json()["errors"]} == {"role_id", "node_id"}


async def test_managing_keys_needs_api_keys_manage(api, company):
    admin = await register(api, company)
    viewer_role = await make_role(api, admin, "Только ключи нет", ["audit.view"])
    user = await make_user(api, admin, "no.keys", viewer_role)

    assert (await api.get("/api/v1/api-keys", headers=bearer(user))).status_code == 403
    assert (await create_key(api, user)).status_code == 403


async def make_role(api: httpx.AsyncClient, tokens: dict, name: str, permissions: list) -> str:
    response = await api.post(
        "/api/v1/roles", headers=bearer(tokens), json={"name": name, "permissions": permissions}
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def make_user(api: httpx.AsyncClient, tokens: dict, login: str, role_id: str) -> dict:
    """A user with one company-wide role, logged in: their tokens."""
    unique = f"{login}.{time.monotonic_ns() % 10**9}"
    created = await api.post(
        "/api/v1/users",
        headers=bearer(tokens),
        json={
            "login": unique,
            "full_name": "Делегат",
            "email": f"{unique}@test.example",
            "password": PASSWORD,
            "assignments": [{"role_id": role_id}],
        },
    )
    assert created.status_code == 201, created.text
    login_response = await api.post(
        "/api/v1/auth/login", json={"login": unique, "password": PASSWORD}
    )
    assert login_response.status_code == 200, login_response.text
    return login_response.json()
