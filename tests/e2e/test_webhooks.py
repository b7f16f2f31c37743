"""Webhooks through REST, against the whole system: an endpoint of the company gets its
events signed as the Standard Webhooks specification says (verified here with the
`standardwebhooks` package, as a receiver would), its deliveries are logged with every
attempt and can be sent again, the secret rotates with both signatures valid, and another
company or a user without `webhooks.manage` sees nothing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest
from standardwebhooks import Webhook

from tests.e2e.test_catalog_numbers import give_numbers
from tests.e2e.test_identity_flows import bearer, register
from tests.e2e.test_identity_users_roles import create_user, login_as
from tests.support.webhook_receiver import Receiver, Reply, start_receiver, stop_receiver

pytestmark = pytest.mark.e2e

WEBHOOKS = "/api/v1/webhooks"
# How long a test waits for a delivery: far above what one takes (the bench measures it),
# so that a loaded machine does not fail the test.
DELIVERY_WAIT_SECONDS = 30.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = start_receiver()
    yield started
    stop_receiver(started)


@pytest.fixture
async def admin(api, company) -> dict[str, str]:
    return bearer(await register(api, company))


async def create_endpoint(api, headers, url: str, events: list[str], **extra) -> dict:
    response = await api.post(
        WEBHOOKS, headers=headers, json={"url": url, "event_types": events, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def received(receiver: Receiver, count: int = 1) -> list:
    deadline = time.monotonic() + DELIVERY_WAIT_SECONDS
    while len(receiver.requests) < count:
        assert time.monotonic() < deadline, f"{len(receiver.requests)} of {count} deliveries"
        await asyncio.sleep(0.05)
    return list(receiver.requests)


async def deliveries(api, headers, endpoint_id: str, **params) -> list[dict]:
    response = await api.get(f"{WEBHOOKS}/{endpoint_id}/deliveries", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def delivery_settles(api, headers, endpoint_id: str, delivery_id: str, state: str) -> dict:
    deadline = time.monotonic() + DELIVERY_WAIT_SECONDS
    while True:
        found = {d["id"]: d for d in await deliveries(api, headers, endpoint_id)}
        if found.get(delivery_id, {}).get("state") == state:
            return found[delivery_id]
        assert time.monotonic() < deadline, found.get(delivery_id)
        await asyncio.sleep(0.1)


def verified(secret: str, request) -> dict:
    """The body, once the receiver's check of the signature passed (it raises otherwise)."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    return Webhook(secret).verify(request.body, headers)


async def test_a_blocked_number_reaches_the_endpoint_signed(system, api, admin, company, receiver):
    endpoint = await create_endpoint(
        api, admin, receiver.url("/hooks/vm"), ["number.blocked"], description="CRM"
    )
    secret = endpoint["secret"]
    assert secret.startswith("whsec_")
    (msisdn,) = await give_numbers(system, company.id, [""])

    blocked_at = time.monotonic()
    response = await api.post(
        f"/api/v1/numbers/{msisdn}/blocks", headers=admin, json={"type": "voluntary"}
    )
    assert response.status_code == 200, response.text
    (request,) = await received(receiver)

    print(f"number.blocked delivered {request.arrived - blocked_at:.3f} s after the block")
    body = verified(secret, request)
    assert body["type"] == "number.blocked"
    assert body["data"]["msisdn"] == msisdn and body["data"]["block_type"] == "voluntary"
    assert request.headers["webhook-id"] == f"msg_{body['id']}"
    assert request.path == "/hooks/vm"
    (logged,) = await deliveries(api, admin, endpoint["endpoint"]["id"])
    assert logged["event_type"] == "number.blocked" and logged["message_id"] == f"msg_{body['id']}"
    # The events the endpoint did not ask for are not sent: unblocking sends nothing.
    unblocked = await api.delete(f"/api/v1/numbers/{msisdn}/blocks/voluntary", headers=admin)
    assert unblocked.status_code == 200, unblocked.text
    assert len(await deliveries(api, admin, endpoint["endpoint"]["id"])) == 1


async def test_an_endpoint_is_read_changed_switched_off_and_deleted(api, admin, receiver):
    created = await create_endpoint(api, admin, receiver.url("/a"), ["number.blocked"])
    endpoint_id = created["endpoint"]["id"]

    listed = (await api.get(WEBHOOKS, headers=admin)).json()
    assert [e["id"] for e in listed["items"]] == [endpoint_id]
    assert created["secret"] not in json.dumps(listed)
    assert "secret" not in listed["items"][0]
    changed = await api.patch(
        f"{WEBHOOKS}/{endpoint_id}",
        headers=admin,
        json={"description": "1С", "event_types": ["limit.reached", "number.unblocked"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["description"] == "1С"
    assert sorted(changed.json()["event_types"]) == ["limit.reached", "number.unblocked"]
    off = await api.patch(f"{WEBHOOKS}/{endpoint_id}", headers=admin, json={"enabled": False})
    assert off.json()["enabled"] is False and off.json()["disabled_reason"]
    on = await api.patch(f"{WEBHOOKS}/{endpoint_id}", headers=admin, json={"enabled": True})
    assert on.json()["enabled"] is True and on.json()["disabled_reason"] is None

    deleted = await api.delete(f"{WEBHOOKS}/{endpoint_id}", headers=admin)
    assert deleted.status_code == 204
    gone = await api.get(f"{WEBHOOKS}/{endpoint_id}", headers=admin)
    assert gone.status_code == 404 and gone.json()["code"] == "not_found"


async def test_a_test_event_failing_is_logged_and_sent_again_by_hand(api, admin, receiver):
    created = await create_endpoint(api, admin, receiver.url("/flaky"), ["number.blocked"])
    endpoint_id, secret = created["endpoint"]["id"], created["secret"]
    receiver.scripts["/flaky"] = [Reply(status=500, body=b"down for maintenance")]

    sent = await api.post(f"{WEBHOOKS}/{endpoint_id}/test", headers=admin)
    assert sent.status_code == 202, sent.text
    delivery = sent.json()
    assert delivery["event_type"] == "webhook.test"
    await received(receiver)
    failed_once = await delivery_settles_with_attempts(api, admin, endpoint_id, delivery["id"], 1)
    assert failed_once["state"] == "pending" and failed_once["next_attempt_at"]
    (attempt,) = failed_once["attempts"]
    assert attempt["status_code"] == 500 and attempt["answer"] == "down for maintenance"

    retried = await api.post(
        f"{WEBHOOKS}/{endpoint_id}/deliveries/{delivery['id']}/retry", headers=admin
    )
    assert retried.status_code == 200, retried.text
    done = await delivery_settles(api, admin, endpoint_id, delivery["id"], "succeeded")
    assert [a["status_code"] for a in done["attempts"]] == [500, 200]
    first, second = await received(receiver, 2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert verified(secret, second)["type"] == "webhook.test"
    failed = await deliveries(api, admin, endpoint_id, state="failed")
    assert failed == []


async def delivery_settles_with_attempts(
    api, headers, endpoint_id: str, delivery_id: str, attempts: int
) -> dict:
    deadline = time.monotonic() + DELIVERY_WAIT_SECONDS
    while True:
        found = {d["id"]: d for d in await deliveries(api, headers, endpoint_id)}
        if len(found.get(delivery_id, {}).get("attempts", [])) >= attempts:
            return found[delivery_id]
        assert time.monotonic() < deadline, found.get(delivery_id)
        await asyncio.sleep(0.1)


async def test_a_rotated_secret_and_the_one_before_both_sign_for_a_day(api, admin, receiver):
    created = await create_endpoint(api, admin, receiver.url("/rotating"), ["*"])
    endpoint_id, old_secret = created["endpoint"]["id"], created["secret"]

    rotated = await api.post(f"{WEBHOOKS}/{endpoint_id}/rotate-secret", headers=admin)
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != old_secret
    assert rotated.json()["endpoint"]["previous_secret_valid_until"]
    await api.post(f"{WEBHOOKS}/{endpoint_id}/test", headers=admin)
    (request,) = await received(receiver)

    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verified(new_secret, request)["type"] == "webhook.test"
    assert verified(old_secret, request)["type"] == "webhook.test"


ALL = "event_types"  # `*` with another event: `*` alone means every one


async def test_bad_endpoints_are_refused_by_field(api, admin):
    for body, field in (
        ({"url": "ftp://files.example.ru/in", "event_types": ["number.blocked"]}, "url"),
        ({"url": "https://crm.example.ru/h", "event_types": ["number.exploded"]}, "event_types[0]"),
        ({"url": "https://crm.example.ru/h", "event_types": []}, "event_types"),
        ({"url": "https://user:pw@crm.example.ru/h", "event_types": ["*"]}, "url"),
        (
            {"url": "https://crm.example.ru/h", "event_types": ["*", "number.blocked"]},
            "event_types",
        ),
    ):
        response = await api.post(WEBHOOKS, headers=admin, json=body)
        assert response.status_code == 422, (body, response.text)
        problem = response.json()
        assert problem["code"] == "validation_failed"
        assert field in [e["field"] for e in problem["errors"]], problem


async def test_other_companies_and_users_without_the_permission_see_nothing(
    api, admin, other_company, receiver
):
    created = await create_endpoint(api, admin, receiver.url("/mine"), ["number.blocked"])
    endpoint_id = created["endpoint"]["id"]
    other = bearer(await register(api, other_company))
    viewer = await create_user(api, admin, roles=["viewer"])
    viewer_headers = await login_as(api, viewer["login"])

    assert (await api.get(f"{WEBHOOKS}/{endpoint_id}", headers=other)).status_code == 404
    assert (await api.get(WEBHOOKS, headers=other)).json()["items"] == []
    retried = await api.post(f"{WEBHOOKS}/{endpoint_id}/test", headers=other)
    assert retried.status_code == 404
    for response in (
        await api.get(WEBHOOKS, headers=viewer_headers),
        await api.post(
            WEBHOOKS,
            headers=viewer_headers,
            json={"url": receiver.url("/x"), "event_types": ["*"]},
        ),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "permission_denied"


async def test_each_user_chooses_their_notifications(api, admin, company):
    defaults = await api.get("/api/v1/me/notifications", headers=admin)
    assert defaults.status_code == 200, defaults.text
    choices = {c["kind"]: c for c in defaults.json()["choices"]}
    assert len(choices) == 7
    assert all(c["email"] and not c["sms"] for c in choices.values())

    changed = await api.put(
        "/api/v1/me/notifications",
        headers=admin,
        json={"choices": [{"kind": "limit_reached", "email": False, "sms": True}]},
    )
    assert changed.status_code == 200, changed.text
    again = {
        c["kind"]: c
        for c in (await api.get("/api/v1/me/notifications", headers=admin)).json()["choices"]
    }
    assert again["limit_reached"] == {"kind": "limit_reached", "email": False, "sms": True}
    assert again["file_ready"]["email"] is True
    # Another user of the company has their own choices.
    accountant = await create_user(api, admin, roles=["accountant"])
    theirs = await api.get(
        "/api/v1/me/notifications", headers=await login_as(api, accountant["login"])
    )
    assert {c["kind"]: c for c in theirs.json()["choices"]}["limit_reached"]["email"] is True

    twice = await api.put(
        "/api/v1/me/notifications",
        headers=admin,
        json={
            "choices": [
                {"kind": "file_ready", "email": False, "sms": False},
                {"kind": "file_ready", "email": True, "sms": False},
            ]
        },
    )
    assert twice.status_code == 422 and twice.json()["code"] == "validation_failed"
