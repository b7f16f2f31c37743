"""Billing's usage records as reports read them, against the real MongoDB-protocol server:
the numbers asked for and no others, the period's window (its end excluded), in number
then time order, in batches of the size asked, whatever the order the numbers came in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.billing.domain.usage import UsageRecord
from services.billing.store.usage import UsageStore

pytestmark = pytest.mark.integration

START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)


async def test_a_reports_records_come_by_number_then_time(db, transactions):
    store = UsageStore(db)
    await store.ensure_indexes()
    numbers = [f"7916000{n:04d}" for n in range(40)]
    rows = []
    for index, msisdn in enumerate(numbers):
        for day in (20, 3, 11):  # stored out of time order
            at = START + timedelta(days=day, minutes=index)
            rows.append((UsageRecord(f"r-{msisdn}-{day}", msisdn, "calls", 100, 1, at), "c1", "a1"))
        rows.append((UsageRecord(f"r-{msisdn}-end", msisdn, "sms", 5, 1, END), "c1", "a1"))
    rows.append((UsageRecord("r-other", numbers[0], "sms", 5, 1, START), "c2", "a9"))

    async def write(session) -> None:
        await store.insert(rows, "batch-1", session)

    await transactions.run(write)

    wanted = [numbers[n] for n in (30, 2, 17, 2, 39, 0)]  # any order, one twice
    batches = [b async for b in store.stream("c1", wanted, "", START, END, batch=4)]
    assert [len(b) for b in batches] == [4, 4, 4, 3]
    got = [(r["msisdn"], r["at"].day) for b in batches for r in b]
    expected = [(m, day) for m in sorted(set(wanted)) for day in (4, 12, 21)]
    assert got == expected  # the end of the window and another company's record left out
