"""Documents' generated files and journal against the real MongoDB-protocol server:
files round-trip through GridFS for their own company only, a write that died midway is
discarded, and the journal keeps the newest state of an operation whatever the order of
its updates, with each target's result in the order of the request."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.documents.service.journal import JournalCases
from services.documents.store.files import CHUNK_BYTES, GeneratedFiles
from services.documents.store.journal import JournalStore
from services.kit.errors import NotFound
from services.kit.mongo import connect_mongo
from tests.support.servers import MongoServer, namespace
from vm.common.v1 import common_pb2

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(mongo_server: MongoServer) -> AsyncIterator[AsyncDatabase]:
    client: AsyncMongoClient = connect_mongo(mongo_server.url, app_name="documents-tests")
    database = client.get_database(f"{namespace()}_documents")
    yield database
    await client.drop_database(database.name)
    await client.close()


async def test_a_file_round_trips_for_its_company_only(db):
    files = GeneratedFiles(db)
    await files.ensure_indexes()
    content = bytes(range(256)) * (CHUNK_BYTES // 100)  # several chunks
    stored = await files.put(
        "f1", "report.csv", content, company_id="cmp_a", owner="dop_1", content_type="text/csv"
    )
    assert stored.size == len(content)
    assert await files.content("cmp_a", "f1") == content
    with pytest.raises(NotFound):
        await files.content("cmp_b", "f1")


async def test_a_write_that_died_midway_is_discarded(db):
    files = GeneratedFiles(db)
    upload = files.open_upload(
        "f2", "big.xlsx", company_id="cmp_a", owner="dop_2", content_type="application/x"
    )
    for _ in range(4):  # chunks written, the file never closed
        await upload.write(b"x" * CHUNK_BYTES)
    with pytest.raises(NotFound):
        await files.info("cmp_a", "f2")
    await files.discard("f2")
    assert await db["files.chunks"].count_documents({"files_id": "f2"}) == 0


def _op(status: int, done: int, service: str = "documents") -> common_pb2.Operation:
    return common_pb2.Operation(
        id="op_1",
        company_id="cmp_a",
        service=service,
        type="report",
        status=status,
        done=done,
        total=3,
    )


def _result(target: str, status: str, seq: int = 0) -> common_pb2.OperationTargetResult:
    return common_pb2.OperationTargetResult(target=target, status=status, seq=seq)


def _updates() -> list[tuple[common_pb2.Operation, list[common_pb2.OperationTargetResult]]]:
    running = common_pb2.OPERATION_STATUS_RUNNING
    return [
        # a decided result arrives before the pending list (out of order)
        (_op(running, 1), [_result("79160000003", "succeeded")]),
        (
            _op(running, 0),
            [
                _result(m, "pending", i)
                for i, m in enumerate(["79160000002", "79160000003", "79160000001"], 1)
            ],
        ),
        (_op(common_pb2.OPERATION_STATUS_SUCCEEDED, 3), [_result("79160000002", "failed")]),
        (_op(running, 2), []),  # late news: ignored
    ]


@pytest.mark.parametrize("as_one_run", [False, True], ids=["one by one", "one run"])
async def test_the_journal_keeps_the_newest_state_and_the_request_order(db, as_one_run):
    journal = JournalStore(db)
    await journal.ensure_indexes()
    cases = JournalCases(journal, catalog=None, access=None)  # type: ignore[arg-type]  # not read

    if as_one_run:  # the consumer's batch: the same effect as one update at a time
        await cases.record(_updates(), None)
    else:
        for update in _updates():
            await cases.record([update], None)

    doc = await journal.get("cmp_a", "op_1")
    assert doc["status"] == "succeeded" and doc["done"] == 3
    rows = await journal.results_page("cmp_a", "op_1", "", None, 10)
    assert [(r.target, r.status) for _, r in rows] == [
        ("79160000002", "failed"),
        ("79160000003", "succeeded"),
        ("79160000001", "pending"),
    ]
    assert await journal.get("cmp_b", "op_1") is None


async def test_the_journal_keeps_no_results_of_an_operation_its_owner_lists(db):
    journal = JournalStore(db)
    await journal.ensure_indexes()
    cases = JournalCases(journal, catalog=None, access=None)  # type: ignore[arg-type]  # not read
    running, cancelled = common_pb2.OPERATION_STATUS_RUNNING, common_pb2.OPERATION_STATUS_CANCELLED
    bulk = [
        (_op(running, 1, "catalog"), [_result("79160000003", "succeeded", 3)]),
        (_op(cancelled, 1, "catalog"), [_result("79160000002", "pending", 2)]),
    ]

    await cases.record(bulk, None)

    doc = await journal.get("cmp_a", "op_1")
    assert doc["service"] == "catalog" and doc["status"] == "cancelled" and doc["done"] == 1
    assert await journal.results_page("cmp_a", "op_1", "", None, 10) == []
