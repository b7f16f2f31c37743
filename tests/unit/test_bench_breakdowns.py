"""The benchmark's breakdowns of the database's work: py-spy's collapsed stacks read back
into shares by function, and `top`'s readings turned into time per unit by collection."""

from __future__ import annotations

import math
from pathlib import Path

from bench import profiler
from bench.direct import time_per

STACKS = """\
Thread (secantus/server.py:10);dispatch (secantus/commands.py:20);_update (secantus/commands.py) 6
Thread (secantus/server.py:10);dispatch (secantus/commands.py:21);_find (secantus/commands.py:40) 3
Thread (secantus/server.py:10);_recv_exactly (secantus/wire.py:50) 1
not a stack line
"""


def test_a_recording_reads_back_as_shares_by_function(tmp_path: Path):
    path = tmp_path / "database.txt"
    path.write_text(STACKS)
    summary = profiler.summary(profiler.Recording(path))
    assert summary["samples"] == 10
    own = {row["function"]: row["share"] for row in summary["self"]}
    assert own == {
        "_update (secantus/commands.py)": 0.6,
        "_find (secantus/commands.py)": 0.3,
        "_recv_exactly (secantus/wire.py)": 0.1,
    }
    # A function's lines add up; its callers hold all that their calls spent.
    under = {row["function"]: row["share"] for row in summary["inclusive"]}
    assert under["dispatch (secantus/commands.py)"] == 0.9
    assert under["Thread (secantus/server.py)"] == 1.0


def test_a_recording_that_could_not_be_made_says_why(tmp_path: Path):
    with profiler.sampled(None, tmp_path / "none.txt") as recording:
        pass
    assert profiler.summary(recording) == {"error": "no process to record"}


def test_the_database_time_per_unit_goes_by_collection_and_kind():
    before = {"vm.numbers": {"update": (1_000, 2), "queries": (500, 1)}}
    after = {
        "vm.numbers": {"update": (31_000, 12), "queries": (500, 1)},  # no new queries
        "vm.audit": {"insert": (10_000, 10)},  # a collection that came meanwhile
    }
    rows = time_per(before, after, units=10)
    assert [(r["collection"], r["kind"]) for r in rows] == [
        ("vm.numbers", "update"),
        ("vm.audit", "insert"),
    ]
    assert rows[0]["ms_per_unit"] == 3.0 and rows[0]["operations_per_unit"] == 1.0
    assert rows[1]["ms_per_unit"] == 1.0
    assert math.isclose(sum(r["share"] for r in rows), 1.0)
    assert rows[0]["share"] == 0.75
