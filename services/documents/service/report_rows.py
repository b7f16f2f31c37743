"""Each report type's rows, produced as the data comes (billing's usage records arrive
by number, in batches; the numbers of the report are read back in number order), with the
count of numbers done so far for the operation's progress."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from services.documents.domain import reports as types
from services.documents.domain.documents import USAGE_KINDS
from services.documents.domain.periods import Period
from services.documents.domain.reports import Cell, Kopecks
from services.documents.peers import OperatorPeers, UsageRow
from services.documents.render.reports import moment
from services.documents.store.targets import ReportNumbers

Doc = dict[str, Any]
Rows = list[list[Cell]]
KIND_ORDER = ("calls", "sms", "data", "roaming")
STATUS_TITLES = {"active": "активен", "blocked": "заблокирован"}


@dataclass(frozen=True)
class Batch:
    rows: Rows
    done: int  # numbers finished so far


class ReportRows:
    def __init__(self, numbers: ReportNumbers, peers: OperatorPeers) -> None:
        self._numbers = numbers
        self._peers = peers

    def rows(self, job: Doc, period: Period) -> AsyncIterator[Batch]:
        produce = {
            types.USAGE: self._usage,
            types.CDR: self._cdr,
            types.PAYMENTS: self._payments,
            types.SERVICES: self._services,
            types.INVENTORY: self._inventory,
            types.SPENDING_BY_NODE: self._spending,
        }[job["request"]["type"]]
        return produce(job, period)

    async def _records(self, job: Doc, period: Period) -> AsyncIterator[list[UsageRow]]:
        msisdns = await self._numbers.msisdns(job["_id"])
        if not msisdns:
            return
        async for batch in self._peers.usage(
            job["company_id"], period.start.isoformat(), period.end.isoformat(), msisdns=msisdns
        ):
            yield batch

    async def _usage(self, job: Doc, period: Period) -> AsyncIterator[Batch]:
        sums: dict[str, dict[str, list[int]]] = {}
        async for batch in self._records(job, period):
            for r in batch:
                row = sums.setdefault(r.msisdn, {}).setdefault(r.kind, [0, 0])
                row[0] += r.quantity
                row[1] += r.charge
        rows: Rows = []
        done = 0
        async for number in self._numbers.each(job["_id"]):
            kinds = sums.get(number["msisdn"], {})
            cells: list[Cell] = [number["msisdn"], number.get("node", "")]
            for kind in KIND_ORDER:
                quantity, charge = kinds.get(kind, [0, 0])
                cells += [quantity, Kopecks(charge)]
            cells.append(Kopecks(sum(c for _, c in kinds.values())))
            rows.append(cells)
            done += 1
            if len(rows) >= 500:
                yield Batch(rows, done)
                rows = []
        yield Batch(rows, done)

    async def _cdr(self, job: Doc, period: Period) -> AsyncIterator[Batch]:
        seen: set[str] = set()
        async for batch in self._records(job, period):
            rows: Rows = []
            for r in batch:
                title, unit = USAGE_KINDS.get(r.kind, (r.kind, ""))
                rows.append([r.msisdn, moment(r.at), title, r.quantity, unit, Kopecks(r.charge)])
                seen.add(r.msisdn)
            yield Batch(rows, len(seen))
        yield Batch([], job.get("total", 0))

    async def _payments(self, job: Doc, period: Period) -> AsyncIterator[Batch]:
        accounts = await self._peers.accounts(job["company_id"])
        wanted: set[str] = set()
        async for number in self._numbers.each(job["_id"]):
            if number.get("account_id"):
                wanted.add(number["account_id"])
        rows: Rows = []
        for account_id in sorted(wanted):
            account = accounts.get(account_id)
            if account is None:
                continue
            statement = await self._peers.statement(
                job["company_id"], account_id, period.start.isoformat(), period.end.isoformat()
            )
            rows += [
                [moment(e.at), account.number, Kopecks(e.amount), e.description]
                for e in statement.entries
                if e.kind == "payment"
            ]
        yield Batch(sorted(rows, key=lambda r: str(r[0])), job.get("total", 0))

    async def _services(self, job: Doc, period: Period) -> AsyncIterator[Batch]:
        rows: Rows = []
        done = 0
        async for number in self._numbers.each(job["_id"]):
            services = number.get("services") or [{"name": "—", "connected_at": ""}]
            rows += [
                [number["msisdn"], number.get("tariff", ""), s["name"], s.get("connected_at", "")]
                for s in services
            ]
            done += 1
            if len(rows) >= 500:
                yield Batch(rows, done)
                rows = []
        yield Batch(rows, done)

    async def _inventory(self, job: Doc, period: Period) -> AsyncIterator[Batch]:
        rows: Rows = []
        done = 0
        async for n in self._numbers.each(job["_id"]):
            rows.append(
                [
                    n["msisdn"],
                    n.get("iccid", ""),
                    STATUS_TITLES.get(n.get("status", ""), n.get("status", "")),
                    n.get("node", ""),
                    n.get("tariff", ""),
                    n.get("account_number", n.get("account_id", "")),
                    n.get("label", ""),
                ]
            )
            done += 1
            if len(rows) >= 500:
                yield Batch(rows, done)
                rows = []
        yield Batch(rows, done)

    async def _spending(self, job: Doc, period: Period) -> AsyncIterator[Batch]:
        charged: dict[str, int] = defaultdict(int)
        async for batch in self._records(job, period):
            for r in batch:
                charged[r.msisdn] += r.charge
        tree: dict[str, Doc] = job["request"].get("nodes", {})
        own: dict[str, int] = defaultdict(int)
        count: dict[str, int] = defaultdict(int)
        async for number in self._numbers.each(job["_id"]):
            own[number.get("node_id", "")] += charged.get(number["msisdn"], 0)
            count[number.get("node_id", "")] += 1
        subtree = _subtree_sums(tree, own)
        rows: Rows = [
            [
                tree[node_id]["title"],
                count.get(node_id, 0),
                Kopecks(own.get(node_id, 0)),
                Kopecks(total),
            ]
            for node_id, total in sorted(subtree.items(), key=lambda item: tree[item[0]]["title"])
        ]
        yield Batch(rows, job.get("total", 0))


def _subtree_sums(tree: dict[str, Doc], own: dict[str, int]) -> dict[str, int]:
    totals: dict[str, int] = dict.fromkeys(tree, 0)
    for node_id, amount in own.items():
        seen: set[str] = set()
        while node_id in tree and node_id not in seen:
            seen.add(node_id)
            totals[node_id] += amount
            node_id = tree[node_id]["parent_id"]
    return totals


def heading(report_type: str, company: str, period: Period, count: int) -> Sequence[str]:
    title = types.REPORT_TYPES[report_type].title
    return (title, f"{company}: номеров {count}, период {period.words}")
