"""Every POST that creates something honours `Idempotency-Key` through REST: a repeat with
the same key and body answers the first result and creates nothing more; another body under
the key is 409 `idempotency_key_reused`; without a key each request creates its own."""

from __future__ import annotations

import secrets

import httpx
import pytest

from tests.e2e.test_catalog_hierarchy import root_node
from tests.e2e.test_catalog_numbers import give_numbers
from tests.e2e.test_identity_flows import bearer, register
from tests.e2e.test_identity_users_roles import PASSWORD
from tests.support.system import RunningSystem

pytestmark = pytest.mark.e2e


@pytest.fixture
async def admin(api, company) -> dict[str, str]:
    return bearer(await register(api, company))


def with_key(headers: dict[str, str], key: str) -> dict[str, str | bytes]:
    # latin-1 bytes, as a header carries them: "caf\xe9" is sent as it is
    return {**headers, "idempotency-key": key.encode("latin-1")}


async def post_twice(api: httpx.AsyncClient, headers, path: str, body: dict) -> httpx.Response:
    """The same request twice under one fresh key; both answers must be the same."""
    key = f"retry-{secrets.token_hex(8)}"
    first = await api.post(path, headers=with_key(headers, key), json=body)
    assert first.status_code in (200, 201), first.text
    again = await api.post(path, headers=with_key(headers, key), json=body)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    return first


async def count(api: httpx.AsyncClient, headers, path: str) -> int:
    response = await api.get(path, headers=headers, params={"page_size": 200})
    assert response.status_code == 200, response.text
    return len(response.json()["items"])


@pytest.mark.parametrize(
    ("path", "listed_at", "body"),
    [
        (
            "/api/v1/tickets",
            "/api/v1/tickets",
            {"category": "technical", "subject": "Нет связи", "text": "С утра нет связи"},
        ),
        ("/api/v1/roles", "/api/v1/roles", {"name": "Бухгалтер", "permissions": ["numbers.view"]}),
        (
            "/api/v1/users",
            "/api/v1/users",
            {
                "login": "retry.user",
                "full_name": "Петров Пётр",
                "email": "retry.user@staff.example",
                "password": PASSWORD,
                "assignments": [],
            },
        ),
        ("/api/v1/api-keys", "/api/v1/api-keys", {"name": "1С", "role_id": "viewer"}),
    ],
)
async def test_a_repeated_creation_creates_one(api, admin, path, listed_at, body):
    before = await count(api, admin, listed_at)
    await post_twice(api, admin, path, body)
    assert await count(api, admin, listed_at) == before + 1


async def test_a_repeated_api_key_creation_gives_the_same_key_once(api, admin):
    first = await post_twice(api, admin, "/api/v1/api-keys", {"name": "CRM", "role_id": "viewer"})
    secret = first.json()["key"]
    me = await api.get("/api/v1/me", headers={"authorization": f"Bearer {secret}"})
    assert me.status_code == 200, me.text


async def test_nodes_comments_and_accounts_too(api, admin, system: RunningSystem, company):
    root = await root_node(api, admin)
    node = {"parent_id": root, "name": "Отдел продаж", "kind": "department"}
    created = await post_twice(api, admin, "/api/v1/hierarchy/nodes", node)
    tree = (await api.get("/api/v1/hierarchy", headers=admin)).json()
    assert [n["id"] for n in tree["nodes"] if n["name"] == "Отдел продаж"] == [created.json()["id"]]

    ticket = await post_twice(
        api,
        admin,
        "/api/v1/tickets",
        {"category": "technical", "subject": "Вопрос", "text": "Текст"},
    )
    ticket_path = f"/api/v1/tickets/{ticket.json()['id']}"
    await post_twice(api, admin, f"{ticket_path}/comments", {"text": "Дополнение"})
    history = (await api.get(ticket_path, headers=admin)).json()["history"]
    assert [e["text"] for e in history if e["kind"] == "comment"] == ["Дополнение"]

    before = await count(api, admin, "/api/v1/accounts")
    await post_twice(api, admin, "/api/v1/accounts", {"name": "Филиал Тула"})
    assert await count(api, admin, "/api/v1/accounts") == before + 1


async def test_a_repeated_block_answers_the_first_result_instead_of_refusing(
    api, admin, system: RunningSystem, company
):
    [msisdn] = await give_numbers(system, company.id, [""])
    path = f"/api/v1/numbers/{msisdn}/blocks"
    blocked = await post_twice(api, admin, path, {"type": "voluntary"})
    assert blocked.json()["status"] == "blocked"
    # the same block asked anew (another key) is refused: it is set already
    anew = await api.post(path, headers=with_key(admin, "another"), json={"type": "voluntary"})
    assert anew.status_code == 409, anew.text


async def test_another_body_under_the_same_key_is_refused(api, admin):
    key = with_key(admin, f"k-{secrets.token_hex(4)}")
    body = {"category": "technical", "subject": "Первый", "text": "Текст"}
    first = await api.post("/api/v1/tickets", headers=key, json=body)
    assert first.status_code == 201, first.text
    other = await api.post("/api/v1/tickets", headers=key, json={**body, "subject": "Второй"})
    assert other.status_code == 409, other.text
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["code"] == "idempotency_key_reused"


async def test_without_a_key_each_request_creates_its_own(api, admin):
    body = {"category": "technical", "subject": "Без ключа", "text": "Текст"}
    ids = {(await api.post("/api/v1/tickets", headers=admin, json=body)).json()["id"] for _ in "ab"}
    assert len(ids) == 2


async def test_a_key_is_the_callers_own(api, admin, other_company):
    """Another company sending the same key and body creates its own ticket."""
    other = bearer(await register(api, other_company))
    key = f"shared-{secrets.token_hex(4)}"
    body = {"category": "technical", "subject": "Общий ключ", "text": "Текст"}
    mine = await api.post("/api/v1/tickets", headers=with_key(admin, key), json=body)
    theirs = await api.post("/api/v1/tickets", headers=with_key(other, key), json=body)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


@pytest.mark.parametrize("key", ["", "caf\xe9", "x" * 201])
async def test_a_key_that_is_not_valid_is_422(api, admin, key):
    body = {"category": "technical", "subject": "Ключ", "text": "Текст"}
    response = await api.post("/api/v1/tickets", headers=with_key(admin, key), json=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_failed"
