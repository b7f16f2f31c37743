"""Which process sent which database commands: each process's `vm_mongo_commands` (its
client's command listener, services/kit/mongo.py) read off its /metrics before and after a
piece of work, per unit of that work (a number of a bulk job)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.system import RunningSystem

# (process, command, collection) → commands sent so far
Counts = dict[tuple[str, str, str], float]
TOP = 20
DOCUMENTS = "documents written"


@dataclass(frozen=True)
class CommandShare:
    process: str
    command: str
    collection: str
    per_unit: float

    def as_json(self) -> dict[str, str | float]:
        return {
            "process": self.process,
            "command": self.command,
            "collection": self.collection,
            "per_unit": self.per_unit,
        }


def command_counts(system: RunningSystem) -> Counts:
    """Every process's database commands so far, by command and collection, and the
    documents its writes named, by collection (as command "documents written")."""
    counts: Counts = {}
    for process, url in system.metrics_urls().items():
        text = httpx.get(url, timeout=10).raise_for_status().text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = _counted_as(process, sample.name, sample.labels)
                if key is not None:
                    counts[key] = counts.get(key, 0) + sample.value
    return counts


def _counted_as(process: str, name: str, labels: dict[str, str]) -> tuple[str, str, str] | None:
    if name == "vm_mongo_commands_total":
        return process, labels["command"], labels["collection"]
    if name == "vm_mongo_documents_written_total":
        return process, DOCUMENTS, labels["collection"]
    return None


def commands_per_unit(before: Counts, after: Counts, units: int) -> list[CommandShare]:
    """The TOP commands sent between the two readings, per unit, most first."""
    return _most(before, after, units, lambda command: command != DOCUMENTS)


def documents_per_unit(before: Counts, after: Counts, units: int) -> list[CommandShare]:
    """The documents written between the two readings, by process and collection, per
    unit, most first (all of them: they are what a bulk job costs such a database)."""
    return _most(before, after, units, lambda command: command == DOCUMENTS, top=None)


def _most(
    before: Counts,
    after: Counts,
    units: int,
    kept: Callable[[str], bool],
    top: int | None = TOP,
) -> list[CommandShare]:
    shares = [
        CommandShare(*key, (count - before.get(key, 0)) / units)
        for key, count in after.items()
        if kept(key[1])
    ]
    shares = [share for share in shares if share.per_unit > 0]
    shares.sort(key=lambda share: share.per_unit, reverse=True)
    return shares[:top]
