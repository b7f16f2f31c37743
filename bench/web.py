"""HTTP at N keep-alive connections: a bare FastAPI endpoint, one gRPC hop, and /me.

Every server runs in its own process, the load generator in another; the CPU each of
them used during the measurement window is recorded next to the figures, so a reader can
see which process was the limit. `whole_system` and `demo_admin_token` serve the other
benchmarks of the whole system too (bench.identity).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import jwt
from pymongo.asynchronous.database import AsyncDatabase

from bench.events import drop_databases
from bench.procs import (
    DATABASE,
    OTHERS,
    ROOT,
    CpuMeter,
    child_pids,
    start_module,
    stop,
    stop_children,
    wait_until_quiet,
)
from services.kit.settings import SERVICE_NAMES, Settings
from tests.support.servers import MongoServer, delete_broker_namespace, free_port, wait_for_port
from tests.support.system import RunningSystem, events_consumed, start_system

if TYPE_CHECKING:
    from bench.direct import Query

LOAD_GENERATOR = "load generator"
# The demo's events (its companies' numbers, users and nodes) consumed before measuring.
DEMO_SETTLE_MAX_SECONDS = 300


@dataclass(frozen=True)
class LoadOptions:
    connections: int = 32
    warmup: float = 2.0
    duration: float = 10.0
    client: str = "auto"  # auto (wrk when installed), python, wrk
    quiet_wait: float = 30.0  # seconds to wait at most for an idle machine before measuring
    # Where the database's sampling profiles of the bulk job go (bench/profiler.py); None:
    # not profiled.
    profiles: Path | None = None
    # The bulk block with the demo company's webhook endpoint deleted first: the job as the
    # system did it before it sent webhooks (issue 15's figures were measured then).
    bulk_without_webhooks: bool = False

    @property
    def use_wrk(self) -> bool:
        if self.client == "wrk":
            return True
        return self.client == "auto" and shutil.which("wrk") is not None


def measure(
    port: int,
    path: str,
    options: LoadOptions,
    processes: Mapping[str, int | Sequence[int]],
    headers: Sequence[str] = (),
    bodies: Sequence[str] = (),
) -> dict[str, Any]:
    """Load 127.0.0.1:port/path; the result plus each process's CPU during the window.

    With `bodies` (JSON), a POST, connection i sending body i modulo their number; wrk
    sends the same request on every connection, so such a load always uses bench.loadgen.
    """
    waited = wait_until_quiet(options.quiet_wait)
    meter = CpuMeter(processes)
    if options.use_wrk and not bodies:
        result = _measure_with_wrk(port, path, options, meter, headers)
    else:
        result = _measure_with_loadgen(port, path, options, meter, headers, bodies)
    result["cpu_percent"] = meter.percent
    result["waited_for_idle_machine_s"] = waited
    served = sum(
        used for name, used in meter.seconds.items() if name not in (LOAD_GENERATOR, OTHERS)
    )
    requests = result["requests_per_s"] * meter.wall  # in the meter's (same) window
    result["server_cpu_ms_per_request"] = 1000 * served / requests if requests else math.nan
    return result


def _measure_with_loadgen(
    port: int,
    path: str,
    options: LoadOptions,
    meter: CpuMeter,
    headers: Sequence[str],
    bodies: Sequence[str] = (),
) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--port",
        str(port),
        "--path",
        path,
        "--connections",
        str(options.connections),
        "--warmup",
        str(options.warmup),
        "--duration",
        str(options.duration),
        *(part for header in headers for part in ("--header", header)),
        *(["--method", "POST"] if bodies else []),
        *(part for body in bodies for part in ("--body", body)),
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    meter.add(LOAD_GENERATOR, process.pid)
    result: dict[str, Any] | None = None
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("window-start"):
                meter.start()
            elif line.startswith("window-end"):
                meter.stop()
            elif line.startswith("{"):
                result = json.loads(line)
        process.wait(timeout=30)
    finally:
        stop(process)
    if result is None:
        raise RuntimeError(f"the load generator gave no result (exit code {process.returncode})")
    return result


_WRK_TIME = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _measure_with_wrk(
    port: int, path: str, options: LoadOptions, meter: CpuMeter, headers: Sequence[str]
) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}{path}"
    base = [
        "wrk",
        "-t2",
        f"-c{options.connections}",
        "--latency",
        *(part for header in headers for part in ("-H", header)),
    ]
    subprocess.run(
        [*base, f"-d{max(1, math.ceil(options.warmup))}s", url],
        capture_output=True,
        check=True,
        timeout=options.warmup + 30,
    )
    meter.start()
    done = subprocess.run(
        [*base, f"-d{max(1, round(options.duration))}s", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=options.duration + 30,
    )
    meter.stop()
    return parse_wrk(done.stdout, options.connections, options.warmup)


def parse_wrk(output: str, connections: int, warmup: float) -> dict[str, Any]:
    """The figures of `wrk --latency` output (non-2xx answers do not count as requests)."""
    latency = {}
    for label, key in (("50", "p50"), ("90", "p90"), ("99", "p99")):
        found = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
        latency[key] = float(found.group(1)) * _WRK_TIME[found.group(2)] if found else math.nan
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    if total is None:
        raise RuntimeError(f"cannot read the output of wrk: {output[:500]}")
    window = float(total.group(2)) * _WRK_TIME[total.group(3)] / 1000
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    failed = int(non_2xx.group(1)) if non_2xx else 0
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    ok = int(total.group(1)) - failed
    return {
        "client": "wrk",
        "connections": connections,
        "warmup_s": warmup,
        "window_s": window,
        "requests": ok,
        "requests_per_s": ok / window,
        "latency_ms": latency,
        "errors": failed + (sum(int(n) for n in socket.groups()) if socket else 0),
        "lost_connections": 0,
    }


def check_json(port: int, path: str, headers: Sequence[str] = ()) -> dict[str, Any]:
    """One request before the load: the endpoint must answer 200 with JSON."""
    sent = dict(header.split(": ", 1) for header in headers)
    response = httpx.get(f"http://127.0.0.1:{port}{path}", headers=sent, timeout=10)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
    return response.json()


def _wait_http(port: int, path: str, timeout: float = 30.0) -> None:
    wait_for_port(port, timeout=timeout)
    check_json(port, path)


def bench_raw(options: LoadOptions, log_dir: Path) -> dict[str, Any]:
    port = free_port()
    app = start_module("bench.apps", "raw", "--port", str(port), log=log_dir / "raw-app.log")
    try:
        _wait_http(port, "/ping")
        return measure(port, "/ping", options, {"uvicorn app": app.pid})
    finally:
        stop(app)


def bench_echo_hop(options: LoadOptions, log_dir: Path) -> dict[str, Any]:
    echo_port, app_port = free_port(), free_port()
    echo = start_module("bench.echo", "--port", str(echo_port), log=log_dir / "echo.log")
    app = None
    try:
        wait_for_port(echo_port)
        app = start_module(
            "bench.apps",
            "hop",
            "--port",
            str(app_port),
            "--echo",
            f"127.0.0.1:{echo_port}",
            log=log_dir / "hop-app.log",
        )
        _wait_http(app_port, "/echo")
        return measure(app_port, "/echo", options, {"uvicorn app": app.pid, "gRPC echo": echo.pid})
    finally:
        stop(app)
        stop(echo)


async def demo_admin_token(system: RunningSystem) -> tuple[str, str]:
    """Load the demo data as `make run` does (the operator's gRPC CreateCompany, then the
    public registration flow with the codes from the development sink) but without its
    history (payments, usage, tickets, documents: minutes of set-up no benchmark reads;
    those that need usage feed their own), log in as a
    registered demo company's administrator through the gateway: (access token, main
    number). Imported here: only the whole system's benchmarks need identity's generated
    code."""
    from demo.load import load_demo

    await load_demo(system.settings, history=False)
    await events_consumed(system, DEMO_SETTLE_MAX_SECONDS)  # measured on a quiet system
    return await demo_admin_login(system)


async def demo_admin_login(system: RunningSystem) -> tuple[str, str]:
    """The demo company's administrator logged in through the gateway (the demo loaded
    already): (access token, main number)."""
    from demo.data import COMPANIES, DEMO_PASSWORD

    admin = next(company for company in COMPANIES if company.registers)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:
        login = await api.post(
            "/api/v1/auth/login", json={"login": admin.main_number, "password": DEMO_PASSWORD}
        )
        login.raise_for_status()
    return login.json()["access_token"], admin.main_number


def fresh_token(system: RunningSystem) -> str:
    """A new access token of the demo's administrator: adding thousands of numbers, a bulk
    job and its events each may outlast one."""
    token, _ = asyncio.run(demo_admin_login(system))
    return token


# The tests' system replaces a dead worker within 5 s; a benchmark runs with the default
# lease, as production does (a batch on a loaded machine may take longer than 5 s).
DEFAULT_LEASE = Settings.model_fields["work_lease_seconds"].default
PRODUCTION_LIKE = {"VM_WORK_LEASE_SECONDS": str(DEFAULT_LEASE)}


@contextmanager
def whole_system(mongo: MongoServer, amqp_url: str) -> Iterator[RunningSystem]:
    """The whole system on free ports for one benchmark: stopped afterwards, its databases
    and broker objects deleted, also when it fails half way through starting."""
    before = child_pids()
    try:
        system = start_system(mongo.url, amqp_url, PRODUCTION_LIKE)
    except BaseException:
        stop_children(child_pids() - before)  # what it started before it failed
        raise
    try:
        yield system
    finally:
        system.stop()
        asyncio.run(_forget_system(mongo, amqp_url, system))


def system_processes(system: RunningSystem, mongo: MongoServer) -> dict[str, int | list[int]]:
    """The processes whose CPU a benchmark of the whole system records."""
    processes: dict[str, int | list[int]] = {
        "gateway": system.processes["gateway"].pid,
        "identity": system.processes["identity"].pid,
        "other services": [
            system.processes[name].pid
            for name in system.processes
            if name not in ("gateway", "identity")
        ],
    }
    if mongo.process is not None:
        processes[DATABASE] = mongo.process.pid
    return processes


def me_reads(token: str) -> Query:
    """What identity reads for GET /me once the company is cached: the user and whether
    their session is live, together (`ProfileCases.me` → `AccessCases.caller`)."""
    claims = jwt.decode(token, options={"verify_signature": False})
    user = {"_id": claims["sub"], "company_id": claims["cid"]}
    session = {"_id": claims["sid"], "company_id": claims["cid"], "revoked": False}

    async def read(db: AsyncDatabase) -> Any:
        found = await asyncio.gather(
            db["users"].find_one(user), db["sessions"].find_one(session, projection={"_id": 1})
        )
        return all(found)

    return read


def bench_me(mongo: MongoServer, amqp_url: str, options: LoadOptions) -> dict[str, Any]:
    """GET /me through the whole system, then identity's reads for it issued directly."""
    from bench.direct import measure_direct  # it imports LoadOptions from here

    with whole_system(mongo, amqp_url) as system:
        token, main_number = asyncio.run(demo_admin_token(system))
        headers = [f"Authorization: Bearer {token}"]
        port = system.settings.gateway_port
        body = check_json(port, "/api/v1/me", headers)
        if body["company"]["main_number"] != main_number:
            raise RuntimeError("GET /api/v1/me answered for another company")
        result = measure(port, "/api/v1/me", options, system_processes(system, mongo), headers)
        database = system.settings.database_name("identity")
        direct = measure_direct(mongo, database, me_reads(token), options)
        if direct["empty_answers"]:
            raise RuntimeError("the direct reads of /me found no user or no live session")
        result["direct"] = direct
        result["log_dir"] = str(system.log_dir)
        return result


async def _forget_system(mongo: MongoServer, amqp_url: str, system: RunningSystem) -> None:
    """The broker's objects, and the databases on a server the benchmark does not own (a
    SecantusDB of its own is stopped with everything in it)."""
    await delete_broker_namespace(amqp_url, system.settings.amqp_prefix, SERVICE_NAMES)
    if mongo.process is None:
        await drop_databases(mongo.url, system.settings.mongo_db_prefix)
