"""The money storm (bench/storm.py) at a small size: 600 money operations from 16 clients —
transfers both ways, payments, promised payments and their repayment, usage charges that
exhaust balances and payments that restore them — while billing is killed with SIGKILL once
and the storm's own RabbitMQ node is restarted once; afterwards the databases reconcile
with no discrepancy (`python -m bench --only storm` runs it at 10,000 with two kills)."""

from __future__ import annotations

import asyncio

import pytest

from bench.storm import StormOptions, bench_storm, print_storm
from tests.support.rabbitmq_node import available
from tests.support.servers import MongoServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not available(), reason="rabbitmq-server is not installed here"),
]


@pytest.mark.timeout(420)
async def test_a_small_money_storm_reconciles_with_no_discrepancy(mongo_server: MongoServer):
    lines: list[str] = []
    options = StormOptions(ops=600, billing_kills=1, broker_restarts=1, settle_seconds=150)

    result = await asyncio.to_thread(bench_storm, mongo_server, options, lines.append)

    print_storm(lines.append, result)
    report = "\n".join(lines)
    assert result["operations"] == 600, report
    assert (result["billing_kills"], result["broker_restarts"]) == (1, 1), report
    assert result["settled"], report
    assert result["discrepancies"] == [], report
    assert result["transfers_applied"] > 0 and result["usage_records"] > 0, report
