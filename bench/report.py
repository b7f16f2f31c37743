"""The figures of a run: one table for people (rich), one JSON file for machines."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.procs import DATABASE

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Figure:
    section: str
    name: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None  # None: no target
    note: str = ""  # e.g. why a figure is not measured (its value is NaN)

    @property
    def verdict(self) -> str:
        if self.ok is None:
            return f"[yellow]{self.note}[/]" if self.note else ""
        return "[green]met[/]" if self.ok else "[red]missed[/]"


def _format(value: float, unit: str = "") -> str:
    if math.isnan(value):
        return "n/a"
    if unit == "×":  # a ratio against a target: never round across the threshold
        return f"{value:.3f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def http_figures(section: str, result: dict[str, Any]) -> list[Figure]:
    latency = result["latency_ms"]
    figures = [
        Figure(section, "throughput", result["requests_per_s"], "requests/s"),
        Figure(section, "latency p50", latency["p50"], "ms"),
        Figure(section, "latency p99", latency["p99"], "ms"),
        Figure(section, "server CPU per request", result["server_cpu_ms_per_request"], "ms"),
    ]
    if result.get("errors") or result.get("lost_connections"):
        figures.append(
            Figure(
                section, "failed requests", result["errors"], "requests", "0", result["errors"] == 0
            )
        )
    return figures


def argon2_figures(argon2: dict[str, Any], cpus: int) -> list[Figure]:
    section = (
        f"Identity: {argon2['type']} (m={argon2['memory_kib']:,} KiB, "
        f"t={argon2['time_cost']}, p={argon2['parallelism']})"
    )
    runs = argon2["runs"]
    verify = argon2["verify_ms"]["p50"]
    return [
        Figure(section, f"PASSWORDS.hash, median of {runs}", argon2["hash_ms"]["p50"], "ms"),
        Figure(section, f"PASSWORDS.verify, median of {runs}", verify, "ms"),
        Figure(
            section,
            f"logins/s bound by verify alone on {cpus} cores",
            1000 * cpus / verify if verify else math.nan,
            "logins/s",
        ),
    ]


def windows(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every measurement window of the run, by name, with the CPU used during it."""
    found = []
    for name, result in results.get("http", {}).items():
        if isinstance(result, dict):
            found.append((name, result))
            if "argon2id" in result:
                found.append((f"{name}: argon2id", result["argon2id"]))
    for size, measured in results.get("numbers", {}).get("sizes", {}).items():
        for read, entry in measured["reads"].items():
            for side in ("gateway", "direct"):
                found.append((f"numbers {size}: {read}, {side}", entry[side]))
    for scenario in ("many", "hot"):
        for side in ("raw", "grpc", "gateway"):
            if entry := results.get("billing", {}).get(scenario, {}).get(side):
                found.append((f"billing {scenario}: {side}", entry))
    if results.get("events"):
        found.append(("events", results["events"]))
    return found


NUMBER_READS = {
    "list": "GET /api/v1/numbers, page of 50",
    "subtree": "… filtered by a subtree (node_id)",
    "card": "GET /api/v1/numbers/{msisdn}",
}


def numbers_figures(numbers: dict[str, Any]) -> list[Figure]:
    """Per company size and read: the gateway's and the direct query's latency and rate,
    and their ratio (targets: a list ≤ 1.3× its direct query's latency; the card ≤ 1.5×
    the echo hop's plus its direct query's)."""
    figures: list[Figure] = []
    connections = numbers["connections"]
    hop = numbers.get("echo_hop")
    if hop:
        figures.append(
            Figure(
                f"Numbers, {connections} connections: the bare FastAPI + gRPC echo hop",
                "latency p50",
                hop["latency_ms"]["p50"],
                "ms",
            )
        )
    for size, measured in numbers["sizes"].items():
        for read, entry in measured["reads"].items():
            section = (
                f"Numbers, {int(size):,} in the company, {connections} connections: "
                f"{NUMBER_READS[read]}"
            )
            gateway, direct = entry["gateway"], entry["direct"]
            figures += [
                Figure(section, "gateway latency p50", gateway["latency_ms"]["p50"], "ms"),
                Figure(section, "gateway latency p99", gateway["latency_ms"]["p99"], "ms"),
                Figure(section, "gateway throughput", gateway["requests_per_s"], "requests/s"),
                Figure(section, "direct PyMongo latency p50", direct["latency_ms"]["p50"], "ms"),
                Figure(section, "direct PyMongo latency p99", direct["latency_ms"]["p99"], "ms"),
                Figure(section, "direct PyMongo throughput", direct["requests_per_s"], "queries/s"),
            ]
            is_list = read != "card"
            for key in ("p50", "p99"):
                ratio = entry["latency_ratio"][key]
                targeted = is_list and key == "p50"
                figures.append(
                    Figure(
                        section,
                        f"gateway ÷ direct latency {key}",
                        ratio,
                        "×",
                        "≤ 1.3×" if targeted else "",
                        ratio <= 1.3 if targeted else None,
                    )
                )
            if not is_list and "over_echo_hop_and_direct_p50" in entry:
                ratio = entry["over_echo_hop_and_direct_p50"]
                figures.append(
                    Figure(
                        section,
                        "gateway ÷ (echo hop + direct) latency p50",
                        ratio,
                        "×",
                        "≤ 1.5×",
                        ratio <= 1.5,
                    )
                )
            if gateway.get("errors"):
                figures.append(
                    Figure(section, "failed requests", gateway["errors"], "requests", "0", False)
                )
    if abandoned := numbers.get("abandoned_reads"):
        figures += abandoned_read_figures(abandoned)
    return figures


def abandoned_read_figures(abandoned: dict[str, Any]) -> list[Figure]:
    """The database's CPU for a page its caller gave up on (bench/abandoned_reads.py)."""
    section = (
        f"Numbers, 10,000: the whole list page, its caller gone after {abandoned['give_up_s']} s"
    )
    figures = [
        Figure(section, f"database CPU, {name}", value, "s")
        for name, value in abandoned["database_cpu_s"].items()
    ]
    figures += [
        Figure(section, f"{name} ÷ to the end, database CPU", ratio, "×")
        for name, ratio in abandoned["over_to_the_end"].items()
    ]
    return figures


def keyset_figures(keyset: dict[str, Any]) -> list[Figure]:
    """The audit log's next page: the store's two range reads beside one `$or` query; one
    account's transfers: the store's two sides beside one `$or` (bench/keyset.py)."""
    section = (
        f"Keyset pages: audit log of {keyset['company_entries']:,} entries "
        f"beside {keyset['other_entries']:,} of other companies"
    )
    figures = [Figure(section, "first page (the floor)", keyset["first_page_ms"], "ms")]
    for page in ("second page", "middle page"):
        figures += [
            Figure(section, f"{page}, store", keyset[page]["store_ms"], "ms"),
            Figure(section, f"{page}, one $or", keyset[page]["one_or_ms"], "ms"),
            Figure(section, f"{page}, store ÷ one $or", keyset[page]["ratio"], "×"),
        ]
    transfers = keyset.get("transfers")
    if not transfers:
        return figures
    section = (
        f"One account's transfers: {transfers['company_transfers']:,} of the company "
        f"beside {transfers['other_transfers']:,} of others"
    )
    for page in ("first page", "second page"):
        figures += [
            Figure(section, f"{page}, store (two sides)", transfers[page]["store_ms"], "ms"),
            Figure(section, f"{page}, one $or", transfers[page]["one_or_ms"], "ms"),
            Figure(section, f"{page}, store ÷ one $or", transfers[page]["ratio"], "×"),
        ]
    return figures


def billing_figures(billing: dict[str, Any]) -> list[Figure]:
    """Transfers/s through gRPC and the gateway beside the raw two-document transaction
    rate (target: gRPC ≥ 0.5× raw), and the usage feed's records/s."""
    figures: list[Figure] = []
    scenarios = {
        "many": f"over {billing['accounts']} accounts",
        "hot": "over one hot pair of accounts",
    }
    for key, where in scenarios.items():
        runs = billing[key]
        section = f"Billing: transfers, {billing['clients']} clients, {where}"
        for name, title in (
            ("raw", "raw 2-document transaction"),
            ("grpc", "gRPC CreateTransfer"),
            ("gateway", "POST /api/v1/transfers"),
        ):
            figures.append(Figure(section, title, runs[name]["requests_per_s"], "per s"))
            figures.append(Figure(section, f"{title} p50", runs[name]["latency_ms"]["p50"], "ms"))
        ratio = runs["grpc_over_raw"]
        figures.append(Figure(section, "gRPC ÷ raw", ratio, "×", "≥ 0.5×", ratio >= 0.5))
        figures.append(Figure(section, "gateway ÷ raw", runs["gateway_over_raw"], "×"))
        failed = sum(runs[name]["errors"] for name in ("grpc", "gateway"))
        if failed:
            figures.append(Figure(section, "failed transfers", failed, "requests", "0", False))
    usage = billing["usage"]
    figures.append(
        Figure(
            f"Billing: usage feed, one stream of {usage['records']:,} records",
            "charged",
            usage["records_per_s"],
            "records/s",
        )
    )
    return figures


def _producer_alone_figures(events: dict[str, Any]) -> list[Figure]:
    """The producer's transaction (item + outbox event) with nothing after it: the
    pipeline's ceiling, and its share of the database's CPU."""
    raw = events["raw_inserts_per_s"]
    if "producer_transactions" not in raw:
        return []
    section = "Events: the producer's transaction alone (item + outbox event)"
    alone = raw["producer_transactions"]
    return [
        Figure(section, f"{events['producers']} concurrent", alone, "transactions/s"),
        Figure(
            section,
            f"÷ raw inserts/s, {events['producers']} concurrent",
            alone / raw["concurrent"],
            "×",
        ),
        Figure(
            section,
            "SecantusDB CPU per transaction",
            raw["db_cpu_ms_per_producer_transaction"],
            "ms",
        ),
        Figure(
            section,
            "database commands per transaction",
            raw.get("db_commands_per_producer_transaction", math.nan),
            "commands",
        ),
        Figure(section, "end to end ÷ this", events["events_per_s"] / alone, "×"),
        Figure(
            "Events: outbox → RabbitMQ → consumer",
            "database commands per event, end to end",
            events.get("db_commands_per_event", {}).get("all", math.nan),
            "commands",
        ),
    ]


def bulk_figures(bulk: dict[str, Any]) -> list[Figure]:
    section = "Bulk: block of 10,000 numbers as one operation"
    if bulk.get("without_webhooks"):
        section += " (no webhook endpoint)"
    job, raw, rest = bulk["job"], bulk["raw_updates_per_s"], bulk["rest"]
    over_raw, over_rest = bulk["job_over_raw"], bulk["job_over_rest"]
    over_numbers = bulk["job_over_raw_numbers"]
    raw_figures = [
        Figure(section, f"raw {how}, {what}", rates[key], "updates/s")
        for kind, what in (
            ("small_documents", "small documents"),
            ("number_documents", "number documents + indexes"),
        )
        for rates in (raw[kind],)
        for key, how in (
            ("sequential", "update_one sequential"),
            ("concurrent", "update_one 8 concurrent"),
            ("bulk_write", "bulk_write"),
        )
    ]
    return [
        Figure(section, "operation accepted (202) in", job["accepted_in_ms"], "ms"),
        Figure(section, "operation, request to end", job["seconds"], "s"),
        Figure(section, "operation", job["numbers_per_s"], "numbers/s"),
        *raw_figures,
        Figure(
            section,
            f"single-number REST calls, {rest['connections']} clients",
            rest["calls_per_s"],
            "calls/s",
        ),
        Figure(
            section, "10,000 single-number REST calls would take", rest["seconds_for_10000"], "s"
        ),
        Figure(
            section,
            "operation ÷ best raw update_one rate (small documents)",
            over_raw,
            "×",
        ),
        Figure(
            section,
            "operation ÷ best raw update_one rate (number documents)",
            over_numbers,
            "×",
            "≥ 0.7×",
            over_numbers >= 0.7,
        ),
        Figure(section, "operation ÷ REST calls rate", over_rest, "×", "≥ 4×", over_rest >= 4),
        *_bulk_alone_figures(bulk),
        *_bulk_cost_figures(bulk),
    ]


def _bulk_alone_figures(bulk: dict[str, Any]) -> list[Figure]:
    """The same block by the worker alone, nothing consuming its events (bench/bulk.py)."""
    alone = bulk.get("job_alone")
    if not alone:
        return []
    section = "Bulk: the same block by the worker alone (no consumer)"
    return [
        Figure(section, "worker alone", alone["numbers_per_s"], "numbers/s"),
        Figure(
            section,
            "worker alone ÷ best raw update_one rate (number documents)",
            bulk["job_alone_over_raw_numbers"],
            "×",
        ),
        Figure(section, "SecantusDB CPU per number", alone["db_cpu_ms_per_number"], "ms"),
    ]


def _bulk_cost_figures(bulk: dict[str, Any]) -> list[Figure]:
    """What a number of the job cost the database, beside one raw update of it."""
    job, raw = bulk["job"], bulk["raw_updates_per_s"]["number_documents"]
    if "db_cpu_ms_per_number" not in job:
        return []
    section = "Bulk: what one number costs the database"
    during, total = job["db_commands_per_number"], job["db_commands_per_number_with_consumers"]
    after = job["db_cpu_ms_per_number_consumers_after"]
    return [
        Figure(
            section, "SecantusDB CPU, raw update_one of a number", raw["db_cpu_ms_per_update"], "ms"
        ),
        Figure(
            section, "SecantusDB CPU, while the operation ran", job["db_cpu_ms_per_number"], "ms"
        ),
        Figure(section, "… then until its events were consumed", after, "ms"),
        Figure(
            section, "consumers still busy after the operation ended", job["consumed_after_s"], "s"
        ),
        Figure(
            section, "commands while it ran (inserts, updates, queries)", during["all"], "commands"
        ),
        Figure(
            section,
            "… of which writes (insert + update + delete)",
            during.get("insert", 0) + during.get("update", 0) + during.get("delete", 0),
            "commands",
        ),
        Figure(section, "commands until its events were consumed", total["all"], "commands"),
    ]


def webhooks_figures(webhooks: dict[str, Any]) -> list[Figure]:
    section = "Webhooks: deliveries to a local receiver"
    single = webhooks["single_block_to_delivery_ms"]
    figures = [
        Figure(section, "one number blocked → its delivery, p50", single["p50"], "ms"),
        Figure(
            section,
            "one number blocked → its delivery, max",
            single["max"],
            "ms",
            "< 2,000 ms",
            single["max"] < 2000,
        ),
    ]
    phases = (("alone", "beside a fast endpoint"), ("beside_slow", "beside a 2 s endpoint"))
    for key, what in phases:
        run = webhooks[key]
        delays = run["commit_to_delivery_ms"]
        figures += [
            Figure(section, f"{what}: deliveries", run["deliveries_per_s"], "deliveries/s"),
            Figure(section, f"{what}: commit → delivery p50", delays["p50"], "ms"),
            Figure(section, f"{what}: commit → delivery p99", delays["p99"], "ms"),
            Figure(
                section,
                f"{what}: queued → delivered p50",
                run["queued_to_delivered_ms"]["p50"],
                "ms",
            ),
            Figure(
                section,
                f"{what}: queued → delivered p99",
                run["queued_to_delivered_ms"]["p99"],
                "ms",
            ),
        ]
    if backlog := webhooks.get("backlog"):
        what = f"a backlog of {backlog['deliveries']:,} to one endpoint, one worker alone"
        figures += [
            Figure(section, f"{what}: deliveries", backlog["deliveries_per_s"], "deliveries/s"),
            Figure(
                section,
                f"{what}: {DATABASE} CPU per delivery",
                backlog["database_cpu_ms_per_delivery"],
                "ms",
            ),
        ]
    ratio = webhooks["p99_beside_slow_over_alone"]
    figures.append(
        Figure(
            section,
            "queued → delivered p99 beside the slow endpoint ÷ beside the fast one",
            ratio,
            "×",
            "< 2×: the slow one holds the others back by less than its answer time",
            ratio < 2,
        )
    )
    return figures


def reports_figures(reports: dict[str, Any]) -> list[Figure]:
    """Each report at 500 and 5,000 numbers, and how the larger one compares."""
    figures: list[Figure] = []
    for kind, title in (("usage", "usage XLSX"), ("cdr", "cdr CSV")):
        section = f"Reports: {title}, 3 months"
        for size in (500, 5_000):
            run = reports[f"{kind}_{size}"]
            figures += [
                Figure(section, f"{size:,} numbers: {run['rows']:,} rows in", run["seconds"], "s"),
                Figure(section, f"{size:,} numbers", run["rows_per_s"], "rows/s"),
                Figure(
                    section, f"{size:,} numbers: worker peak RSS", run["worker_peak_rss_mb"], "MB"
                ),
            ]
        rate, memory = reports[f"{kind}_rate_ratio"], reports[f"{kind}_memory_ratio"]
        figures += [
            Figure(section, "rows/s, 5,000 ÷ 500 numbers", rate, "×", "≥ 0.9×", rate >= 0.9),
            Figure(section, "peak RSS, 5,000 ÷ 500 numbers", memory, "×", "≤ 1.5×", memory <= 1.5),
        ]
    return figures


def figures_of(results: dict[str, Any]) -> list[Figure]:
    figures: list[Figure] = []
    http = results.get("http", {})
    titles = {
        "raw": "HTTP: bare FastAPI endpoint",
        "echo_hop": "HTTP: FastAPI + one gRPC hop",
        "me": "HTTP: GET /api/v1/me (gateway + identity)",
        "authorized": "HTTP: GET /api/v1/users, custom role (gateway + identity)",
        "scoped_card": "HTTP: GET /api/v1/numbers/{msisdn}, subtree-scoped user "
        "(gateway + catalog + identity)",
        "scoped_page": "HTTP: GET /api/v1/numbers page of 50, subtree-scoped user "
        "(gateway + catalog + identity)",
        "login": "HTTP: POST /api/v1/auth/login (gateway + identity)",
    }
    for key, title in titles.items():
        if key in http:
            figures += http_figures(title, http[key])
        if key == "login" and key in http:
            figures += argon2_figures(http[key]["argon2id"], results["machine"]["cpus"])
    if "me_over_echo_hop" in http:
        ratio = http["me_over_echo_hop"]
        figures.append(Figure("HTTP: ratio", "/me ÷ gRPC hop requests/s", ratio, "×"))
    if "me" in http and "direct" in http["me"]:
        direct = http["me"]["direct"]["latency_ms"]
        figures.append(
            Figure("HTTP: /me's reads issued directly", "latency p50", direct["p50"], "ms")
        )
    if "me_over_echo_hop_and_direct_p50" in http:
        ratio = http["me_over_echo_hop_and_direct_p50"]
        figures.append(
            Figure(
                "HTTP: ratio",
                "/me ÷ (gRPC hop + its reads direct) latency p50",
                ratio,
                "×",
                "≤ 1.5×",
                ratio <= 1.5,
            )
        )
    if "authorized_over_echo_hop" in http:
        figures.append(
            Figure(
                "HTTP: ratio",
                "GET /users (custom role) ÷ gRPC hop requests/s",
                http["authorized_over_echo_hop"],
                "×",
            )
        )
    for key, name in (
        ("scoped_card", "number card, subtree-scoped user ÷ gRPC hop requests/s"),
        ("scoped_page", "page of numbers, subtree-scoped user ÷ gRPC hop requests/s"),
    ):
        if f"{key}_over_echo_hop" in http:
            figures.append(Figure("HTTP: ratio", name, http[f"{key}_over_echo_hop"], "×"))
    if results.get("keyset"):
        figures += keyset_figures(results["keyset"])
    if results.get("numbers"):
        figures += numbers_figures(results["numbers"])
    if results.get("bulk"):
        figures += bulk_figures(results["bulk"])
    if results.get("reports"):
        figures += reports_figures(results["reports"])
    if results.get("webhooks"):
        figures += webhooks_figures(results["webhooks"])
    if results.get("billing"):
        figures += billing_figures(results["billing"])
    if results.get("storm"):
        from bench.storm import storm_figures  # its own module: it starts the whole system

        figures += storm_figures(results["storm"])
    events = results.get("events")
    if events:
        section = "Events: outbox → RabbitMQ → consumer"
        raw = events["raw_inserts_per_s"]
        figures += [
            Figure("Events: raw insert_one", "sequential", raw["sequential"], "inserts/s"),
            Figure(
                "Events: raw insert_one",
                f"{events['producers']} concurrent",
                raw["concurrent"],
                "inserts/s",
            ),
            *_producer_alone_figures(events),
            Figure(
                section,
                f"{events['events']:,} events, {events['producers']} producers: commits",
                events["commits_per_s"],
                "commits/s",
            ),
            Figure(
                section,
                "end to end (first commit → last effect)",
                events["events_per_s"],
                "events/s",
            ),
            Figure(
                section,
                f"÷ raw inserts/s, {events['producers']} concurrent",
                events["ratio_to_concurrent"],
                "×",
                "≥ 0.5×",
                events["ratio_to_concurrent"] >= 0.5,
            ),
            Figure(
                section,
                "÷ raw inserts/s, sequential",
                events["ratio_to_sequential"],
                "×",
                "≥ 0.5×",
                events["ratio_to_sequential"] >= 0.5,
            ),
            Figure(section, "commit → effect p50", events["delay_ms"]["p50"], "ms"),
            Figure(section, "commit → effect p99", events["delay_ms"]["p99"], "ms"),
            Figure(
                section,
                "relay batches (mean size)",
                events["relay_batch_mean"],
                "events/batch",
            ),
        ]
        db_per_event = events.get("cpu_ms_per_event", {}).get(DATABASE)
        if db_per_event is not None and math.isfinite(raw["db_cpu_ms_per_insert"]):
            figures += [
                Figure(
                    "Events: database CPU",
                    "SecantusDB CPU per raw insert",
                    raw["db_cpu_ms_per_insert"],
                    "ms",
                ),
                Figure("Events: database CPU", "SecantusDB CPU per event", db_per_event, "ms"),
            ]
        if events["applied"] != events["events"] or events["applied_twice"]:
            figures.append(
                Figure(
                    section,
                    "events applied",
                    events["applied"],
                    "events",
                    f"= {events['events']}, none twice",
                    False,
                )
            )
    return figures


def print_report(console: Console, results: dict[str, Any], figures: list[Figure]) -> None:
    table = Table(title="Virtual Manager benchmarks", title_style="bold")
    table.add_column("benchmark")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("unit")
    table.add_column("target")
    table.add_column("verdict")
    section = None
    for figure in figures:
        if section is not None and figure.section != section:
            table.add_section()
        table.add_row(
            figure.section if figure.section != section else "",
            figure.name,
            _format(figure.value, figure.unit),
            figure.unit,
            figure.target,
            figure.verdict,
        )
        section = figure.section
    console.print(table)
    for size, measured in results.get("numbers", {}).get("sizes", {}).items():
        for read, entry in measured["reads"].items():
            if "explain" in entry:
                plan = entry["explain"]
                console.print(
                    f"explain, {int(size):,} numbers, {read}: index [bold]{plan['index']}[/] "
                    f"{plan['key_pattern'] or ''} stages {' → '.join(plan['stages'])}"
                )

    print_command_sources(console, results)
    print_database_time(console, results)
    cpu = Table(
        title="CPU during the measurement window (% of one core; the machine has "
        f"{results['machine']['cpus']})",
        title_style="bold",
    )
    cpu.add_column("benchmark")
    cpu.add_column("process: CPU %")
    rows = windows(results)
    if not rows:
        return
    for name, result in rows:
        used = result.get("cpu_percent", {})
        shares = (f"{process} {percent:.0f}" for process, percent in used.items())
        cpu.add_row(name, ", ".join(shares))
    console.print(cpu)


# Rows of a breakdown printed (the JSON keeps them all).
TOP_ROWS = 20


def print_command_sources(console: Console, results: dict[str, Any]) -> None:
    """The bulk job's database commands and documents written per number, by the process
    that sent them."""
    job = results.get("bulk", {}).get("job", {})
    for key, title in (
        ("commands_per_number_by_source", "database commands"),
        ("documents_written_per_number", "documents written"),
    ):
        shares = job.get(key)
        if not shares:
            continue
        table = Table(
            title=f"Bulk block: {title} per number until its events were consumed, by "
            "sender (the most first)",
            title_style="bold",
        )
        for column in ("process", "command", "collection", "per number"):
            table.add_column(column, justify="right" if column == "per number" else "left")
        for share in shares:
            table.add_row(
                share["process"], share["command"], share["collection"], f"{share['per_unit']:.3f}"
            )
        console.print(table)


def print_database_time(console: Console, results: dict[str, Any]) -> None:
    """Where the database's time went during the bulk job, by collection (its `top`), and
    the functions of the database server that spent its CPU (py-spy), when recorded."""
    job = results.get("bulk", {}).get("job", {})
    if rows := job.get("db_time_per_number_by_collection"):
        table = Table(
            title="Bulk block: the database's time per number until its events were consumed, "
            "by collection (`top`; a commit is in no collection)",
            title_style="bold",
        )
        for column in ("collection", "operation", "ms per number", "operations", "share"):
            table.add_column(
                column, justify="left" if column in ("collection", "operation") else "right"
            )
        for row in rows[:TOP_ROWS]:
            table.add_row(
                row["collection"],
                row["kind"],
                f"{row['ms_per_unit']:.2f}",
                f"{row['operations_per_unit']:.3f}",
                f"{row['share']:.0%}",
            )
        console.print(table)
    profile = job.get("database_profile") or {}
    if profile.get("error"):
        console.print(f"[yellow]The database was not profiled: {profile['error']}")
    for key, title in (("inclusive", "in the function and its calls"), ("self", "in it alone")):
        if not profile.get(key):
            continue
        table = Table(
            title=f"Bulk job: the database server's samples {title} "
            f"(py-spy, {profile['samples']:,} samples; {profile['file']})",
            title_style="bold",
        )
        table.add_column("function")
        table.add_column("share", justify="right")
        for row in profile[key][:TOP_ROWS]:
            table.add_row(row["function"], f"{row['share']:.1%}")
        console.print(table)


def write_json(results: dict[str, Any], figures: list[Figure], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = _finite({**results, "figures": [asdict(f) for f in figures]})
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _finite(value: Any) -> Any:
    """NaN (a figure that could not be measured) becomes null: JSON has no NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
