"""The numbers' store against the real MongoDB-protocol server: the caller's scope is part
of every query, keyset pages stay right while numbers are added, filters find what they
say, and a node's move takes its numbers' paths along."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.catalog.domain.hierarchy import Node
from services.catalog.domain.numbers import (
    BLOCKED,
    ConnectedService,
    NewNumber,
    Number,
    NumberFilter,
    Scope,
    TariffChoice,
    checked_filter,
    luhn_check_digit,
    new_number,
)
from services.catalog.store.numbers import INSERT_CHUNK, FreeNumberStore, NumberStore
from services.kit.errors import Conflict
from services.kit.mongo import Transactions

pytestmark = pytest.mark.integration

A, B = "cmp_a", "cmp_b"
ROOT = Node("root_a", A, None, "Ромашка", "company")
NORTH = Node("north", A, "root_a", "Север", "region", ("root_a",))
CITY = Node("city", A, "north", "Мурманск", "city", ("root_a", "north"))
SOUTH = Node("south", A, "root_a", "Юг", "region", ("root_a",))
ROOT_B = Node("root_b", B, None, "Василёк", "company")
NOW = datetime(2025, 3, 1, tzinfo=UTC)
EVERYTHING = NumberFilter()


def iccid(serial: int) -> str:
    body = f"8970199{serial:012d}"
    return body + luhn_check_digit(body)


def a_number(serial: int, node: Node, **changes) -> Number:
    number = new_number(
        NewNumber(f"7916{serial:07d}", iccid(serial), "basic"),
        company_id=node.company_id,
        node=node,
        tariff=TariffChoice("basic", "Базовый", {"minutes": "500"}),
        added_at=NOW,
    )
    return replace(number, **changes)


@pytest.fixture
async def store(db) -> NumberStore:
    numbers = NumberStore(db)
    await numbers.ensure_indexes()
    return numbers


async def insert(store: NumberStore, transactions: Transactions, numbers: Sequence[Number]):
    async def write(session):
        await store.insert_all(list(numbers), session)

    await transactions.run(write)


async def msisdns(store: NumberStore, scope: Scope, number_filter=EVERYTHING) -> list[str]:
    return [n.msisdn for n in await store.page(scope, number_filter, after=None, limit=500)]


@pytest.fixture
async def world(store, transactions) -> dict[str, Number]:
    """Company A: one number at the root, two in the north (one in its city), one in the
    south; company B: one number."""
    numbers = {
        "root": a_number(1, ROOT),
        "north": a_number(2, NORTH, label="Водитель Петров", status=BLOCKED),
        "city": a_number(3, CITY, cost_center="ЦЗ-014"),
        "south": a_number(
            4,
            SOUTH,
            comment="склад",
            services=(ConnectedService("roaming", "Роуминг", NOW),),
            tariff=TariffChoice("premium", "Премиум"),
        ),
        "other": a_number(5, ROOT_B),
    }
    await insert(store, transactions, numbers.values())
    return numbers


async def test_a_company_wide_caller_sees_its_company_only(store, world):
    seen = await msisdns(store, Scope(A))
    assert seen == sorted(n.msisdn for k, n in world.items() if k != "other")
    assert await store.get(Scope(A), world["other"].msisdn) is None
    assert (await store.get(Scope(B), world["other"].msisdn)).company_id == B


async def test_a_scoped_caller_sees_its_subtrees_and_nothing_else(store, world):
    north = Scope(A, frozenset({"north"}))
    assert await msisdns(store, north) == [world["north"].msisdn, world["city"].msisdn]
    assert await store.get(north, world["south"].msisdn) is None
    assert await store.get(north, world["root"].msisdn) is None  # above the subtree
    assert (await store.get(north, world["city"].msisdn)).node_id == "city"
    two = Scope(A, frozenset({"city", "south"}))
    assert await msisdns(store, two) == [world["city"].msisdn, world["south"].msisdn]
    nowhere = Scope(A, frozenset())
    assert await msisdns(store, nowhere) == []
    everything = [n.msisdn for n in world.values()]
    assert [n.msisdn for n in await store.get_many(north, everything)] == [
        world["north"].msisdn,
        world["city"].msisdn,
    ]


async def test_the_scope_bounds_a_subtree_filter_and_the_notes(store, world):
    city_scope = Scope(A, frozenset({"city"}))
    # asking for a wider subtree than the caller's still shows only the caller's
    assert await msisdns(store, city_scope, NumberFilter(node_id="north")) == [world["city"].msisdn]
    assert await msisdns(store, city_scope, NumberFilter(node_id="south")) == []
    outside = await store.update_notes(city_scope, world["north"].msisdn, {"label": "чужое"})
    assert outside is None
    assert (await store.get(Scope(A), world["north"].msisdn)).label == "Водитель Петров"
    inside = await store.update_notes(city_scope, world["city"].msisdn, {"label": "Своё"})
    assert inside.label == "Своё"
    assert await store.update_notes(Scope(B), world["city"].msisdn, {"label": "x"}) is None


async def test_filters_find_what_they_say(store, world):
    scope = Scope(A)

    async def found(**kwargs) -> set[str]:
        return set(await msisdns(store, scope, checked_filter(**kwargs)))

    assert await found(node_id="north") == {world["north"].msisdn, world["city"].msisdn}
    assert await found(node_id="root_a") == {n.msisdn for k, n in world.items() if k != "other"}
    assert await found(status="blocked") == {world["north"].msisdn}
    assert await found(tariff_id="premium") == {world["south"].msisdn}
    assert await found(service_id="roaming") == {world["south"].msisdn}
    assert await found(query="водитель") == {world["north"].msisdn}  # any case
    assert await found(query="цз-0") == {world["city"].msisdn}
    assert await found(query="СКЛАД") == {world["south"].msisdn}
    assert await found(query="916 000 000 3") == {world["city"].msisdn}  # start of a number
    assert await found(query="0000003") == set()  # the middle of a number is not its start
    assert await found(query="a.*") == set()  # the query is text, not a pattern
    assert await found(query="Петров", status="active") == set()


async def test_keyset_pages_stay_right_while_numbers_are_added(store, transactions):
    # Even serials now; odd ones arrive between pages, before and after the cursor.
    await insert(store, transactions, [a_number(serial, NORTH) for serial in range(0, 60, 2)])
    scope = Scope(A)
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = await store.page(scope, EVERYTHING, after=after, limit=7)
        seen += [n.msisdn for n in page]
        pages += 1
        if pages == 2:
            await insert(store, transactions, [a_number(s, NORTH) for s in range(1, 60, 10)])
        if len(page) < 7:
            break
        after = page[-1].msisdn
    assert len(seen) == len(set(seen)), "a number was listed twice"
    assert seen == sorted(seen)
    originals = {a_number(serial, NORTH).msisdn for serial in range(0, 60, 2)}
    assert originals <= set(seen), "a number was skipped"
    cursor_then = seen[13]  # the last of the second page
    late = {a_number(s, NORTH).msisdn for s in range(1, 60, 10)}
    assert {m for m in late if m > cursor_then} <= set(seen)
    assert not {m for m in late if m < cursor_then} & set(seen)


async def test_numbers_follow_their_nodes_when_the_tree_changes(store, transactions, world):
    # the north region moves under the south one: north's and city's numbers follow
    moved = [
        replace(NORTH, parent_id="south", ancestors=("root_a", "south")),
        replace(CITY, ancestors=("root_a", "south", "north")),
    ]

    async def follow(session):
        return await store.follow_nodes(moved, session)

    assert await transactions.run(follow) == 2
    city = await store.get(Scope(A), world["city"].msisdn)
    assert city.node_path == ("root_a", "south", "north", "city")
    south_scope = Scope(A, frozenset({"south"}))
    assert set(await msisdns(store, south_scope)) == {
        world["north"].msisdn,
        world["city"].msisdn,
        world["south"].msisdn,
    }
    assert await transactions.run(follow) == 0  # a rename (same paths) writes nothing


async def test_moving_numbers_sets_node_and_path_within_the_scope(store, transactions, world):
    async def move(session):
        return await store.move(
            Scope(A), [world["root"].msisdn, world["other"].msisdn], CITY, session
        )

    assert await transactions.run(move) == 1  # company B's number is not A's to move
    root = await store.get(Scope(A), world["root"].msisdn)
    assert (root.node_id, root.node_path) == ("city", ("root_a", "north", "city"))
    assert (await store.get(Scope(B), world["other"].msisdn)).node_id == "root_b"


async def test_a_number_and_a_sim_card_are_given_out_once(store, transactions, world):
    with pytest.raises(Conflict):
        await insert(store, transactions, [a_number(1, SOUTH, iccid=iccid(900))])
    with pytest.raises(Conflict):
        await insert(store, transactions, [a_number(901, SOUTH, iccid=world["city"].iccid)])

    async def taken(session):
        return await store.taken(
            [world["other"].msisdn, "79169999999"], [world["north"].iccid, iccid(999)], session
        )

    assert await transactions.run(taken) == ({world["other"].msisdn}, {world["north"].iccid})


async def test_a_large_batch_goes_in_chunks_in_one_transaction(store, transactions, db):
    count = INSERT_CHUNK * 2 + 500
    batch = [a_number(10_000 + i, NORTH) for i in range(count)]
    batch[-1] = replace(batch[-1], iccid=batch[0].iccid)  # the last chunk fails...
    with pytest.raises(Conflict):
        await insert(store, transactions, batch)
    assert await db["numbers"].count_documents({}) == 0  # ...and nothing stays
    started = time.monotonic()
    await insert(store, transactions, batch[:-1])
    assert await db["numbers"].count_documents({"company_id": A}) == count - 1
    print(f"{count - 1} numbers inserted in {time.monotonic() - started:.1f}s")


async def test_the_free_pool_keeps_each_number_once(db, transactions):
    pool = FreeNumberStore(db)
    await pool.ensure_indexes()

    async def add(session):
        await pool.insert_all([("79990000001", iccid(1))], NOW, session)

    await transactions.run(add)
    with pytest.raises(Conflict):
        await transactions.run(add)

    async def taken(session):
        return await pool.taken(["79990000001"], [iccid(2)], session)

    assert await transactions.run(taken) == ({"79990000001"}, set())
