"""Accounts and money through REST: the operator opens accounts, records payments, feeds
usage and charges monthly fees over gRPC; the company reads its accounts and statement,
transfers money, takes promised payments, changes the settlement method and bill
delivery, moves numbers between accounts, sets spending limits and reads usage; billing's
blocks reach catalog's numbers and leave them again."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from pymongo import AsyncMongoClient

from tests.e2e.conftest import NewCompany, operator_metadata
from tests.e2e.test_catalog_catalogue import a_service, a_tariff, define_service, define_tariff
from tests.e2e.test_catalog_numbers import give_numbers
from tests.e2e.test_identity_flows import bearer, register
from tests.e2e.test_identity_users_roles import create_user, login_as
from tests.support.kit import eventually
from tests.support.system import RunningSystem
from vm.billing.v1 import billing_pb2 as pb
from vm.billing.v1 import billing_pb2_grpc as pb_grpc
from vm.billing.v1 import resources_pb2
from vm.common.v1 import common_pb2

pytestmark = pytest.mark.e2e


def rub(kopecks: int) -> dict:
    return {"amount": kopecks, "currency": "RUB"}


async def billing_operator(system: RunningSystem, call: str, request):
    async with grpc.aio.insecure_channel(system.settings.billing_addr) as channel:
        method = getattr(pb_grpc.BillingOperatorServiceStub(channel), call)
        return await method(request, metadata=operator_metadata(system), timeout=60)


async def billing_knows(system: RunningSystem, company_id: str) -> None:
    async def known() -> bool:
        try:
            await billing_operator(
                system, "GetCompany", pb.GetCompanyRequest(company_id=company_id)
            )
        except grpc.aio.AioRpcError:
            return False
        return True

    # Behind whatever the earlier tests of the module queued for billing: give it time.
    await eventually(known, timeout=90, interval=0.2, what="billing knows the company")


async def open_account(
    system: RunningSystem, company_id: str, method: str = "advance", credit_limit: int = 0
) -> str:
    await billing_knows(system, company_id)
    response = await billing_operator(
        system,
        "OpenCompanyAccount",
        pb.OpenCompanyAccountRequest(
            company_id=company_id,
            settlement_method=(
                resources_pb2.SETTLEMENT_METHOD_CREDIT
                if method == "credit"
                else resources_pb2.SETTLEMENT_METHOD_ADVANCE
            ),
            credit_limit=common_pb2.Money(amount=credit_limit, currency="RUB"),
        ),
    )
    return response.account.id


async def pay(system: RunningSystem, company_id: str, account_id: str, amount: int) -> None:
    await billing_operator(
        system,
        "RecordPayment",
        pb.RecordPaymentRequest(
            payment_id=f"bank-{uuid.uuid4().hex}",
            company_id=company_id,
            account_id=account_id,
            amount=common_pb2.Money(amount=amount, currency="RUB"),
        ),
    )


async def feed_usage(
    system: RunningSystem, records: list[pb.UsageRecord]
) -> pb.IngestUsageResponse:
    async def stream():
        for start in range(0, len(records), 100):
            yield pb.IngestUsageRequest(records=records[start : start + 100])

    async with grpc.aio.insecure_channel(system.settings.billing_addr) as channel:
        return await pb_grpc.BillingOperatorServiceStub(channel).IngestUsage(
            stream(), metadata=operator_metadata(system), timeout=60
        )


def usage_record(
    msisdn: str, kind: str, kopecks: int, at: datetime | None = None
) -> pb.UsageRecord:
    stamp = Timestamp()
    stamp.FromDatetime(at or datetime.now(UTC))
    return pb.UsageRecord(
        record_id=uuid.uuid4().hex,
        msisdn=msisdn,
        kind=kind,
        charge=common_pb2.Money(amount=kopecks, currency="RUB"),
        quantity=10,
        at=stamp,
    )


async def billed_numbers(
    system: RunningSystem, company_id: str, count: int, tariff_id: str | None = None
) -> list[str]:
    """Fresh numbers of the company, once billing has them on an account."""
    msisdns = await give_numbers(system, company_id, [""] * count, tariff_id)

    async def on_an_account() -> bool:
        records = [usage_record(m, "sms", 0) for m in msisdns]
        answer = await feed_usage(system, records)
        return answer.rejected == 0

    await eventually(on_an_account, timeout=30, interval=0.3, what="numbers on an account")
    return msisdns


async def number_card(api: httpx.AsyncClient, headers, msisdn: str) -> dict:
    response = await api.get(f"/api/v1/numbers/{msisdn}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def blocks_of(api, headers, msisdn: str) -> set[str]:
    return {b["type"] for b in (await number_card(api, headers, msisdn))["blocks"]}


@pytest.fixture
async def admin(api, company) -> dict[str, str]:
    return bearer(await register(api, company))


@pytest.fixture
async def accounts(system, company: NewCompany) -> dict[str, str]:
    """An advance account with 1,000 ₽ and a credit account (limit 500 ₽)."""
    advance = await open_account(system, company.id)
    credit = await open_account(system, company.id, "credit", 50_000)
    await pay(system, company.id, advance, 100_000)
    return {"advance": advance, "credit": credit}


# ---------------------------------------------------------------- accounts


async def test_the_company_lists_and_reads_its_accounts(api, admin, accounts, system, company):
    listed = await api.get("/api/v1/accounts", headers=admin)
    assert listed.status_code == 200, listed.text
    by_id = {a["id"]: a for a in listed.json()["items"]}
    advance, credit = by_id[accounts["advance"]], by_id[accounts["credit"]]
    assert advance["balance"] == rub(100_000) and advance["available"] == rub(100_000)
    assert advance["settlement_method"] == "advance"
    assert credit["available"] == rub(50_000) and credit["credit_limit"] == rub(50_000)
    assert advance["bill_delivery"]["method"] == "email"
    one = await api.get(f"/api/v1/accounts/{accounts['advance']}", headers=admin)
    assert one.json() == advance

    opened = await api.post("/api/v1/accounts", headers=admin, json={"name": "Филиал Тула"})
    assert opened.status_code == 201, opened.text
    assert opened.json()["balance"] == rub(0) and opened.json()["name"] == "Филиал Тула"


async def test_another_companys_accounts_are_not_found(api, accounts, other_company):
    other = bearer(await register(api, other_company))
    for path in (
        f"/api/v1/accounts/{accounts['advance']}",
        f"/api/v1/accounts/{accounts['advance']}/entries",
    ):
        response = await api.get(path, headers=other)
        assert response.status_code == 404, response.text
    moved = await api.post(
        "/api/v1/transfers",
        headers={**other, "Idempotency-Key": "x"},
        json={
            "from_account_id": accounts["advance"],
            "to_account_id": accounts["credit"],
            "amount": rub(100),
        },
    )
    assert moved.status_code == 404, moved.text


async def test_finance_permissions_decide_who_reads_and_moves_money(api, admin, accounts):
    viewer = await create_user(api, admin, roles=["viewer"])
    accountant = await create_user(api, admin, roles=["accountant"])
    assert (
        await api.get("/api/v1/accounts", headers=await login_as(api, viewer["login"]))
    ).status_code == 200
    telecom = await create_user(api, admin, roles=["telecom_admin"])
    refused = await api.get("/api/v1/accounts", headers=await login_as(api, telecom["login"]))
    assert refused.status_code == 403
    headers = await login_as(api, accountant["login"])
    moved = await api.post(
        "/api/v1/transfers",
        headers={**headers, "Idempotency-Key": secrets.token_hex(4)},
        json={
            "from_account_id": accounts["advance"],
            "to_account_id": accounts["credit"],
            "amount": rub(100),
        },
    )
    assert moved.status_code == 201, moved.text


# ---------------------------------------------------------------- transfers


async def transfer(api, headers, key: str | None, body: dict) -> httpx.Response:
    extra = {"Idempotency-Key": key} if key is not None else {}
    return await api.post("/api/v1/transfers", headers={**headers, **extra}, json=body)


async def test_a_transfer_with_its_key_happens_once(api, admin, accounts):
    body = {
        "from_account_id": accounts["advance"],
        "to_account_id": accounts["credit"],
        "amount": rub(30_000),
    }
    first = await transfer(api, admin, "t-1", body)
    again = await transfer(api, admin, "t-1", body)
    other_body = await transfer(api, admin, "t-1", {**body, "amount": rub(1)})
    assert first.status_code == 201, first.text
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert other_body.status_code == 409 and other_body.json()["code"] == "idempotency_key_reused"
    donor = (await api.get(f"/api/v1/accounts/{accounts['advance']}", headers=admin)).json()
    assert donor["balance"] == rub(70_000)
    listed = await api.get("/api/v1/transfers", headers=admin)
    assert [t["id"] for t in listed.json()["items"]] == [first.json()["id"]]
    statement = await api.get(f"/api/v1/accounts/{accounts['advance']}/entries", headers=admin)
    kinds = [
        (e["kind"], e["amount"]["amount"], e["balance_after"]["amount"])
        for e in statement.json()["items"]
    ]
    assert kinds == [("payment", 100_000, 100_000), ("transfer", -30_000, 70_000)]


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (rub(0), "validation_failed"),
        (rub(-100), "validation_failed"),
        ({"amount": 10.5, "currency": "RUB"}, "validation_failed"),
        ({"amount": "100", "currency": "RUB"}, "validation_failed"),
        (rub(10**14), "validation_failed"),
        ({"amount": 100, "currency": "USD"}, "validation_failed"),
        (rub(100_001), "insufficient_funds"),
    ],
)
async def test_bad_transfers_are_refused_and_change_nothing(api, admin, accounts, amount, code):
    response = await transfer(
        api,
        admin,
        secrets.token_hex(4),
        {
            "from_account_id": accounts["advance"],
            "to_account_id": accounts["credit"],
            "amount": amount,
        },
    )
    assert response.json()["code"] == code, response.text
    assert response.status_code == (409 if code == "insufficient_funds" else 422)
    donor = (await api.get(f"/api/v1/accounts/{accounts['advance']}", headers=admin)).json()
    assert donor["balance"] == rub(100_000)


async def test_a_transfer_needs_its_key_two_accounts_and_known_ones(api, admin, accounts):
    body = {
        "from_account_id": accounts["advance"],
        "to_account_id": accounts["credit"],
        "amount": rub(1),
    }
    no_key = await transfer(api, admin, None, body)
    assert no_key.status_code == 422 and no_key.json()["code"] == "validation_failed"
    same = await transfer(api, admin, "s", {**body, "to_account_id": accounts["advance"]})
    # A well-formed request that a business rule refuses: 409 not_allowed with its reason
    # (the fuzzer holds schema-valid requests to that: only a malformed one is 422).
    assert same.status_code == 409, same.text
    assert same.json()["code"] == "not_allowed" and same.json()["reason"] == "same_account"
    unknown = await transfer(api, admin, "u", {**body, "to_account_id": "acc_nope"})
    assert unknown.status_code == 404, unknown.text


# ---------------------------------------------------------------- promised payments


async def test_a_promised_payment_on_an_advance_account(api, admin, accounts):
    path = f"/api/v1/accounts/{accounts['advance']}/promised-payments"
    before = await api.get(path, headers=admin)
    assert before.json() == {"items": [], "cap": rub(50_000), "next_page_token": ""}
    too_much = await api.post(
        path, headers={**admin, "Idempotency-Key": "p0"}, json={"amount": rub(50_001)}
    )
    assert too_much.status_code == 409 and too_much.json()["reason"] == "promised_payment_cap"
    taken = await api.post(
        path, headers={**admin, "Idempotency-Key": "p1"}, json={"amount": rub(20_000)}
    )
    assert taken.status_code == 201, taken.text
    assert taken.json()["status"] == "open"
    due = datetime.fromisoformat(taken.json()["due_at"]) - datetime.fromisoformat(
        taken.json()["created_at"]
    )
    assert due == timedelta(days=7)
    second = await api.post(
        path, headers={**admin, "Idempotency-Key": "p2"}, json={"amount": rub(1)}
    )
    assert second.status_code == 409 and second.json()["reason"] == "promised_payment_open"
    on_credit = await api.post(
        f"/api/v1/accounts/{accounts['credit']}/promised-payments",
        headers={**admin, "Idempotency-Key": "p3"},
        json={"amount": rub(1)},
    )
    assert on_credit.status_code == 409 and on_credit.json()["reason"] == "not_advance_account"
    no_key = await api.post(path, headers=admin, json={"amount": rub(1)})
    assert no_key.status_code == 422
    account = (await api.get(f"/api/v1/accounts/{accounts['advance']}", headers=admin)).json()
    assert account["balance"] == rub(120_000)
    after = await api.get(path, headers=admin)
    assert [p["id"] for p in after.json()["items"]] == [taken.json()["id"]]
    assert after.json()["cap"] == rub(0)


# ---------------------------------------------------------------- settlement and delivery


async def test_moving_to_credit_waits_for_the_operator(api, admin, accounts, system, company):
    path = f"/api/v1/accounts/{accounts['advance']}/settlement-method"
    asked = await api.put(
        path, headers=admin, json={"method": "credit", "credit_limit": rub(70_000)}
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["settlement_method"] == "advance"
    pending = asked.json()["pending_settlement_change"]
    assert pending["status"] == "pending" and pending["credit_limit"] == rub(70_000)
    again = await api.put(path, headers=admin, json={"method": "credit", "credit_limit": rub(1)})
    assert again.status_code == 409 and again.json()["reason"] == "request_pending"

    requests = await billing_operator(
        system, "ListSettlementRequests", pb.ListSettlementRequestsRequest(company_id=company.id)
    )
    assert [r.id for r in requests.requests] == [pending["id"]]
    decided = await billing_operator(
        system,
        "DecideSettlementChange",
        pb.DecideSettlementChangeRequest(request_id=pending["id"], approve=True, comment="ok"),
    )
    assert decided.request.status == "approved"
    account = (await api.get(f"/api/v1/accounts/{accounts['advance']}", headers=admin)).json()
    assert account["settlement_method"] == "credit" and account["available"] == rub(170_000)
    assert account["pending_settlement_change"] is None

    back = await api.put(path, headers=admin, json={"method": "advance"})
    assert back.status_code == 200 and back.json()["settlement_method"] == "advance"
    assert back.json()["available"] == rub(100_000)


async def test_a_refused_request_leaves_the_account_on_advance(api, admin, accounts, system):
    path = f"/api/v1/accounts/{accounts['advance']}/settlement-method"
    asked = await api.put(path, headers=admin, json={"method": "credit", "credit_limit": rub(100)})
    request_id = asked.json()["pending_settlement_change"]["id"]
    await billing_operator(
        system,
        "DecideSettlementChange",
        pb.DecideSettlementChangeRequest(request_id=request_id, approve=False, comment="нет"),
    )
    account = (await api.get(f"/api/v1/accounts/{accounts['advance']}", headers=admin)).json()
    assert (
        account["settlement_method"] == "advance" and account["pending_settlement_change"] is None
    )
    with pytest.raises(grpc.aio.AioRpcError):
        await billing_operator(
            system,
            "DecideSettlementChange",
            pb.DecideSettlementChangeRequest(request_id=request_id, approve=True),
        )


async def test_bill_delivery_by_post_or_email(api, admin, accounts):
    path = f"/api/v1/accounts/{accounts['credit']}/bill-delivery"
    by_post = await api.put(
        path, headers=admin, json={"method": "post", "address": "Москва, ул. Ленина, д. 1"}
    )
    assert by_post.status_code == 200 and by_post.json()["bill_delivery"]["method"] == "post"
    bad = await api.put(path, headers=admin, json={"method": "email", "address": "nope"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "address"


# ---------------------------------------------------------------- numbers, limits, usage


async def test_numbers_are_billed_moved_and_shown_on_the_card(
    api, admin, accounts, system, company
):
    msisdn, other = await billed_numbers(system, company.id, 2)
    card = await number_card(api, admin, msisdn)
    assert card["account"]["id"] == accounts["advance"]  # the company's first account
    assert card["limits"] == []

    moved = await api.put(
        f"/api/v1/numbers/{msisdn}/account", headers=admin, json={"account_id": accounts["credit"]}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["previous_account_id"] == accounts["advance"]
    assert (await number_card(api, admin, msisdn))["account"]["id"] == accounts["credit"]

    fresh = await api.put(
        f"/api/v1/numbers/{other}/account", headers=admin, json={"new_account": {"name": "Новый"}}
    )
    assert fresh.status_code == 200, fresh.text
    assert (
        fresh.json()["account"]["name"] == "Новый" and fresh.json()["account"]["number_count"] == 1
    )

    async def catalog_follows() -> bool:
        card = await number_card(api, admin, msisdn)
        return card["account_id"] == accounts["credit"]

    await eventually(catalog_follows, timeout=20, interval=0.2, what="catalog keeps the account")


async def test_limits_usage_and_a_limit_block(api, admin, accounts, system, company):
    (msisdn,) = await billed_numbers(system, company.id, 1)
    path = f"/api/v1/numbers/{msisdn}/limits"
    bad_kind = await api.put(
        f"{path}/fax", headers=admin, json={"amount": rub(100), "action": "block"}
    )
    assert bad_kind.status_code == 422
    bad_action = await api.put(
        f"{path}/data", headers=admin, json={"amount": rub(100), "action": "x"}
    )
    assert bad_action.status_code == 422
    notify = await api.put(
        f"{path}/data", headers=admin, json={"amount": rub(10_000), "action": "notify"}
    )
    block = await api.put(
        f"{path}/total", headers=admin, json={"amount": rub(5_000), "action": "block"}
    )
    assert notify.status_code == 200 and block.status_code == 200, block.text

    answer = await feed_usage(
        system,
        [usage_record(msisdn, "calls", 3_000), usage_record(msisdn, "data", 2_500)],
    )
    assert answer.charged == 2
    usage = await api.get(f"/api/v1/numbers/{msisdn}/usage", headers=admin)
    assert usage.status_code == 200, usage.text
    by_kind = {k["kind"]: k["charged"]["amount"] for k in usage.json()["kinds"]}
    assert by_kind["calls"] == 3_000 and by_kind["data"] == 2_500
    assert usage.json()["total"] == rub(5_500)

    async def limit_blocked() -> bool:
        return "limit" in await blocks_of(api, admin, msisdn)

    await eventually(limit_blocked, timeout=20, interval=0.2, what="the limit block")
    limits = {item["kind"]: item for item in (await api.get(path, headers=admin)).json()["items"]}
    assert limits["total"]["reached"] is True and limits["total"]["spent"] == rub(5_500)
    assert limits["data"]["reached"] is False

    removed = await api.delete(f"{path}/total", headers=admin)
    assert removed.status_code == 204

    async def limit_lifted() -> bool:
        return "limit" not in await blocks_of(api, admin, msisdn)

    await eventually(limit_lifted, timeout=20, interval=0.2, what="the limit block lifted")
    again = await api.delete(f"{path}/total", headers=admin)
    assert again.status_code == 409


async def test_the_financial_block_round_trip(api, admin, accounts, system, company):
    (msisdn,) = await billed_numbers(system, company.id, 1)
    await feed_usage(system, [usage_record(msisdn, "roaming", 100_000)])  # the 1,000 ₽ spent

    async def blocked() -> bool:
        return "financial" in await blocks_of(api, admin, msisdn)

    await eventually(blocked, timeout=20, interval=0.2, what="the financial block")
    account = (await api.get(f"/api/v1/accounts/{accounts['advance']}", headers=admin)).json()
    assert account["blocked"] is True and account["balance"] == rub(0)

    await pay(system, company.id, accounts["advance"], 20_000)

    async def lifted() -> bool:
        return "financial" not in await blocks_of(api, admin, msisdn)

    await eventually(lifted, timeout=20, interval=0.2, what="the block lifted")
    card = await number_card(api, admin, msisdn)
    assert card["status"] == "active" and card["account"]["balance"] == rub(20_000)


async def billing_has(system: RunningSystem, collection: str, criteria: dict) -> bool:
    """Whether billing's copy (of numbers, of prices) has caught up with catalog's events."""
    client = AsyncMongoClient(system.settings.mongo_url, tz_aware=True)
    try:
        found = await client[system.settings.database_name("billing")][collection].find_one(
            criteria
        )
    finally:
        await client.close()
    return found is not None


async def test_monthly_fees_are_charged_once_per_period(api, admin, accounts, system, company):
    tariff = await define_tariff(system, a_tariff(f"tariff_fee_{secrets.token_hex(3)}"))
    service = await define_service(system, a_service(f"svc_fee_{secrets.token_hex(3)}"))
    (msisdn,) = await billed_numbers(system, company.id, 1, tariff.id)
    connected = await api.post(
        f"/api/v1/numbers/{msisdn}/services", headers=admin, json={"service_id": service.id}
    )
    assert connected.status_code == 200, connected.text
    await eventually(
        lambda: billing_has(system, "billing_numbers", {"_id": msisdn, "services": service.id}),
        what="billing knows the service",
    )
    await eventually(
        lambda: billing_has(system, "catalogue_prices", {"_id": service.id}),
        what="billing knows the price",
    )
    period = f"2{secrets.randbelow(1000):03d}-0{secrets.randbelow(9) + 1}"
    charge = pb.ChargeSubscriptionFeesRequest(period=period, company_id=company.id)
    first = await billing_operator(system, "ChargeSubscriptionFees", charge)
    again = await billing_operator(system, "ChargeSubscriptionFees", charge)
    expected = tariff.monthly_fee.amount + service.monthly_price.amount
    assert (first.numbers_charged, first.total.amount) == (1, expected)
    assert (again.numbers_charged, again.numbers_already_charged) == (0, 1)
    statement = await api.get(f"/api/v1/accounts/{accounts['advance']}/entries", headers=admin)
    fees = [e for e in statement.json()["items"] if e["kind"] == "subscription_fee"]
    assert [f["amount"]["amount"] for f in fees] == [-expected]
