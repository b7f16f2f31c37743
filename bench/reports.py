"""Reports over 500 and 5,000 numbers × 3 months: a `usage` XLSX report and a `cdr` CSV
report, each as one operation, made by one documents worker process.

The whole system with the demo loaded; the operator gives Ромашка 5,000 more numbers
(7925000xxxx) and feeds billing three whole months of their usage (the demo's pattern:
calls, SMS and mobile internet every month, roaming for some numbers). Then, each on its
own with the machine quiet, `POST /api/v1/reports` over the first 500 of those numbers and
over all 5,000, timed from the request to the operation's end as the API reports it:

- rows/s: the report's rows (one per number for `usage`, one per rated record for `cdr`)
  ÷ that time;
- the worker's peak RSS during the report (its high-water mark, reset before each report
  through /proc/<pid>/clear_refs, where the kernel allows it; else sampled every 20 ms).

Targets: at 5,000 numbers rows/s does not fall (≥ 0.9× the 500-number run, to allow for
noise) and the peak RSS stays within 1.5× the 500-number run's.
"""

from __future__ import annotations

import asyncio
import csv
import io
import secrets
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.numbers import FIRST_MSISDN, add_numbers, demo_company
from bench.procs import CpuMeter, wait_until_quiet
from bench.web import LoadOptions, system_processes, whole_system
from tests.support.servers import MongoServer
from tests.support.system import RunningSystem, events_consumed

SIZES = (500, 5_000)
MONTHS = 3
REPORTS = (("usage", "xlsx"), ("cdr", "csv"))
FEED_CHUNK = 1_000
POLL_SECONDS = 0.2
RATE_MIN = 0.9
MEMORY_MAX = 1.5
# The 5,000 numbers' and their usage's events, consumed before anything is timed.
SETTLE_MAX_SECONDS = 900


def whole_months(today: date) -> tuple[date, date]:
    """The three whole months before this one: their first and last day."""
    last = today.replace(day=1) - timedelta(days=1)
    first = last.replace(day=1)
    for _ in range(MONTHS - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return first, last


def month_starts(first: date) -> list[datetime]:
    starts, day = [], first
    for _ in range(MONTHS):
        starts.append(datetime(day.year, day.month, 1, tzinfo=UTC))
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return starts


async def _feed_usage(system: RunningSystem, msisdns: list[str], first: date) -> int:
    """Three months of usage for each number, fed again until billing has every number on
    an account (fixed record ids: a repeat is skipped, never charged twice)."""
    from demo.data import demo_usage
    from services.kit.grpc_client import open_channel
    from vm.billing.v1 import billing_pb2
    from vm.billing.v1 import billing_pb2_grpc as pb_grpc
    from vm.common.v1 import common_pb2

    records = []
    for start in month_starts(first):
        period = f"{start:%Y-%m}"
        for index, msisdn in enumerate(msisdns):
            for kind, kopecks, quantity in demo_usage(msisdn, period):
                record = billing_pb2.UsageRecord(
                    record_id=f"bench-{msisdn}-{period}-{kind}",
                    msisdn=msisdn,
                    kind=kind,
                    charge=common_pb2.Money(amount=kopecks, currency="RUB"),
                    quantity=quantity,
                )
                record.at.FromDatetime(start + timedelta(days=index % 27, minutes=index % 1440))
                records.append(record)

    async def chunks() -> AsyncIterator[billing_pb2.IngestUsageRequest]:
        for begin in range(0, len(records), FEED_CHUNK):
            yield billing_pb2.IngestUsageRequest(records=records[begin : begin + FEED_CHUNK])

    token = system.settings.operator_token.get_secret_value()
    operator = (("authorization", f"Operator {token}"),)
    async with open_channel(system.settings.billing_addr) as channel:
        stub = pb_grpc.BillingOperatorServiceStub(channel)
        for _ in range(60):
            answer = await stub.IngestUsage(chunks(), metadata=operator, timeout=600)
            if answer.rejected == 0:
                return len(records)
            await asyncio.sleep(1)
    raise RuntimeError(f"billing never had every number on an account: {answer.rejected}")


class PeakRss:
    """The worker's peak resident memory over one report."""

    def __init__(self, pid: int) -> None:
        self._status = Path(f"/proc/{pid}/status")
        self._clear = Path(f"/proc/{pid}/clear_refs")
        self._stop = threading.Event()
        self._sampled = 0
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.reset_works = False

    def _field(self, name: str) -> int:
        try:
            status = self._status.read_text()
        except OSError:  # the worker is gone (the system is stopping)
            return 0
        for line in status.splitlines():
            if line.startswith(f"{name}:"):
                return int(line.split()[1]) * 1024
        return 0

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self._sampled = max(self._sampled, self._field("VmRSS"))

    def start(self) -> None:
        try:
            self._clear.write_text("5")  # resets VmHWM to the current RSS
            self.reset_works = True
        except OSError:
            self.reset_works = False
        self._sampled = self._field("VmRSS")
        self._thread.start()

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self._field("VmHWM") if self.reset_works else self._sampled


async def _login(api: httpx.AsyncClient) -> dict[str, str]:
    """Ромашка's administrator, logged in again: a large report may outlast a token."""
    from demo.data import COMPANIES, DEMO_PASSWORD

    login = await api.post(
        "/api/v1/auth/login",
        json={"login": COMPANIES[0].main_number, "password": DEMO_PASSWORD},
    )
    login.raise_for_status()
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def _run_report(
    system: RunningSystem, msisdns: list[str], kind: str, fmt: str, span: tuple
) -> dict[str, Any]:
    body = {
        "type": kind,
        "format": fmt,
        "msisdns": msisdns,
        "period": {"from": span[0].isoformat(), "to": span[1].isoformat()},
    }
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=120) as api:
        headers = await _login(api)
        unanswered = 0
        started = time.perf_counter()
        accepted = await api.post(
            "/api/v1/reports",
            headers={**headers, "Idempotency-Key": secrets.token_hex(12)},
            json=body,
        )
        if accepted.status_code != 202:
            raise RuntimeError(f"the report was refused: {accepted.text}")
        while True:
            polled = await api.get(f"/api/v1/operations/{accepted.json()['id']}", headers=headers)
            if polled.status_code == 401:  # the token expired meanwhile
                headers = await _login(api)
                continue
            if polled.status_code == 503:  # the system is busy: ask again
                unanswered += 1
                await asyncio.sleep(POLL_SECONDS)
                continue
            op = polled.raise_for_status().json()
            if op["status"] not in ("pending", "running"):
                break
            await asyncio.sleep(POLL_SECONDS)
        took = time.perf_counter() - started
        if op["status"] != "succeeded":
            raise RuntimeError(f"the report did not succeed: {op}")
        (file,) = op["files"]
        content = (await api.get(file["url"], headers=headers)).content
    rows = len(msisdns) if fmt == "xlsx" else _csv_rows(content)
    return {
        "numbers": len(msisdns),
        "rows": rows,
        "seconds": took,
        "rows_per_s": rows / took,
        "file_bytes": file["size"],
        "polls_unanswered": unanswered,
    }


def _csv_rows(content: bytes) -> int:
    return sum(1 for _ in csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";")) - 1


def bench_reports(mongo: MongoServer, amqp_url: str, options: LoadOptions) -> dict[str, Any]:
    with whole_system(mongo, amqp_url) as system:
        company = asyncio.run(demo_company(system))
        from demo.data import STANDARD

        msisdns = [str(FIRST_MSISDN + n) for n in range(max(SIZES))]
        asyncio.run(add_numbers(system, company.company_id, msisdns, company.node_ids, STANDARD))
        span = whole_months(datetime.now(UTC).date())
        fed = asyncio.run(_feed_usage(system, msisdns, span[0]))
        settled = asyncio.run(events_consumed(system, SETTLE_MAX_SECONDS))
        worker = system.processes["documents-worker"].pid
        processes = system_processes(system, mongo)
        results: dict[str, Any] = {
            "usage_records_fed": fed,
            "period": [str(d) for d in span],
            "waited_for_set_up_events_s": settled,
        }
        for kind, fmt in REPORTS:
            for size in SIZES:
                wait_until_quiet(options.quiet_wait)
                meter, memory = CpuMeter(processes), PeakRss(worker)
                meter.start()
                memory.start()
                run = asyncio.run(_run_report(system, msisdns[:size], kind, fmt, span))
                run["worker_peak_rss_mb"] = memory.stop() / 2**20
                run["peak_from"] = "VmHWM" if memory.reset_works else "VmRSS samples"
                run["cpu_percent"] = meter.stop()
                results[f"{kind}_{size}"] = run
            small, large = results[f"{kind}_{SIZES[0]}"], results[f"{kind}_{SIZES[1]}"]
            results[f"{kind}_rate_ratio"] = large["rows_per_s"] / small["rows_per_s"]
            results[f"{kind}_memory_ratio"] = (
                large["worker_peak_rss_mb"] / small["worker_peak_rss_mb"]
            )
        return results
