"""The webhooks benchmark's backlog step against the real MongoDB-protocol server and a
real HTTP receiver: every delivery of the backlog goes out once, and the database's CPU is
read off its process."""

from __future__ import annotations

import math

import pytest

from bench.webhooks import backlog_drained

pytestmark = pytest.mark.integration


async def test_a_backlog_is_drained_and_the_database_cpu_per_delivery_read(mongo_server):
    figures = await backlog_drained(mongo_server, 40)

    assert figures["deliveries"] == 40
    assert figures["deliveries_per_s"] > 0
    cpu = figures["database_cpu_ms_per_delivery"]
    # A server of its own (not VM_TEST_MONGO_URL) has its CPU read: it did some work.
    assert math.isnan(cpu) if mongo_server.process is None else cpu > 0
