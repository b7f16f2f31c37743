"""Automation rules and people's notifications through REST, against the whole system: a
rule "when a number in Москва reaches its limit, block it and e-mail the accountant" does
both, for the Moscow number only, as an operation of the journal; a person who turned a
kind of notification off is not told, one who did not is; a rule a person may not own is
refused, a bad condition is 422 naming the field."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.test_billing import feed_usage, open_account, pay, rub, usage_record
from tests.e2e.test_catalog_hierarchy import add_node, root_node
from tests.e2e.test_catalog_numbers import give_numbers
from tests.e2e.test_identity_flows import bearer, register
from tests.e2e.test_identity_users_roles import create_user, login_as
from tests.support.kit import eventually
from tests.support.system import RunningSystem

pytestmark = pytest.mark.e2e

RULES = "/api/v1/automation-rules"
WAIT = 60.0  # far above what it takes: a loaded machine must not fail the test


@pytest.fixture
async def admin(api, company) -> dict[str, str]:
    return bearer(await register(api, company))


async def billed(system: RunningSystem, company_id: str, node_ids: list[str]) -> list[str]:
    """Fresh numbers in these nodes, once billing has them on an account."""
    msisdns = await give_numbers(system, company_id, node_ids)

    async def on_an_account() -> bool:
        answer = await feed_usage(system, [usage_record(m, "sms", 0) for m in msisdns])
        return answer.rejected == 0

    await eventually(on_an_account, timeout=WAIT, interval=0.3, what="numbers on an account")
    return msisdns


async def mails_to(api: httpx.AsyncClient, address: str, subject: str) -> list[dict]:
    found = (await api.get("/dev/messages", params={"to": address})).json()["items"]
    return [m for m in found if m["channel"] == "email" and subject in m["subject"]]


async def blocks_of(api, headers, msisdn: str) -> set[str]:
    card = await api.get(f"/api/v1/numbers/{msisdn}", headers=headers)
    return {b["type"] for b in card.json()["blocks"]}


async def test_a_rule_blocks_the_moscow_number_at_its_limit_and_mails_the_accountant(
    system, api, admin, company
):
    root = await root_node(api, admin)
    moscow = (await add_node(api, admin, root, "Москва", "region"))["id"]
    other = (await add_node(api, admin, root, "Казань", "region"))["id"]
    account = await open_account(system, company.id)
    await pay(system, company.id, account, 100_000)
    in_moscow, elsewhere = await billed(system, company.id, [moscow, other])
    accountant = await create_user(api, admin, roles=["accountant"])
    rule = await api.post(
        RULES,
        headers=admin,
        json={
            "name": "Лимит в Москве",
            "trigger": "limit.reached",
            "condition": f'node within "{moscow}"',
            "actions": [
                {"type": "block_numbers", "block_type": "voluntary"},
                {
                    "type": "send_email",
                    "user_ids": [accountant["id"]],
                    "subject": "Номер в Москве заблокирован по лимиту",
                    "text": "Правило заблокировало номер: проверьте расходы.",
                },
            ],
        },
    )
    assert rule.status_code == 201, rule.text
    rule_id = rule.json()["id"]
    assert rule.json()["condition"] == f'node within "{moscow}"'

    for msisdn in (in_moscow, elsewhere):
        limit = await api.put(
            f"/api/v1/numbers/{msisdn}/limits/total",
            headers=admin,
            json={"amount": rub(5_000), "action": "notify"},
        )
        assert limit.status_code == 200, limit.text
    await feed_usage(
        system, [usage_record(in_moscow, "calls", 6_000), usage_record(elsewhere, "calls", 6_000)]
    )

    async def moscow_blocked() -> bool:
        return "voluntary" in await blocks_of(api, admin, in_moscow)

    await eventually(moscow_blocked, timeout=WAIT, interval=0.2, what="the rule's block")

    async def accountant_told() -> bool:
        return bool(await mails_to(api, accountant["email"], "заблокирован по лимиту"))

    await eventually(accountant_told, timeout=WAIT, interval=0.2, what="the rule's e-mail")

    async def both_fired() -> list[dict]:
        runs = (await api.get(f"{RULES}/{rule_id}/runs", headers=admin)).json()["items"]
        return runs if {r["outcome"] for r in runs} == {"ran", "skipped"} else []

    await eventually(both_fired, timeout=WAIT, interval=0.2, what="a run and a skip")
    runs = {r["outcome"]: r for r in await both_fired()}
    assert runs["ran"]["status"] == "succeeded" and runs["ran"]["operation_id"]
    assert "voluntary" not in await blocks_of(api, admin, elsewhere)
    operation_id = runs["ran"]["operation_id"]

    async def in_the_journal() -> bool:
        found = await api.get(f"/api/v1/operations/{operation_id}", headers=admin)
        return found.status_code == 200

    await eventually(in_the_journal, timeout=WAIT, interval=0.2, what="the run in the journal")
    operation = (await api.get(f"/api/v1/operations/{operation_id}", headers=admin)).json()
    assert operation["type"] == "automation_rule" and operation["status"] == "succeeded"
    assert "Лимит в Москве" in operation["title"]
    results = await api.get(f"/api/v1/operations/{operation_id}/results", headers=admin)
    targets = {r["target"]: r["status"] for r in results.json()["items"]}
    assert targets[in_moscow] == "succeeded"
    assert targets[f"email:{accountant['email']}"] == "succeeded"


async def test_a_person_who_turned_a_kind_off_is_not_told_and_others_are(
    system, api, admin, company
):
    account = await open_account(system, company.id)
    await pay(system, company.id, account, 100_000)
    root = await root_node(api, admin)
    (msisdn,) = await billed(system, company.id, [root])
    accountant = await create_user(api, admin, roles=["accountant"])
    quiet = await create_user(api, admin, roles=["accountant"])
    quiet_headers = await login_as(api, quiet["login"])
    off = await api.put(
        "/api/v1/me/notifications",
        headers=quiet_headers,
        json={"choices": [{"kind": "limit_reached", "email": False, "sms": False}]},
    )
    assert off.status_code == 200, off.text
    limit = await api.put(
        f"/api/v1/numbers/{msisdn}/limits/total",
        headers=admin,
        json={"amount": rub(5_000), "action": "notify"},
    )
    assert limit.status_code == 200, limit.text

    await feed_usage(system, [usage_record(msisdn, "calls", 6_000)])

    async def accountant_told() -> bool:
        return bool(await mails_to(api, accountant["email"], "достигнут лимит расходов"))

    await eventually(accountant_told, timeout=WAIT, interval=0.2, what="the limit notice")
    # Both notices of the event are made in the same pass: the quiet one would be there.
    assert await mails_to(api, quiet["email"], "достигнут лимит расходов") == []


async def test_rules_are_checked_before_they_are_saved(api, admin, company):
    viewer = await create_user(api, admin, roles=["viewer"])
    viewer_headers = await login_as(api, viewer["login"])
    body = {
        "name": "Блокировать при лимите",
        "trigger": "limit.reached",
        "actions": [{"type": "block_numbers", "block_type": "voluntary"}],
    }

    refused = await api.post(RULES, headers=viewer_headers, json=body)
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    bad = await api.post(RULES, headers=admin, json={**body, "condition": "spent >= "})
    assert bad.status_code == 422, bad.text
    assert "condition" in [e["field"] for e in bad.json()["errors"]]
    unknown = await api.post(RULES, headers=admin, json={**body, "trigger": "number.exploded"})
    assert unknown.status_code == 422
    made = await api.post(RULES, headers=admin, json=body)
    assert made.status_code == 201, made.text
    rule_id = made.json()["id"]
    off = await api.patch(f"{RULES}/{rule_id}", headers=admin, json={"enabled": False})
    assert off.status_code == 200 and off.json()["enabled"] is False
    listed = (await api.get(RULES, headers=admin)).json()["items"]
    assert [r["id"] for r in listed] == [rule_id]
    assert (await api.delete(f"{RULES}/{rule_id}", headers=admin)).status_code == 204
    assert (await api.get(f"{RULES}/{rule_id}", headers=admin)).status_code == 404
