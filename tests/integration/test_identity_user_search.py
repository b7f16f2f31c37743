"""Searching the company's users on the real embedded database: a word matches the login,
the full name or the e-mail (case aside), a number matches the user's phone in any usual
form; every page walked gives the matches whole, in id order, once each, and no read is a
query with a top-level operator (which the embedded server answers by reading every
company's users)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pymongo import AsyncMongoClient

from services.identity.domain import User
from services.identity.store.users import UserStore
from tests.support.mongo_commands import Finds
from tests.support.servers import MongoServer, namespace

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 1, tzinfo=UTC)
NAMES = ["Петрова Мария", "Иванов Пётр", "Сидорова Анна", "Петров Иван"]


def person(n: int, company_id: str, rng: random.Random) -> User:
    name = rng.choice(NAMES)
    return User(
        id=f"usr_{n:03d}",
        company_id=company_id,
        login=f"{rng.choice(['petrov', 'ivanova', 'anna'])}.{n}",
        full_name=name,
        email=f"{rng.choice(['mail', 'petr', 'office'])}{n}@example.ru",
        password_hash="x",
        created_at=NOW,
        phone=rng.choice(["", f"7916{n:07d}", f"7925{n:07d}"]),
    )


@pytest.fixture
async def users(mongo_server: MongoServer) -> AsyncIterator[tuple[UserStore, Finds]]:
    finds = Finds()
    client: AsyncMongoClient = AsyncMongoClient(
        mongo_server.url, tz_aware=True, event_listeners=[finds]
    )
    db = client[f"{namespace()}_identity"]
    store = UserStore(db)
    await store.ensure_indexes()
    yield store, finds
    await client.drop_database(db.name)
    await client.close()


def matches(user: User, query: str) -> bool:
    word = query.strip().lower()
    if any(word in text.lower() for text in (user.login, user.full_name, user.email)):
        return True
    digits = "".join(c for c in query if c not in " ()+-")
    if not digits.isdigit():
        return False  # a word, not a number: the phone is not searched
    whole = "7" + digits[1:] if len(digits) == 11 and digits[0] == "8" else digits
    return bool(user.phone) and bool(digits) and whole in user.phone


async def test_every_page_of_a_search_gives_the_matches_whole_and_in_order(users):
    store, finds = users
    rng = random.Random(15)
    ours = [person(n, "cmp_ours", rng) for n in range(40)]
    for user in [*ours, *(person(n, "cmp_theirs", rng) for n in range(40, 80))]:
        await store.insert(user)
    numbered = next(u for u in ours if u.phone)
    n = numbered.phone
    queries = ["петров", "ПЕТР", "anna", "office1", "Пётр", "@example", "zzz", " 916 ", n]
    queries += [f"8 {n[1:4]} {n[4:7]}-{n[7:9]}-{n[9:]}", f"+7 ({n[1:4]}) {n[4:]}"]
    for query in queries:
        wanted = sorted(u.id for u in ours if matches(u, query))
        for size in (1, 3, 50):
            seen: list[str] = []
            after = None
            while True:
                page = await store.page("cmp_ours", after=after, limit=size, query=query)
                seen += [user.id for user in page]
                if len(page) < size:
                    break
                after = page[-1].id
            assert seen == wanted, (query, size)
    assert [u.id for u in await store.page("cmp_ours", after=None, limit=5, query=n)] == [
        numbered.id
    ]
    assert finds.filters, "no page was read"
    assert finds.with_top_level_operators() == []
