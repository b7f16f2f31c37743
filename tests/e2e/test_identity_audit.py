"""The audit log through REST: every change and every refused request of the company,
collected from the events, with who, what, on what, when, and the filters."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.conftest import new_company
from tests.e2e.test_identity_flows import bearer, register
from tests.e2e.test_identity_users_roles import create_user, login_as

pytestmark = pytest.mark.e2e

AUDIT = "/api/v1/audit-events"
USER_CREATED = "vm.identity.user.created.v1"
ROLE_CREATED = "vm.identity.role.created.v1"
DENIED = "vm.identity.request.denied.v1"
CREATE_USER_METHOD = "/vm.identity.v1.UserService/CreateUser"

Entries = list[dict]


async def audit(api: httpx.AsyncClient, headers: dict[str, str], **params: str) -> Entries:
    """Every entry the filters select, through all the pages."""
    entries: Entries = []
    token = ""
    while True:
        response = await api.get(AUDIT, headers=headers, params={**params, "page_token": token})
        assert response.status_code == 200, response.text
        entries += response.json()["items"]
        token = response.json()["next_page_token"]
        if not token:
            return entries


async def audit_until(
    api: httpx.AsyncClient,
    headers: dict[str, str],
    done: Callable[[Entries], bool],
    timeout: float = 20.0,
    **params: str,
) -> Entries:
    """Events reach the log asynchronously: ask again until `done` holds."""
    deadline = time.monotonic() + timeout
    while True:
        entries = await audit(api, headers, **params)
        if done(entries):
            return entries
        if time.monotonic() > deadline:
            raise AssertionError(f"the audit log did not show it in {timeout}s: {entries}")
        await asyncio.sleep(0.2)


def having(**fields: str) -> Callable[[Entries], bool]:
    return lambda entries: any(all(e[k] == v for k, v in fields.items()) for e in entries)


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def admin_of(api: httpx.AsyncClient, company) -> tuple[dict[str, str], str]:
    headers = bearer(await register(api, company))
    me = (await api.get("/api/v1/me", headers=headers)).json()
    return headers, me["user"]["id"]


@pytest.fixture
async def story(api, company) -> dict:
    """The administrator creates a user and a role; a viewer tries to create a user."""
    started = datetime.now(UTC)
    admin, admin_id = await admin_of(api, company)
    user = await create_user(api, admin, roles=["viewer"])
    role = (
        await api.post(
            "/api/v1/roles",
            headers=admin,
            json={"name": f"Связист {secrets.token_hex(3)}", "permissions": ["numbers.view"]},
        )
    ).json()
    viewer = await login_as(api, user["login"])
    refused = await api.post(
        "/api/v1/users",
        headers=viewer,
        json={
            "login": f"x.{secrets.token_hex(3)}",
            "full_name": "Не выйдет",
            "email": "no@x.example",
            "password": "Staff-passw0rd",
        },
    )
    assert refused.status_code == 403, refused.text
    # Events arrive in no particular order: wait for all six of the story.
    entries = await audit_until(
        api,
        admin,
        lambda es: (
            having(type=USER_CREATED, target=user["id"])(es)
            and having(type=USER_CREATED, target=admin_id)(es)
            and having(type=ROLE_CREATED, target=role["id"])(es)
            and having(type=DENIED, actor=user["id"])(es)
            and having(type="vm.identity.company.created.v1")(es)
            and having(type="vm.identity.company.registered.v1")(es)
        ),
    )
    return {
        "admin": admin,
        "admin_id": admin_id,
        "user": user,
        "role": role,
        "viewer": viewer,
        "entries": entries,
        "started": started,
    }


async def test_the_administrators_changes_are_in_the_log_with_actor_type_and_target(story):
    entries = story["entries"]
    user_created = next(e for e in entries if e["target"] == story["user"]["id"])
    role_created = next(e for e in entries if e["target"] == story["role"]["id"])

    for entry, event_type in ((user_created, USER_CREATED), (role_created, ROLE_CREATED)):
        assert entry["type"] == event_type
        assert entry["actor"] == story["admin_id"]
        assert entry["actor_kind"] == "user"
        assert entry["result"] == "succeeded"
        assert entry["service"] == "identity"
        assert story["started"] - timedelta(seconds=5) <= datetime.fromisoformat(entry["at"])
    assert f"login={story['user']['login']}" in user_created["summary"]
    assert "Staff-passw0rd" not in str(entries)


async def test_the_operators_change_is_in_the_log_too(story, company):
    created = next(e for e in story["entries"] if e["type"] == "vm.identity.company.created.v1")
    assert (created["actor"], created["actor_kind"], created["target"]) == (
        "operator",
        "operator",
        company.id,
    )


async def test_a_refused_request_is_a_denied_entry(story):
    [denied] = [e for e in story["entries"] if e["type"] == DENIED]

    assert denied["actor"] == story["user"]["id"]
    assert denied["result"] == "denied"
    assert denied["target"] == CREATE_USER_METHOD
    assert "users.manage" in denied["summary"]


async def test_the_log_is_newest_first(story):
    moments = [datetime.fromisoformat(e["at"]) for e in story["entries"]]

    assert moments == sorted(moments, reverse=True)


async def test_pages_walk_the_whole_log_without_repeats(api, story):
    admin = story["admin"]
    # Entries the story caused but did not wait for (the other services' answers to the new
    # company) may still be arriving; compare the pages with one read of the whole log taken
    # on each side of the walk, once the two agree.
    deadline = time.monotonic() + 20.0
    while True:
        before = [e["id"] for e in await audit(api, admin, page_size="100")]
        paged = [e["id"] for e in await audit(api, admin, page_size="2")]
        after = [e["id"] for e in await audit(api, admin, page_size="100")]
        if before == after or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)

    assert before == after, "the log kept changing for 20 s"
    assert paged == before
    assert len(set(paged)) == len(paged) >= len(story["entries"])


async def test_filter_by_type(api, story):
    entries = await audit(api, story["admin"], type=ROLE_CREATED)

    assert [e["target"] for e in entries] == [story["role"]["id"]]


async def test_filter_by_actor(api, story):
    by_viewer = await audit(api, story["admin"], actor=story["user"]["id"])
    by_admin = await audit(api, story["admin"], actor=story["admin_id"])

    assert [e["type"] for e in by_viewer] == [DENIED]
    assert {USER_CREATED, ROLE_CREATED} <= {e["type"] for e in by_admin}
    assert all(e["actor"] == story["admin_id"] for e in by_admin)


async def test_filter_by_time_window_from_inclusive_to_exclusive(api, story):
    entries = story["entries"]
    newest = datetime.fromisoformat(entries[0]["at"])
    oldest = datetime.fromisoformat(entries[-1]["at"])
    ms = timedelta(milliseconds=1)
    admin = story["admin"]

    async def ids(**window: datetime) -> list[str]:
        params = {name.rstrip("_"): rfc3339(moment) for name, moment in window.items()}
        return [e["id"] for e in await audit(api, admin, **params)]

    assert await ids(from_=oldest, to=newest + ms) == [e["id"] for e in entries]
    assert await ids(from_=newest) == [entries[0]["id"]]
    assert entries[0]["id"] not in await ids(from_=oldest, to=newest)
    assert await ids(to=oldest + ms) == [entries[-1]["id"]]
    assert await ids(to=oldest) == []
    assert await ids(from_=newest + ms) == []
    # `from` after `to` is an empty window (no events), not a malformed request: it was
    # 422, which a REST client cannot tell from a bad time.
    assert await ids(from_=newest, to=oldest) == []


@pytest.mark.parametrize(
    "params",
    [
        {"from": "yesterday"},
        {"to": "2025-13-01T00:00:00Z"},
        {"from": "2025-03-01T00:00:00"},  # no offset: not RFC 3339
    ],
    ids=["words", "no_such_month", "no_offset"],
)
async def test_a_bad_time_window_is_422(api, company, params):
    admin, _ = await admin_of(api, company)

    response = await api.get(AUDIT, headers=admin, params=params)

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_failed"
    assert response.json()["errors"]


async def test_another_companys_administrator_sees_none_of_it(api, story, system, identity_channel):
    other, _ = await admin_of(api, await new_company(system, identity_channel))

    theirs = await audit(api, other)
    ours = {e["id"] for e in story["entries"]}

    assert not ours & {e["id"] for e in theirs}
    assert await audit(api, other, actor=story["admin_id"]) == []


async def test_a_user_without_audit_view_is_refused(api, story):
    accountant = await create_user(api, story["admin"], roles=["accountant"])
    headers = await login_as(api, accountant["login"])

    response = await api.get(AUDIT, headers=headers)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
