"""The tickets' store and files against the real MongoDB-protocol server: the company and
the caller's subtrees are part of every query, keyset pages in both orders stay right,
filters find what they say, a stale write is refused, one ticket per settlement request,
and attached files round-trip through GridFS for their own company only."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.kit.errors import Conflict, NotFound
from services.kit.mongo import Transactions, connect_mongo
from services.tickets.domain.tickets import (
    DUE_FIRST,
    NEWEST_FIRST,
    Actor,
    TicketFilter,
    new_ticket,
)
from services.tickets.domain.workflow import IN_PROGRESS
from services.tickets.store.files import CHUNK_BYTES, AttachmentFiles
from services.tickets.store.tickets import TicketScope, TicketStore
from tests.support.servers import MongoServer, namespace

pytestmark = pytest.mark.integration

A, B = "cmp_a", "cmp_b"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AUTHOR = Actor("customer", "usr_1", "Иванов")
DESK = Actor("operator", "petrova", "Петрова")
NORTH = ("root", "north")
SOUTH = ("root", "south")


def a_ticket(n: int, company: str = A, *, category="technical", paths=(NORTH,), **extra):
    return new_ticket(
        ticket_id=f"tkt_{n:03d}",
        company_id=company,
        category=category,
        subject=f"Обращение {n}",
        text=f"Текст {n}",
        numbers={f"7916100{n:02d}{i:02d}": path for i, path in enumerate(paths)},
        author=AUTHOR,
        now=NOW + timedelta(minutes=n),
        **extra,
    )


@pytest.fixture
async def client(mongo_server: MongoServer) -> AsyncIterator[AsyncMongoClient]:
    opened: AsyncMongoClient = connect_mongo(mongo_server.url, app_name="ticket-store-tests")
    yield opened
    await opened.close()


@pytest.fixture
def db(client) -> AsyncDatabase:
    return client.get_database(f"{namespace()}_tickets")


@pytest.fixture
async def store(db) -> TicketStore:
    made = TicketStore(db)
    await made.ensure_indexes()
    return made


async def insert(client, store: TicketStore, *tickets) -> None:
    async def write(session) -> None:
        for ticket in tickets:
            await store.insert(ticket, session)

    await Transactions(client).run(write)


async def all_pages(store, scope, order, size=3, **filters) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        page = await store.page(
            scope, TicketFilter(**filters), order=order, after=after, limit=size, now=NOW
        )
        seen += [t.id for t in page]
        if len(page) < size:
            return seen
        last = page[-1]
        after = (last.due_at if order == DUE_FIRST else last.created_at, last.id)


async def test_pages_in_both_orders_within_the_company_and_the_subtrees(client, store):
    technical = [a_ticket(n) for n in range(1, 8)]
    contract = [a_ticket(n, category="contract", paths=(SOUTH,)) for n in range(8, 11)]
    across = a_ticket(11, paths=(NORTH, SOUTH))
    general = a_ticket(12, paths=())
    foreign = a_ticket(13, B)
    await insert(client, store, *technical, *contract, across, general, foreign)
    company = TicketScope(A)

    newest = await all_pages(store, company, NEWEST_FIRST)
    assert newest == [f"tkt_{n:03d}" for n in range(12, 0, -1)]
    due = await all_pages(store, company, DUE_FIRST)
    # technical is due in 8 hours, contract in 5 days: all technical ones come first
    assert due[:7] == [f"tkt_{n:03d}" for n in (1, 2, 3, 4, 5, 6, 7)]
    assert set(due) == set(newest)

    north = await all_pages(store, TicketScope(A, frozenset({"north"})), NEWEST_FIRST)
    assert north == [f"tkt_{n:03d}" for n in range(7, 0, -1)]
    root = await all_pages(store, TicketScope(A, frozenset({"root"})), NEWEST_FIRST)
    assert "tkt_011" in root and "tkt_012" not in root  # no number: company-wide only
    assert await store.get(TicketScope(A, frozenset({"north"})), "tkt_011") is None
    assert await store.get(TicketScope(A), "tkt_013") is None
    queue = await all_pages(store, TicketScope.operator(), DUE_FIRST, size=50)
    assert "tkt_013" in queue and len(queue) == 13


async def test_filters_find_what_they_say(client, store):
    await insert(
        client,
        store,
        a_ticket(1),
        a_ticket(2, category="billing"),
        a_ticket(3).moved_to(IN_PROGRESS, DESK, NOW),
    )
    scope = TicketScope(A)
    assert await all_pages(store, scope, NEWEST_FIRST, category="billing") == ["tkt_002"]
    assert await all_pages(store, scope, NEWEST_FIRST, status=IN_PROGRESS) == ["tkt_003"]
    assert await all_pages(store, scope, NEWEST_FIRST, msisdn="79161000100") == ["tkt_001"]
    assert await all_pages(store, scope, NEWEST_FIRST, query="текст 2") == ["tkt_002"]
    assert await all_pages(store, scope, NEWEST_FIRST, query="tkt_003") == ["tkt_003"]
    later = NOW + timedelta(hours=9)
    page = await store.page(
        scope, TicketFilter(overdue=True), order=DUE_FIRST, after=None, limit=10, now=later
    )
    assert [t.id for t in page] == ["tkt_001", "tkt_003"]  # technical, due in 8 hours
    page = await store.page(
        scope, TicketFilter(overdue=False), order=DUE_FIRST, after=None, limit=10, now=later
    )
    assert [t.id for t in page] == ["tkt_002"]


async def test_a_write_on_a_stale_read_is_refused(client, store):
    ticket = a_ticket(1)
    await insert(client, store, ticket)
    transactions = Transactions(client)

    async def save(changed):
        async def write(session):
            return await store.save(changed, session)

        return await transactions.run(write)

    saved = await save(ticket.commented(AUTHOR, "первый", NOW))
    assert saved.version == 1
    with pytest.raises(Conflict):
        await save(ticket.commented(AUTHOR, "второй по старой версии", NOW))
    read = await store.get(TicketScope(A), ticket.id)
    assert [e.text for e in read.history] == ["Текст 1", "первый"]


async def test_one_ticket_per_settlement_request(client, store):
    await insert(client, store, a_ticket(1, paths=(), settlement_request_id="scr_1"))
    with pytest.raises(DuplicateKeyError):
        await insert(client, store, a_ticket(2, paths=(), settlement_request_id="scr_1"))
    await insert(client, store, a_ticket(3), a_ticket(4))  # tickets without a request: many

    async def find(session):
        return await store.by_settlement_request(A, "scr_1", session)

    assert (await Transactions(client).run(find)).id == "tkt_001"


async def test_files_round_trip_through_gridfs_for_their_company_only(db):
    files = AttachmentFiles(db)
    await files.ensure_indexes()
    content = b"%PDF-1.7\n" + secrets.token_bytes(CHUNK_BYTES * 2 + 17)
    await files.put(
        "att_1",
        company_id=A,
        ticket_id="tkt_001",
        filename="акт.pdf",
        content_type="application/pdf",
        content=content,
    )
    chunks = [chunk async for chunk in await files.read(A, "att_1")]
    assert len(chunks) == 3 and b"".join(chunks) == content
    with pytest.raises(NotFound):
        await files.read(B, "att_1")
    await files.delete("att_1")
    with pytest.raises(NotFound):
        await files.read(A, "att_1")
    await files.delete("att_1")  # twice is fine
