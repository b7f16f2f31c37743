"""Identity's audit log takes a consumer's batch in one bulk write (`record_all`): the log
it leaves is the one that recording the events one by one leaves. Against the real
MongoDB-protocol server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from services.identity.service.audit import AuditCases
from services.identity.store.audit import AuditStore
from services.kit.events import new_event
from services.kit.mongo import Transactions, connect_mongo
from tests.support.servers import MongoServer, namespace

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(mongo_server: MongoServer) -> AsyncIterator[AsyncMongoClient]:
    client: AsyncMongoClient = connect_mongo(mongo_server.url, app_name="audit-tests")
    yield client
    await client.close()


def audit_log(client: AsyncMongoClient) -> tuple[AuditCases, AsyncCollection]:
    """The audit use cases over a database of their own, and its `audit_events`."""
    db = client.get_database(f"{namespace()}_identity")
    deps = SimpleNamespace(stores=SimpleNamespace(audit=AuditStore(db)))
    return AuditCases(deps, None), db["audit_events"]  # type: ignore[arg-type]


async def test_a_batch_leaves_the_log_that_one_event_at_a_time_leaves(client):
    events = [
        new_event("vm.catalog.number.blocked.v1", {"msisdn": "79990000001"}, source="/s/catalog",
                  company_id="cmp_1", subject="79990000001"),
        new_event("vm.billing.request.denied.v1", {"reason": "no right"}, source="/s/billing",
                  company_id="cmp_1"),
        new_event("vm.identity.company.created.v1", {"name": "Ромашка"}, source="/s/identity"),
        new_event("vm.tickets.ticket.opened.v1", {"title": "SIM"}, source="/s/tickets",
                  company_id="cmp_2"),
    ]  # fmt: skip
    events.append(events[0])  # a repeat keeps one entry
    transactions = Transactions(client)
    one_by_one, one_by_one_log = audit_log(client)
    batched, batched_log = audit_log(client)

    for event in events:
        await transactions.run(lambda session, event=event: one_by_one.record(event, session))
    await transactions.run(lambda session: batched.record_all(events, session))

    expected = await one_by_one_log.find({}).sort("_id").to_list()
    assert len(expected) == 3  # the company-less event is in no company's log
    assert await batched_log.find({}).sort("_id").to_list() == expected
