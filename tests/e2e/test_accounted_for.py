"""Every change is accounted for, through REST: a number's notes need numbers.manage_notes
and reach the audit log (`vm.catalog.number.notes_changed.v1`, with what changed); every
single-number call is an operation of the journal (`GET /operations`): finished, with its
one result — succeeded, or failed with the refusal's reason."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.test_billing import billing_has, open_account
from tests.e2e.test_catalog_numbers import give_numbers
from tests.e2e.test_identity_audit import audit_until
from tests.e2e.test_identity_flows import bearer, register
from tests.e2e.test_identity_users_roles import create_user, login_as
from tests.support.kit import eventually

pytestmark = pytest.mark.e2e

NOTES_CHANGED = "vm.catalog.number.notes_changed.v1"
Items = list[dict[str, Any]]


@pytest.fixture
async def admin(api, company) -> dict[str, str]:
    return bearer(await register(api, company))


@pytest.fixture
async def msisdn(system, company) -> str:
    (number,) = await give_numbers(system, company.id, [""])
    return number


async def user_with(api, admin: dict[str, str], role: str) -> tuple[dict[str, str], str]:
    user = await create_user(api, admin, roles=[role])
    return await login_as(api, user["login"]), user["id"]


async def operations_until(
    api: httpx.AsyncClient,
    headers: dict[str, str],
    done: Callable[[Items], bool],
    timeout: float = 20.0,
    **params: str,
) -> Items:
    """The journal is fed by events: ask again until `done` holds."""
    deadline = time.monotonic() + timeout
    while True:
        response = await api.get("/api/v1/operations", headers=headers, params=params)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        if done(items):
            return items
        if time.monotonic() > deadline:
            raise AssertionError(f"the journal did not show it in {timeout}s: {items}")
        await asyncio.sleep(0.2)


async def test_a_viewer_may_read_a_number_but_not_write_its_notes(api, admin, msisdn):
    viewer, _ = await user_with(api, admin, "viewer")
    assert (await api.get(f"/api/v1/numbers/{msisdn}", headers=viewer)).status_code == 200
    refused = await api.patch(f"/api/v1/numbers/{msisdn}", headers=viewer, json={"label": "x"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "permission_denied"
    card = (await api.get(f"/api/v1/numbers/{msisdn}", headers=admin)).json()
    assert card["label"] == ""


async def test_a_managers_notes_are_in_the_audit_log_with_what_changed(api, admin, msisdn):
    manager, manager_id = await user_with(api, admin, "department_manager")
    patched = await api.patch(
        f"/api/v1/numbers/{msisdn}",
        headers=manager,
        json={"label": "Водитель", "cost_center": "ЦЗ-7"},
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["label"], patched.json()["cost_center"]) == ("Водитель", "ЦЗ-7")

    entries = await audit_until(
        api,
        admin,
        lambda found: any(e["target"] == msisdn for e in found),
        type=NOTES_CHANGED,
    )
    (entry,) = entries
    assert entry["actor"] == manager_id and entry["result"] == "succeeded"
    assert entry["service"] == "catalog"
    assert "changed=[cost_center, label]" in entry["summary"]
    assert "label=Водитель" in entry["summary"]

    # The same notes again change nothing, and tell nothing.
    again = await api.patch(
        f"/api/v1/numbers/{msisdn}", headers=manager, json={"label": "Водитель"}
    )
    assert again.status_code == 200, again.text
    await asyncio.sleep(1)
    later = await audit_until(api, admin, lambda found: bool(found), type=NOTES_CHANGED)
    assert len(later) == 1


async def test_a_block_of_one_number_is_an_operation_of_the_journal(api, admin, msisdn):
    me = (await api.get("/api/v1/me", headers=admin)).json()["user"]["id"]
    blocked = await api.post(
        f"/api/v1/numbers/{msisdn}/blocks", headers=admin, json={"type": "voluntary"}
    )
    assert blocked.status_code == 200, blocked.text

    def the_block(items: Items) -> bool:
        return any(op["type"] == "block" for op in items)

    items = await operations_until(api, admin, the_block)
    op = next(op for op in items if op["type"] == "block")
    assert op["status"] == "succeeded" and op["single"] is True
    assert (op["total"], op["done"], op["failed"], op["progress"]) == (1, 1, 0, 100)
    assert op["created_by"] == me and op["title"] == "Установка блокировки"
    assert op["created_at"] and op["finished_at"]

    got = await api.get(f"/api/v1/operations/{op['id']}", headers=admin)
    assert got.status_code == 200, got.text
    assert got.json()["id"] == op["id"]
    results = await api.get(f"/api/v1/operations/{op['id']}/results", headers=admin)
    assert results.status_code == 200, results.text
    (result,) = results.json()["items"]
    assert (result["msisdn"], result["status"], result["code"]) == (msisdn, "succeeded", "changed")
    cancel = await api.post(f"/api/v1/operations/{op['id']}/cancel", headers=admin)
    assert cancel.status_code == 409, cancel.text

    # The same block again is refused (409): a failed operation with the reason.
    again = await api.post(
        f"/api/v1/numbers/{msisdn}/blocks", headers=admin, json={"type": "voluntary"}
    )
    assert again.status_code == 409, again.text
    failed = await operations_until(
        api, admin, lambda found: any(o["type"] == "block" for o in found), status="failed"
    )
    (refusal,) = failed
    assert (refusal["done"], refusal["failed"]) == (1, 1)
    results = await api.get(f"/api/v1/operations/{refusal['id']}/results", headers=admin)
    (result,) = results.json()["items"]
    assert (result["status"], result["code"]) == ("failed", "already_blocked")


async def test_a_limit_set_on_one_number_is_an_operation_of_the_journal(
    api, admin, system, company
):
    # A number billed to an account: limits are billing's, once it knows the number.
    await open_account(system, company.id)
    (msisdn,) = await give_numbers(system, company.id, [""])
    await eventually(
        lambda: billing_has(system, "billing_numbers", {"_id": msisdn}),
        what="billing has the number",
    )
    put = await api.put(
        f"/api/v1/numbers/{msisdn}/limits/total",
        headers=admin,
        json={"amount": {"amount": 100_000, "currency": "RUB"}, "action": "notify"},
    )
    assert put.status_code == 200, put.text
    items = await operations_until(
        api, admin, lambda found: any(o["type"] == "set_limit" for o in found)
    )
    op = next(o for o in items if o["type"] == "set_limit")
    assert op["status"] == "succeeded" and op["single"] is True and op["total"] == 1
