"""Bulk operations and SMS through REST: an operation at once (202), run by the bulk worker
process, with progress and a result per number; a subtree or a list; dry runs change
nothing; a number the network refuses fails alone and stays as it was; scheduled ones are
cancellable; idempotency keys; other companies see nothing; a worker killed mid-job is
replaced and every number is changed exactly once. Over gRPC, the deprecated `type` +
`params` still work as the `action` oneof does."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from google.protobuf import struct_pb2

from services.kit.errors import read_remote_error
from services.kit.grpc_client import call_metadata
from tests.e2e.test_billing import billed_numbers, open_account
from tests.e2e.test_catalog_catalogue import a_tariff, define_tariff, unique
from tests.e2e.test_catalog_hierarchy import three_levels
from tests.e2e.test_catalog_number_operations import card
from tests.e2e.test_catalog_numbers import catalog_events, give_number, give_numbers
from tests.e2e.test_identity_flows import bearer, register
from tests.support.kit import eventually
from tests.support.system import PROVISIONING_FAILS, RunningSystem
from vm.catalog.v1 import bulk_operations_pb2 as pb
from vm.catalog.v1 import bulk_operations_pb2_grpc as pb_grpc
from vm.common.v1 import operations_pb2 as ops

pytestmark = pytest.mark.e2e

FINISHED = {"succeeded", "failed", "partially_failed", "cancelled"}
FAILING = PROVISIONING_FAILS[1]


@pytest.fixture
async def admin(api, company) -> dict[str, str]:
    return bearer(await register(api, company))


@pytest.fixture
async def tree(api, admin) -> dict[str, dict]:
    return await three_levels(api, admin)


@pytest.fixture
async def placed(system, company, tree) -> dict[str, list[str]]:
    """Two numbers at the root, three in sales (region → city → sales), two in the city,
    two in the other region."""
    at = {
        "root": "",
        "sales": tree["sales"]["id"],
        "city": tree["city"]["id"],
        "other": tree["other"]["id"],
    }
    given = {}
    for name, count in (("root", 2), ("sales", 3), ("city", 2), ("other", 2)):
        given[name] = await give_numbers(system, company.id, [at[name]] * count)
    return given


async def journal_lists(api, headers, expected: list[str], **filters: str) -> bool:
    """Whether the operations' journal lists exactly these operations (newest first)."""
    response = await api.get("/api/v1/operations", headers=headers, params=filters)
    assert response.status_code == 200, response.text
    return [o["id"] for o in response.json()["items"]] == expected


def key() -> dict[str, str]:
    return {"idempotency-key": secrets.token_hex(12)}


async def start(api, headers, body: dict, path: str = "/api/v1/operations") -> dict:
    response = await api.post(path, headers={**headers, **key()}, json=body)
    assert response.status_code == 202, response.text
    return response.json()


async def finished(api, headers, operation_id: str, timeout: float = 60) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await api.get(f"/api/v1/operations/{operation_id}", headers=headers)
        assert response.status_code == 200, response.text
        op = response.json()
        if op["status"] in FINISHED:
            return op
        assert asyncio.get_running_loop().time() < deadline, op
        await asyncio.sleep(0.1)


async def results(api, headers, op: dict) -> dict[str, dict]:
    found: dict[str, dict] = {}
    token = ""
    while True:
        response = await api.get(
            op["results_url"], headers=headers, params={"page_size": 2, "page_token": token}
        )
        assert response.status_code == 200, response.text
        for item in response.json()["items"]:
            assert item["msisdn"] not in found  # each number once, in pages too
            found[item["msisdn"]] = item
        token = response.json()["next_page_token"]
        if not token:
            return found


async def a_second_tariff(system: RunningSystem) -> str:
    return (await define_tariff(system, a_tariff(unique("t_bulk"), name="Бизнес", settings=[]))).id


def refused(response: httpx.Response, status: int, code: str, reason: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    if reason:
        assert body.get("reason") == reason, body
    return body


# ---------------------------------------------------------------- a subtree, a list


async def test_a_block_over_a_subtree_changes_exactly_its_numbers(system, api, admin, tree, placed):
    op = await start(
        api,
        admin,
        {"type": "block", "node_id": tree["region"]["id"], "params": {"type": "voluntary"}},
    )
    assert op["status"] in ("pending", "running") and op["total"] == 5
    assert op["title"] == "Установка блокировки" and op["results_url"].endswith("/results")

    done = await finished(api, admin, op["id"])
    assert done["status"] == "succeeded"
    assert (done["total"], done["done"], done["failed"], done["progress"]) == (5, 5, 0, 100)
    assert done["started_at"] and done["finished_at"]
    inside = set(placed["sales"]) | set(placed["city"])
    found = await results(api, admin, done)
    assert set(found) == inside
    assert {r["status"] for r in found.values()} == {"succeeded"}
    assert {r["code"] for r in found.values()} == {"changed"}
    for msisdn in inside:
        number = await card(api, admin, msisdn)
        assert number["status"] == "blocked" and [b["type"] for b in number["blocks"]] == [
            "voluntary"
        ]
    for msisdn in placed["root"] + placed["other"]:
        assert (await card(api, admin, msisdn))["status"] == "active"
    blocked = await catalog_events(system, "vm.catalog.number.blocked.v1", inside)
    assert Counter(e.subject for e in blocked) == dict.fromkeys(inside, 1)
    updates = await catalog_events(system, "vm.catalog.operation.updated.v1", {op["id"]})
    assert updates and updates[-1].data["operation"]["status"] == "OPERATION_STATUS_SUCCEEDED"

    # The same block over the same subtree again: every number already is as asked, so each
    # result is `unchanged` (not a failure) and the operation has succeeded; nothing changes.
    # The journal (where GET /operations/{id} and its results come from) says so too.
    for dry_run in (True, False):
        again = await finished(
            api,
            admin,
            (
                await start(
                    api,
                    admin,
                    {
                        "type": "block",
                        "node_id": tree["region"]["id"],
                        "params": {"type": "voluntary"},
                        "dry_run": dry_run,
                    },
                )
            )["id"],
        )
        assert again["status"] == "succeeded", again
        assert (again["done"], again["failed"], again["unchanged"]) == (5, 0, 5), again
        found_again = await results(api, admin, again)
        assert set(found_again) == inside
        assert {r["status"] for r in found_again.values()} == {"unchanged"}
        assert {r["code"] for r in found_again.values()} == {"already_blocked"}
        unchanged_only = await api.get(
            f"/api/v1/operations/{again['id']}/results",
            params={"status": "unchanged"},
            headers=admin,
        )
        assert unchanged_only.status_code == 200, unchanged_only.text
        assert len(unchanged_only.json()["items"]) == 5
    blocked = await catalog_events(system, "vm.catalog.number.blocked.v1", inside)
    assert Counter(e.subject for e in blocked) == dict.fromkeys(inside, 1)
    assert [b["type"] for b in (await card(api, admin, sorted(inside)[0]))["blocks"]] == [
        "voluntary"
    ]


async def test_a_list_in_any_form_with_a_tariff_change_and_the_operations_list(
    system, api, admin, placed
):
    tariff = await a_second_tariff(system)
    targets = placed["root"] + placed["other"][:1]
    spaced = [f"+7 ({m[1:4]}) {m[4:7]}-{m[7:9]}-{m[9:]}" for m in targets]
    op = await start(
        api, admin, {"type": "change_tariff", "msisdns": spaced, "params": {"tariff_id": tariff}}
    )
    done = await finished(api, admin, op["id"])
    assert done["status"] == "succeeded" and done["total"] == 3
    assert list(await results(api, admin, done)) == targets  # in the order of the request
    for msisdn in targets:
        assert (await card(api, admin, msisdn))["tariff"]["id"] == tariff

    # The journal lists operations from their events: a moment behind the operation itself.
    ended = {"type": "change_tariff", "status": "succeeded"}
    await eventually(
        lambda: journal_lists(api, admin, [op["id"]], **ended), what="the journal lists it"
    )
    assert (await api.get("/api/v1/operations", headers=admin)).json()["items"][0]["id"] == op["id"]


async def test_a_dry_run_says_what_would_change_and_changes_nothing(system, api, admin, placed):
    tariff = await a_second_tariff(system)
    targets = placed["sales"]
    before = [await card(api, admin, m) for m in targets]
    op = await start(
        api,
        admin,
        {
            "type": "change_tariff",
            "msisdns": targets,
            "params": {"tariff_id": tariff},
            "dry_run": True,
        },
    )
    done = await finished(api, admin, op["id"])
    assert done["dry_run"] is True and done["status"] == "succeeded"
    found = await results(api, admin, done)
    assert {r["code"] for r in found.values()} == {"would_change"}
    assert all("Бизнес" in r["detail"] for r in found.values())
    assert [await card(api, admin, m) for m in targets] == before
    assert await catalog_events(system, "vm.catalog.number.tariff_changed.v1", set(targets)) == []


async def test_a_network_failure_in_the_middle_fails_that_number_alone(
    system, api, admin, company, placed
):
    tariff = (await card(api, admin, placed["root"][0]))["tariff"]["id"]
    await give_number(system, company.id, FAILING, tariff)
    targets = [placed["root"][0], FAILING, placed["root"][1]]
    before = await card(api, admin, FAILING)
    op = await start(
        api,
        admin,
        {
            "type": "set_forwarding",
            "msisdns": targets,
            "params": {"condition": "busy", "target": "+7 495 123-45-67"},
        },
    )
    done = await finished(api, admin, op["id"])
    assert done["status"] == "partially_failed"
    assert (done["done"], done["failed"]) == (3, 1)
    found = await results(api, admin, done)
    assert found[FAILING]["status"] == "failed"
    assert found[FAILING]["code"] == "provisioning_failed"
    assert await card(api, admin, FAILING) == before  # nothing half-applied
    for msisdn in (placed["root"][0], placed["root"][1]):
        assert found[msisdn]["status"] == "succeeded"
        forwarding = (await card(api, admin, msisdn))["forwarding"]
        assert forwarding == [{"condition": "busy", "target": "74951234567"}]


# ---------------------------------------------------------------- schedule and cancel


async def test_a_scheduled_operation_is_cancelled_before_it_starts(api, admin, placed):
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    op = await start(
        api,
        admin,
        {
            "type": "block",
            "msisdns": placed["other"],
            "params": {"type": "voluntary"},
            "scheduled_at": later,
        },
    )
    assert op["status"] == "pending" and op["scheduled_at"]
    await asyncio.sleep(1.5)  # the workers' sweepers leave it alone: it is not due
    assert (await api.get(f"/api/v1/operations/{op['id']}", headers=admin)).json()[
        "status"
    ] == "pending"

    cancelled = await api.post(f"/api/v1/operations/{op['id']}/cancel", headers=admin)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["finished_at"]
    for msisdn in placed["other"]:
        assert (await card(api, admin, msisdn))["status"] == "active"
    again = await api.post(f"/api/v1/operations/{op['id']}/cancel", headers=admin)
    refused(again, 409, "not_allowed", "operation_finished")


async def test_a_moment_already_past_runs_at_once(api, admin, placed):
    earlier = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    op = await start(
        api,
        admin,
        {
            "type": "block",
            "msisdns": placed["other"][:1],
            "params": {"type": "lost_stolen"},
            "scheduled_at": earlier,
        },
    )
    assert (await finished(api, admin, op["id"]))["status"] == "succeeded"


# ---------------------------------------------------------------- idempotency and isolation


async def test_the_same_key_gives_the_same_operation(api, admin, placed):
    body = {"type": "block", "msisdns": placed["root"], "params": {"type": "voluntary"}}
    headers = {**admin, **key()}
    first = await api.post("/api/v1/operations", headers=headers, json=body)
    repeat = await api.post("/api/v1/operations", headers=headers, json=body)
    assert first.status_code == repeat.status_code == 202
    assert first.json()["id"] == repeat.json()["id"]
    other = await api.post(
        "/api/v1/operations", headers=headers, json={**body, "params": {"type": "lost_stolen"}}
    )
    refused(other, 409, "idempotency_key_reused")
    await finished(api, admin, first.json()["id"])
    await eventually(lambda: journal_lists(api, admin, [first.json()["id"]]), what="listed once")


async def test_another_companys_numbers_and_operations_are_not_found(
    api, admin, placed, other_company
):
    stranger = bearer(await register(api, other_company))
    body = {"type": "block", "msisdns": placed["root"], "params": {"type": "voluntary"}}
    refused(
        await api.post("/api/v1/operations", headers={**stranger, **key()}, json=body),
        404,
        "not_found",
    )
    refused(
        await api.post(
            "/api/v1/sms",
            headers={**stranger, **key()},
            json={"msisdns": placed["root"], "text": "Привет"},
        ),
        404,
        "not_found",
    )
    op = await start(api, admin, body)
    for method, tail in (("GET", ""), ("GET", "/results"), ("POST", "/cancel")):
        response = await api.request(
            method, f"/api/v1/operations/{op['id']}{tail}", headers=stranger
        )
        refused(response, 404, "not_found")
    assert (await api.get("/api/v1/operations", headers=stranger)).json()["items"] == []
    for msisdn in placed["root"]:
        await finished(api, admin, op["id"])
        assert (await card(api, admin, msisdn))["status"] == "blocked"


async def test_bad_requests_are_refused_with_the_field_and_create_nothing(
    system, api, admin, tree, placed
):
    numbers = placed["root"]
    cases = [
        ({"type": "explode", "msisdns": numbers}, 422, "validation_failed"),
        (
            {"type": "block", "msisdns": numbers, "params": {"type": "bogus"}},
            422,
            "validation_failed",
        ),
        (
            {"type": "block", "msisdns": numbers, "params": {"type": "financial"}},
            409,
            "not_allowed",
        ),
        ({"type": "block", "msisdns": numbers, "params": {}}, 422, "validation_failed"),
        (
            {"type": "block", "msisdns": numbers, "params": {"type": "voluntary", "extra": 1}},
            422,
            "validation_failed",
        ),
        (
            {"type": "block", "msisdns": ["12345"], "params": {"type": "voluntary"}},
            422,
            "validation_failed",
        ),
        (
            {
                "type": "block",
                "msisdns": numbers,
                "node_id": tree["root"]["id"],
                "params": {"type": "voluntary"},
            },
            422,
            "validation_failed",
        ),
        ({"type": "block", "params": {"type": "voluntary"}}, 422, "validation_failed"),
        (
            # a tariff or service that does not exist: 404, as any unknown object (was 422)
            {"type": "change_tariff", "msisdns": numbers, "params": {"tariff_id": "nope"}},
            404,
            "not_found",
        ),
        (
            {"type": "connect_service", "msisdns": numbers, "params": {"service_id": "nope"}},
            404,
            "not_found",
        ),
        (
            {
                "type": "set_limit",
                "msisdns": numbers,
                "params": {"kind": "data", "amount": 10.5, "action": "block"},
            },
            422,
            "validation_failed",
        ),
        (
            {
                "type": "set_forwarding",
                "msisdns": numbers,
                "params": {"condition": "busy", "target": "abc"},
            },
            422,
            "validation_failed",
        ),
        (
            {"type": "move_to_node", "msisdns": numbers, "params": {"node_id": "nod_nope"}},
            404,
            "not_found",
        ),
        (
            {"type": "block", "node_id": "nod_nope", "params": {"type": "voluntary"}},
            404,
            "not_found",
        ),
        (
            {
                "type": "block",
                "msisdns": numbers,
                "params": {"type": "voluntary"},
                "scheduled_at": (datetime.now(UTC) + timedelta(days=400)).isoformat(),
            },
            409,  # well formed, but beyond the 90 days a rule of now allows (was 422)
            "not_allowed",
        ),
    ]
    for body, status, code in cases:
        response = await api.post("/api/v1/operations", headers={**admin, **key()}, json=body)
        refused(response, status, code)
    no_key = await api.post(
        "/api/v1/operations",
        headers=admin,
        json={"type": "block", "msisdns": numbers, "params": {"type": "voluntary"}},
    )
    refused(no_key, 422, "validation_failed")
    refused(
        await api.get("/api/v1/operations", headers=admin, params={"page_size": 10_000}),
        422,
        "validation_failed",
    )
    refused(await api.get("/api/v1/operations/op_nope", headers=admin), 404, "not_found")
    assert (await api.get("/api/v1/operations", headers=admin)).json()["items"] == []
    for msisdn in numbers:
        assert (await card(api, admin, msisdn))["status"] == "active"


def deprecated_request(operation_type: str, params: dict, **fields) -> pb.StartBulkOperationRequest:
    struct = struct_pb2.Struct()
    struct.update(params)
    return pb.StartBulkOperationRequest(type=operation_type, params=struct, **fields)


async def test_over_grpc_the_deprecated_type_and_params_work_as_the_action_does(
    system, admin, placed
):
    """The gateway sends the `action` oneof; a client of the old contract still sends
    `type` and `params` (a Struct), and gets the same operation and the same field errors."""
    numbers = placed["root"]
    metadata = call_metadata(admin["authorization"])
    async with grpc.aio.insecure_channel(system.settings.catalog_addr) as channel:
        stub = pb_grpc.BulkOperationServiceStub(channel)

        async def fields_refused(request: pb.StartBulkOperationRequest) -> set[str]:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await stub.StartBulkOperation(request, metadata=metadata)
            error = read_remote_error(raised.value)
            assert error.code == grpc.StatusCode.INVALID_ARGUMENT, error
            return set(error.fields)

        by_action = await stub.StartBulkOperation(
            pb.StartBulkOperationRequest(
                msisdns=numbers, dry_run=True, block=pb.BlockAction(type="voluntary")
            ),
            metadata=metadata,
        )
        by_type = await stub.StartBulkOperation(
            deprecated_request("block", {"type": " voluntary "}, msisdns=numbers, dry_run=True),
            metadata=metadata,
        )
        for op in (by_action.operation, by_type.operation):
            assert (op.type, op.total, op.dry_run) == ("block", len(numbers), True)

        limit = {"kind": "data", "amount": 0, "action": "block"}
        assert (
            await fields_refused(
                pb.StartBulkOperationRequest(msisdns=numbers, set_limit=pb.SetLimitAction(**limit))
            )
            == await fields_refused(deprecated_request("set_limit", limit, msisdns=numbers))
            == {"params.amount"}
        )
        assert (
            await fields_refused(
                pb.StartBulkOperationRequest(msisdns=numbers, block=pb.BlockAction(type=" "))
            )
            == await fields_refused(deprecated_request("block", {"type": " "}, msisdns=numbers))
            == {"params.type"}
        )
        extra = {"type": "voluntary", "colour": "red"}
        assert await fields_refused(deprecated_request("block", extra, msisdns=numbers)) == {
            "params.colour"
        }
        half = {"kind": "data", "amount": 10.5, "action": "block"}
        assert await fields_refused(deprecated_request("set_limit", half, msisdns=numbers)) == {
            "params.amount"
        }
        assert await fields_refused(deprecated_request("explode", {}, msisdns=numbers)) == {"type"}
        assert await fields_refused(pb.StartBulkOperationRequest(msisdns=numbers)) == {"action"}


# ---------------------------------------------------------------- SMS


async def sms_to(api, msisdn: str) -> list[dict]:
    response = await api.get("/dev/messages", params={"to": msisdn})
    return [m for m in response.json()["items"] if m["channel"] == "sms"]


async def test_sms_to_a_subtree_with_a_delivery_status_per_number(api, admin, tree, placed):
    blocked = placed["sales"][0]
    response = await api.post(
        f"/api/v1/numbers/{blocked}/blocks", headers=admin, json={"type": "voluntary"}
    )
    assert response.status_code == 200, response.text
    text = f"Собрание в 15:00 — {secrets.token_hex(3)}"
    op = await start(api, admin, {"node_id": tree["region"]["id"], "text": text}, "/api/v1/sms")
    assert op["type"] == "sms" and op["title"] == "Отправка SMS"
    done = await finished(api, admin, op["id"])
    assert done["status"] == "partially_failed"
    found = await results(api, admin, done)
    assert found[blocked]["code"] == "number_blocked"
    delivered = (set(placed["sales"]) | set(placed["city"])) - {blocked}
    assert {m for m, r in found.items() if r["code"] == "delivered"} == delivered
    for msisdn in delivered:
        assert [m["text"] for m in await sms_to(api, msisdn)].count(text) == 1
    assert [m["text"] for m in await sms_to(api, blocked)].count(text) == 0
    for msisdn in placed["root"] + placed["other"]:
        assert [m["text"] for m in await sms_to(api, msisdn)].count(text) == 0


async def test_sms_to_a_list_and_its_bad_input(api, admin, placed):
    text = f"Проверка связи {secrets.token_hex(3)}"
    op = await start(api, admin, {"msisdns": placed["other"], "text": text}, "/api/v1/sms")
    assert (await finished(api, admin, op["id"]))["status"] == "succeeded"
    for msisdn in placed["other"]:
        assert [m["text"] for m in await sms_to(api, msisdn)].count(text) == 1
    for body in (
        {"msisdns": placed["other"], "text": "   "},
        {"msisdns": placed["other"], "text": "я" * 671},
    ):
        response = await api.post("/api/v1/sms", headers={**admin, **key()}, json=body)
        refused(response, 422, "validation_failed")


# ---------------------------------------------------------------- a worker that dies


def restart_worker(system: RunningSystem, **env: str) -> None:
    """Kill the bulk worker and start another with these settings (e.g. a slow network)."""
    os.kill(system.processes["catalog-worker"].pid, signal.SIGKILL)
    system.processes.pop("catalog-worker").wait()
    usual = system.env
    system.env = {**usual, **env}
    try:
        system.start_process("catalog-worker", "services.catalog.bulk_worker")
    finally:
        system.env = usual


SLOW_NETWORK = {"VM_PROVISIONING_LATENCY_SECONDS": "0.25", "VM_BULK_BATCH_SIZE": "40"}
# A batch of 20 a second: ten batches, so a cancel sent after the first lands mid-job
# however late the test sees the first batch done.
SLOWER_NETWORK = {"VM_PROVISIONING_LATENCY_SECONDS": "1.0", "VM_BULK_BATCH_SIZE": "20"}


async def wait_done(api, admin, operation_id: str, at_least: int) -> dict:
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        op = (await api.get(f"/api/v1/operations/{operation_id}", headers=admin)).json()
        if op["done"] >= at_least:
            return op
        assert asyncio.get_running_loop().time() < deadline, op
        await asyncio.sleep(0.05)


# Two worker restarts and a slow network: longer than most tests on a loaded machine.
@pytest.mark.timeout(300)
async def test_a_running_operation_is_cancelled_between_batches(
    system: RunningSystem, api, admin, company, tree
):
    msisdns = await give_numbers(system, company.id, [tree["other"]["id"]] * 200)
    restart_worker(system, **SLOWER_NETWORK)
    try:
        op = await start(
            api, admin, {"type": "block", "msisdns": msisdns, "params": {"type": "voluntary"}}
        )
        await wait_done(api, admin, op["id"], 20)
        response = await api.post(f"/api/v1/operations/{op['id']}/cancel", headers=admin)
        assert response.status_code == 200, response.text
        done = await finished(api, admin, op["id"])
    finally:
        restart_worker(system)
    assert done["status"] == "cancelled" and 20 <= done["done"] < 200
    found = await results(api, admin, done)
    changed = {m for m, r in found.items() if r["status"] == "succeeded"}
    assert {r["status"] for r in found.values()} == {"succeeded", "cancelled"}
    assert len(changed) == done["done"]  # what was done stays done, the rest never started
    for msisdn in msisdns[::20]:
        expected = "blocked" if msisdn in changed else "active"
        assert (await card(api, admin, msisdn))["status"] == expected


# Two worker restarts and a slow network: longer than most tests on a loaded machine.
@pytest.mark.timeout(300)
async def test_a_worker_killed_mid_job_is_replaced_and_each_number_changes_once(
    system: RunningSystem, api, admin, company, tree
):
    msisdns = await give_numbers(system, company.id, [tree["other"]["id"]] * 240)
    # A slow network, so that the job is still running when its worker is killed.
    restart_worker(system, **SLOW_NETWORK)
    op = await start(
        api, admin, {"type": "block", "msisdns": msisdns, "params": {"type": "voluntary"}}
    )
    await wait_done(api, admin, op["id"], 40)
    restart_worker(system)  # kill -9 in the middle of the job; a new worker takes over

    done = await finished(api, admin, op["id"], timeout=300)
    assert done["status"] == "succeeded", done
    assert (done["total"], done["done"], done["failed"]) == (240, 240, 0)
    blocked = await catalog_events(system, "vm.catalog.number.blocked.v1", set(msisdns))
    assert Counter(e.subject for e in blocked) == dict.fromkeys(msisdns, 1)


# ---------------------------------------------------------------- billing's types


async def test_limits_and_accounts_in_bulk_go_through_billing(system, api, admin, company):
    advance = await open_account(system, company.id)
    credit = await open_account(system, company.id, "credit", 50_000)
    msisdns = await billed_numbers(system, company.id, 3)

    limit = {"kind": "data", "amount": 10_000, "action": "notify"}
    op = await start(api, admin, {"type": "set_limit", "msisdns": msisdns, "params": limit})
    assert (await finished(api, admin, op["id"]))["status"] == "succeeded"
    for msisdn in msisdns:
        limits = (await api.get(f"/api/v1/numbers/{msisdn}/limits", headers=admin)).json()
        assert [(i["kind"], i["amount"]["amount"]) for i in limits["items"]] == [("data", 10_000)]

    op = await start(
        api, admin, {"type": "remove_limit", "msisdns": msisdns[:2], "params": {"kind": "data"}}
    )
    assert (await finished(api, admin, op["id"]))["status"] == "succeeded"
    remaining = [
        len((await api.get(f"/api/v1/numbers/{m}/limits", headers=admin)).json()["items"])
        for m in msisdns
    ]
    assert remaining == [0, 0, 1]

    op = await start(
        api,
        admin,
        {"type": "move_to_account", "msisdns": msisdns, "params": {"account_id": credit}},
    )
    done = await finished(api, admin, op["id"])
    assert done["status"] == "succeeded"
    assert {r["code"] for r in (await results(api, admin, done)).values()} == {"changed"}
    for msisdn in msisdns:
        card = (await api.get(f"/api/v1/numbers/{msisdn}", headers=admin)).json()
        assert card["account"]["id"] == credit and card["account"]["id"] != advance

    unknown = await api.post(
        "/api/v1/operations",
        headers={**admin, **key()},
        json={"type": "move_to_account", "msisdns": msisdns, "params": {"account_id": "acc_nope"}},
    )
    refused(unknown, 404, "not_found")


async def answers_on_the_wire(channel, services, method: str, request, metadata) -> list:
    """Each service's answer to the same request: its bytes, or its error's (code, reason)."""
    found = []
    for service in services:
        call = channel.unary_unary(f"/{service}/{method}")
        try:
            found.append(await call(request.SerializeToString(), metadata=metadata))
        except grpc.aio.AioRpcError as raised:
            error = read_remote_error(raised)
            found.append((error.code, error.reason))
    return found


async def test_over_grpc_the_deprecated_operations_rpcs_answer_as_the_common_contract(
    system, api, admin, placed
):
    """Catalog and documents serve vm.common.v1.OperationsService; the copies it replaced
    (catalog's BulkOperationService.*Operation*, documents' OperationJournalService) still
    answer the same request with the same bytes, and refuse it with the same error."""
    op = await start(
        api, admin, {"type": "block", "msisdns": placed["root"], "params": {"type": "voluntary"}}
    )
    await finished(api, admin, op["id"])
    metadata = call_metadata(admin["authorization"])
    common = ops.DESCRIPTOR.services_by_name["OperationsService"].full_name
    servers = (
        (system.settings.catalog_addr, "vm.catalog.v1.BulkOperationService"),
        (system.settings.documents_addr, "vm.documents.v1.OperationJournalService"),
    )
    for address, deprecated in servers:
        async with grpc.aio.insecure_channel(address) as channel:
            services = (common, deprecated)
            get = ops.GetOperationRequest(operation_id=op["id"])
            new, old = await answers_on_the_wire(channel, services, "GetOperation", get, metadata)
            assert new == old
            assert ops.GetOperationResponse.FromString(new).operation.id == op["id"]
            page = ops.ListOperationResultsRequest(operation_id=op["id"], page_size=2)
            new, old = await answers_on_the_wire(
                channel, services, "ListOperationResults", page, metadata
            )
            assert new == old
            assert len(ops.ListOperationResultsResponse.FromString(new).results) == 2
            listing = ops.ListOperationsRequest(type="block")
            new, old = await answers_on_the_wire(
                channel, services, "ListOperations", listing, metadata
            )
            assert new == old
            assert op["id"] in {o.id for o in ops.ListOperationsResponse.FromString(new).operations}
            nobodys = ops.GetOperationRequest(operation_id="op_nobodys")
            new, old = await answers_on_the_wire(
                channel, services, "GetOperation", nobodys, metadata
            )
            assert new == old == (grpc.StatusCode.NOT_FOUND, new[1])
            cancel = ops.CancelOperationRequest(operation_id=op["id"])  # it has ended
            new, old = await answers_on_the_wire(
                channel, services, "CancelOperation", cancel, metadata
            )
            assert isinstance(new, tuple) and new == old, (address, new, old)
