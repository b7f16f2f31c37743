"""`python -m bench` (`make bench`): start what is needed, measure, report, stop it all.

Order, each on a fresh SecantusDB of its own (or VM_TEST_MONGO_URL), with the RabbitMQ at
VM_AMQP_URL: the bare FastAPI app; FastAPI + gRPC echo; the whole system for /me, again for
an authorized call under a custom role and a number-level call by a subtree-scoped user,
again for logins (argon2id timed first, alone); the audit log's next page on the database
alone, beside the one-`$or` query that lists used before; the whole system again for
catalog's numbers beside direct PyMongo queries with 1,000 and 10,000 numbers in the
company, again for a bulk block of 10,000 numbers beside raw single-document updates and
single-number REST calls, again for a
usage and a cdr report over 500 and 5,000 numbers × 3 months (rows/s, the documents worker's
peak memory) — each time stopped right after, so its idle processes do not share the CPU
with the next benchmark; the events pipeline. The whole system is loaded with the demo
without its history, and a step that adds thousands of numbers waits until their events are
consumed before it measures. The money storm (`storm`, bench/storm.py) runs --storm-ops
money operations from 16 clients on a RabbitMQ node of its own while billing is killed twice
and the broker restarted once, then reconciles the databases: any discrepancy fails the run.
Each step stops its own processes and deletes its own broker objects and databases, also
when it fails; a benchmark that fails is reported and the others still run (exit code 1).
Before each measurement it waits (up to --quiet-wait s) for the machine to be idle, and it
reports the CPU that other work used during each window. About an hour (`--only STEP` runs
one: bulk and reports take 6–10 minutes each on 2 cores, the storm 15–30).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.billing import bench_billing
from bench.bulk import bench_bulk
from bench.events import bench_events
from bench.identity import bench_authorized, bench_login
from bench.keyset import bench_keyset
from bench.numbers import bench_numbers
from bench.procs import OTHERS, ROOT
from bench.report import RESULTS, figures_of, print_report, windows, write_json
from bench.reports import bench_reports
from bench.storm import DEFAULT_OPS, StormOptions, bench_storm, print_storm
from bench.web import LoadOptions, bench_echo_hop, bench_me, bench_raw
from bench.webhooks import bench_webhooks
from tests.support.servers import MongoServer, amqp_url, start_mongo

# A benchmark of the whole system: (its database, the broker's URL, the HTTP load).
WholeSystemBench = Callable[[MongoServer, str, LoadOptions], dict[str, Any]]

STEPS = (
    "raw",
    "echo_hop",
    "me",
    "authorized",
    "login",
    "keyset",
    "numbers",
    "bulk",
    "billing",
    "reports",
    "events",
    "webhooks",
    "storm",
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=STEPS,
        help="run only these benchmarks (repeatable); default: all",
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds (HTTP)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured (HTTP)")
    parser.add_argument(
        "--client",
        choices=("auto", "python", "wrk"),
        default="auto",
        help="HTTP load generator; auto: wrk when installed, else bench.loadgen",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="before each measurement, wait up to this many seconds for the machine to be idle",
    )
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--producers", type=int, default=8)
    parser.add_argument(
        "--storm-ops",
        type=int,
        default=DEFAULT_OPS,
        help="money operations of the storm (default %(default)s)",
    )
    parser.add_argument("--storm-clients", type=int, default=16)
    parser.add_argument(
        "--storm-moves",
        type=float,
        default=0.0,
        help="share of the storm's operations that move a number to another account",
    )
    parser.add_argument(
        "--profile-database",
        action="store_true",
        help="record the database with py-spy while the bulk job runs (bench/profiler.py)",
    )
    parser.add_argument(
        "--bulk-without-webhooks",
        action="store_true",
        help="delete the demo company's webhook endpoint before the bulk job (the job as the "
        "system did it before it sent webhooks)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    return parser.parse_args(argv)


def _source() -> dict[str, Any]:
    """Which code was measured: the commit, and whether the work tree had changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "status", "--porcelain"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "changed_files": None}
    return {"commit": commit, "changed_files": len(changes.splitlines())}


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    steps = options.only or list(STEPS)
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 120
    log_dir = Path(tempfile.mkdtemp(prefix="vm-bench-"))
    load = LoadOptions(
        options.connections,
        options.warmup,
        options.duration,
        options.client,
        options.quiet_wait,
        profiles=log_dir / "profiles" if options.profile_database else None,
        bulk_without_webhooks=options.bulk_without_webhooks,
    )
    began = time.monotonic()
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg()[0],
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {
            "connections": load.connections,
            "warmup_s": load.warmup,
            "duration_s": load.duration,
            "client": "wrk" if load.use_wrk else "bench.loadgen",
            "events": options.events,
            "producers": options.producers,
            "quiet_wait_s": options.quiet_wait,
            "bulk_without_webhooks": options.bulk_without_webhooks,
        },
        "source": _source(),
        "logs": str(log_dir),
        "http": {},
    }
    amqp = amqp_url()
    console.print(f"RabbitMQ at {amqp.rsplit('@', 1)[-1]}, logs in {log_dir}")
    http = results["http"]
    failed: dict[str, str] = {}

    def step(
        name: str, title: str, run: Callable[[MongoServer], dict[str, Any]]
    ) -> dict[str, Any] | None:
        """One benchmark on a database of its own (VM_TEST_MONGO_URL's server is shared),
        stopped right after: what a step wrote never slows the next one, and the embedded
        server drops a database of 10,000 numbers far more slowly than it starts anew."""
        if name not in steps:
            return None
        mongo = start_mongo()
        try:
            with console.status(f"{title} …"):
                return run(mongo)
        except Exception as error:  # report it, go on with the next benchmark
            failed[name] = f"{type(error).__name__}: {error}"
            console.print(f"[red]{title} failed: {failed[name]}")
            return None
        finally:
            mongo.stop()

    if raw := step("raw", "HTTP: bare FastAPI endpoint", lambda mongo: bench_raw(load, log_dir)):
        http["raw"] = raw
    hop = step(
        "echo_hop", "HTTP: FastAPI + one gRPC hop", lambda mongo: bench_echo_hop(load, log_dir)
    )
    if hop:
        http["echo_hop"] = hop
    me = step(
        "me",
        "HTTP: the whole system, GET /api/v1/me",
        lambda mongo: bench_me(mongo, amqp, load),
    )
    if me:
        http["me"] = me
    if me and hop:
        http["me_over_echo_hop"] = me["requests_per_s"] / hop["requests_per_s"]
        baseline = hop["latency_ms"]["p50"] + me["direct"]["latency_ms"]["p50"]
        http["me_over_echo_hop_and_direct_p50"] = me["latency_ms"]["p50"] / baseline
    authorized = step(
        "authorized",
        "HTTP: the whole system, GET /api/v1/users under a custom role, "
        "then numbers as a subtree-scoped user",
        lambda mongo: bench_authorized(mongo, amqp, load),
    )
    if authorized:
        scoped = authorized.pop("subtree_scoped")
        http["authorized"] = authorized
        http["scoped_card"], http["scoped_page"] = scoped["card"], scoped["page"]
    if authorized and hop:
        http["authorized_over_echo_hop"] = authorized["requests_per_s"] / hop["requests_per_s"]
        for key in ("scoped_card", "scoped_page"):
            http[f"{key}_over_echo_hop"] = http[key]["requests_per_s"] / hop["requests_per_s"]
    keyset = step(
        "keyset",
        "Keyset pages: the audit log's next page beside one query with a top-level $or",
        bench_keyset,
    )
    if keyset:
        results["keyset"] = keyset
    # The whole system's benchmarks whose result is kept as it is, in this order.
    whole_system_steps: tuple[tuple[str, str, WholeSystemBench, dict[str, Any]], ...] = (
        ("login", "HTTP: the whole system, POST /api/v1/auth/login", bench_login, http),
        (
            "numbers",
            "Numbers: list, subtree and card through the gateway beside direct PyMongo",
            bench_numbers,
            results,
        ),
        (
            "bulk",
            "Bulk: a block of 10,000 numbers as one operation beside raw updates and REST calls",
            bench_bulk,
            results,
        ),
        (
            "billing",
            "Billing: transfers through gRPC and the gateway beside raw transactions; usage feed",
            bench_billing,
            results,
        ),
        (
            "reports",
            "Reports: usage XLSX and cdr CSV over 500 and 5,000 numbers × 3 months",
            bench_reports,
            results,
        ),
        (
            "webhooks",
            "Webhooks: 1,000 deliveries to a local receiver, alone and beside a slow endpoint",
            bench_webhooks,
            results,
        ),
    )
    for name, title, bench, kept_in in whole_system_steps:
        found = step(name, title, lambda mongo, bench=bench: bench(mongo, amqp, load))
        if found:
            kept_in[name] = found
    events = step(
        "events",
        f"Events: {options.events:,} through outbox → RabbitMQ → consumer",
        lambda mongo: bench_events(
            mongo,
            amqp,
            events=options.events,
            producers=options.producers,
            log_dir=log_dir,
            quiet_wait=options.quiet_wait,
        ),
    )
    if events:
        raw_rates = events["raw_inserts_per_s"]
        events["ratio_to_concurrent"] = events["events_per_s"] / raw_rates["concurrent"]
        events["ratio_to_sequential"] = events["events_per_s"] / raw_rates["sequential"]
        results["events"] = events
    storm = step(
        "storm",
        f"Money storm: {options.storm_ops:,} operations through kills and a broker restart",
        lambda mongo: bench_storm(
            mongo,
            StormOptions(
                ops=options.storm_ops,
                clients=options.storm_clients,
                moves=options.storm_moves,
            ),
            lambda line: console.print(line, markup=False, highlight=False),
        ),
    )
    if storm:
        results["storm"] = storm
        print_storm(lambda line: console.print(line, markup=False, highlight=False), storm)
        if storm["discrepancies"]:
            failed["storm"] = f"{len(storm['discrepancies'])} discrepancies"
    results["failed"] = failed
    results["total_seconds"] = round(time.monotonic() - began, 1)
    results["machine"]["load_average_at_end"] = os.getloadavg()[0]
    figures = figures_of(results)
    print_report(console, results, figures)
    write_json(results, figures, options.output)
    console.print(f"written to {options.output} in {results['total_seconds']:.0f} s")
    for name, result in windows(results):
        others = result.get("cpu_percent", {}).get(OTHERS, 0)
        if others > 20:
            console.print(
                f"[yellow]{name}: other work on the machine used {others:.0f}% of a core "
                "during the measurement: its figures are low and noisy"
            )
    for name, reason in failed.items():
        console.print(f"[red]{name} failed: {reason}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
