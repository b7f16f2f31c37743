"""The README's `make run`, exactly as a person runs it, on a clean clone of this repository.

Through REST only: health, the web console's page at /, a login, a number's block and
unblock, a bulk block of a subtree to `succeeded` with a result per number, an SMS, a usage
report (XLSX) and an invoice (PDF) downloaded, a ticket, a transfer. Then Ctrl-C (SIGINT
to the terminal's process group): every process must be gone; then `make run` again: the
same data there.

It needs the default ports of `make run` free (8080, 27217, 15051…). The clean clone is
the files git tracks or would track, copied without anything a run made (.venv, gen,
.data): in CI that is main as cloned; on a developer's machine, the change about to be
committed. `make smoke` runs it; CI runs it after `make test`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import openpyxl
import pytest
from pypdf import PdfReader

from services.kit.settings import SERVICE_NAMES, Settings

ROOT = Path(__file__).resolve().parents[2]
# The defaults a person gets, whatever VM_* variables this test runs with.
DEFAULTS = Settings.model_construct()
GATEWAY = f"http://127.0.0.1:{DEFAULTS.gateway_port}"
ADMIN_LOGIN = {"login": "79161234567", "password": "Demo-Passw0rd!"}
BANNER_END = "Ctrl-C stops everything"
PORTS = {
    "gateway": DEFAULTS.gateway_port,
    "mongo": 27217,
    "devsink smtp": DEFAULTS.devsink_smtp_port,
    "devsink http": DEFAULTS.devsink_http_port,
    "catalog-worker": DEFAULTS.catalog_worker_port,
    "documents-worker": DEFAULTS.documents_worker_port,
    "notifications-worker": DEFAULTS.notifications_worker_port,
    **{name: DEFAULTS.grpc_port(name) for name in SERVICE_NAMES},
}
PORTS |= {
    f"{name} metrics": port + DEFAULTS.metrics_port_offset
    for name, port in list(PORTS.items())
    if name in (*SERVICE_NAMES, "catalog-worker", "documents-worker", "notifications-worker")
}
# A fresh clone installs its virtualenv first (from the package cache).
BANNER_SECONDS = 600
STOP_SECONDS = 15

pytestmark = pytest.mark.timeout(1800)


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (children of children too), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@dataclass
class MakeRun:
    """One `make run` in its own process group, as a terminal runs it."""

    process: subprocess.Popen[bytes]
    output: Path
    started: float

    def text(self) -> str:
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.output.read_text(errors="replace"))

    def wait_for_banner(self) -> float:
        deadline = self.started + BANNER_SECONDS
        while time.monotonic() < deadline:
            if BANNER_END in self.text():
                return time.monotonic() - self.started
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        pytest.fail(f"no banner from `make run`:\n{self.text()[-6000:]}")

    def demo_seconds(self) -> float:
        found = re.search(r"demo data loaded in ([0-9.]+) s", self.text())
        assert found, self.text()[-3000:]
        return float(found.group(1))

    def interrupt(self) -> float:
        """Ctrl-C: SIGINT to the whole foreground group; every process must be gone within
        STOP_SECONDS. Returns how long it took."""
        below = descendants(self.process.pid)
        assert len(below) >= 10, "make run should have started every process"
        started = time.monotonic()
        os.killpg(self.process.pid, signal.SIGINT)
        deadline = started + STOP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None and not any(alive(pid) for pid in below):
                return time.monotonic() - started
            time.sleep(0.2)
        left = sorted(pid for pid in below if alive(pid))
        self.kill()
        pytest.fail(f"processes still running {STOP_SECONDS} s after Ctrl-C: {left}")

    def kill(self) -> None:
        below = descendants(self.process.pid)
        for pid in (self.process.pid, *below):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()


def start_make_run(clone: Path, name: str) -> MakeRun:
    # As a person's shell would have it: no settings of ours, no make of ours around it.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VM_", "MAKE", "PYTEST", "VIRTUAL_ENV")) and key != "MFLAGS"
    }
    output = clone.parent / f"{name}.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=clone,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return MakeRun(process, output, time.monotonic())


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    busy = {name: port for name, port in PORTS.items() if listening(port)}
    if busy:
        pytest.fail(f"these ports of `make run` are taken (is a `make run` running?): {busy}")
    target = tmp_path_factory.mktemp("smoke") / "virtual-manager"
    # What a clone would hold — the files git tracks, and those it would (so that a
    # developer tests the change about to be committed) — and nothing made by a run:
    # no virtualenv, generated code, data or node_modules.
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="module")
def first_run(clone: Path) -> Iterator[MakeRun]:
    run = start_make_run(clone, "first")
    try:
        yield run
    finally:
        if run.process.poll() is None:
            run.kill()


class Api:
    """The gateway as a client sees it, logged in as Ромашка's administrator."""

    def __init__(self) -> None:
        self.http = httpx.Client(base_url=GATEWAY, timeout=60)
        login = self.http.post("/api/v1/auth/login", json=ADMIN_LOGIN)
        assert login.status_code == 200, login.text
        self.http.headers["authorization"] = f"Bearer {login.json()['access_token']}"

    def ok(self, method: str, path: str, **kwargs: object) -> dict:
        response = self.http.request(method, path, **kwargs)  # type: ignore[arg-type]
        assert response.is_success, (method, path, response.status_code, response.text)
        return response.json() if response.content else {}

    def create(self, path: str, body: dict) -> dict:
        return self.ok("POST", path, json=body, headers={"idempotency-key": uuid.uuid4().hex})

    def until(self, path: str, done: Callable[[dict], bool], seconds: float = 120) -> dict:
        deadline = time.monotonic() + seconds
        while True:
            found = self.ok("GET", path)
            if done(found) or time.monotonic() > deadline:
                return found
            time.sleep(0.3)

    def finished(self, operation: dict) -> dict:
        return self.until(
            f"/api/v1/operations/{operation['id']}",
            lambda op: op["status"] not in ("pending", "running"),
        )


@dataclass
class Made:
    """What the first run changed, to be found again after the restart."""

    bulk_blocked: list[str]
    ticket_id: str
    transfer_id: str
    donor: dict
    report_url: str


def last_month() -> str:
    return (datetime.now(UTC).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def leaf_nodes(api: Api) -> list[dict]:
    nodes = api.ok("GET", "/api/v1/hierarchy")["nodes"]
    parents = {node["parent_id"] for node in nodes}
    return [node for node in nodes if node["id"] not in parents and node["number_count"]]


def numbers_of(api: Api, node_id: str) -> list[dict]:
    return api.ok("GET", "/api/v1/numbers", params={"node_id": node_id, "page_size": 200})["items"]


def exercise_the_system(api: Api) -> Made:
    assert httpx.get(f"{GATEWAY}/healthz").json()["status"] == "ok"
    # The cabinet itself, built by `make run`, at the gateway's root.
    console = httpx.get(f"{GATEWAY}/", headers={"accept": "text/html"})
    assert console.status_code == 200, console.text[:300]
    assert "<title>Виртуальный менеджер</title>" in console.text
    assert '<script type="module"' in console.text and "/assets/" in console.text
    # Every process serves its Prometheus metrics.
    for name, port in PORTS.items():
        if name.endswith(" metrics"):
            assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 200, name
    assert "vm_http_requests_total" in httpx.get(f"{GATEWAY}/metrics").text
    subtree, elsewhere = leaf_nodes(api)[:2]

    # One number's block and unblock.
    msisdn = numbers_of(api, elsewhere["id"])[0]["msisdn"]
    api.ok("POST", f"/api/v1/numbers/{msisdn}/blocks", json={"type": "voluntary"})
    card = api.ok("GET", f"/api/v1/numbers/{msisdn}")
    assert card["status"] == "blocked" and card["account"]["id"], card
    api.ok("DELETE", f"/api/v1/numbers/{msisdn}/blocks/voluntary")
    assert api.ok("GET", f"/api/v1/numbers/{msisdn}")["status"] == "active"
    # The demo's webhook endpoint got both, signed, through the notifications worker.
    hooks = api.until(
        "/dev/webhooks",
        lambda found: (
            {"number.blocked", "number.unblocked"}
            <= {json.loads(d["body"])["type"] for d in found["items"]}
        ),
    )["items"]
    told = [json.loads(d["body"]) for d in hooks]
    assert any(e["type"] == "number.blocked" and e["data"]["msisdn"] == msisdn for e in told)
    assert all(d["webhook_signature"].startswith("v1,") for d in hooks), hooks[:1]

    # A bulk block of a subtree, done by catalog's bulk worker.
    bulk = api.create(
        "/api/v1/operations",
        {"type": "block", "node_id": subtree["id"], "params": {"type": "voluntary"}},
    )
    done = api.finished(bulk)
    assert done["status"] == "succeeded", done
    assert done["total"] == subtree["number_count"] and done["done"] == done["total"], done
    results = api.ok("GET", done["results_url"], params={"page_size": 500})["items"]
    assert len(results) == subtree["number_count"]
    assert {result["status"] for result in results} == {"succeeded"}, results[:3]
    blocked = sorted(result["msisdn"] for result in results)

    # An SMS, sent by the same worker through the SMS centre.
    sms = api.create("/api/v1/sms", {"msisdns": [msisdn], "text": "Проверка связи"})
    assert api.finished(sms)["status"] == "succeeded"

    # A usage report and an invoice, made by the documents worker.
    report = api.finished(
        api.create(
            "/api/v1/reports",
            {"type": "usage", "format": "xlsx", "node_id": subtree["id"], "period": last_month()},
        )
    )
    assert report["status"] == "succeeded", report
    report_url = report["files"][0]["url"]
    workbook = openpyxl.load_workbook(io.BytesIO(api.http.get(report_url).content))
    assert workbook.active is not None and workbook.active.max_row > 1

    accounts = api.ok("GET", "/api/v1/accounts")["items"]
    invoice = api.finished(
        api.create(
            "/api/v1/documents",
            {"account_ids": [accounts[0]["id"]], "types": ["invoice"], "period": last_month()},
        )
    )
    assert invoice["status"] == "succeeded", invoice
    pdf = api.http.get(invoice["files"][0]["url"])
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Ромашка" in text

    # A ticket, and a transfer between two accounts.
    ticket = api.ok(
        "POST",
        "/api/v1/tickets",
        json={
            "category": "technical",
            "subject": "Проверка",
            "text": "Нет связи",
            "msisdns": [msisdn],
        },
    )
    donor, receiver = sorted(accounts, key=lambda a: -a["available"]["amount"])[:2]
    transfer = api.create(
        "/api/v1/transfers",
        {
            "from_account_id": donor["id"],
            "to_account_id": receiver["id"],
            "amount": {"amount": 100_00, "currency": "RUB"},
        },
    )
    after = api.ok("GET", f"/api/v1/accounts/{donor['id']}")
    assert after["balance"]["amount"] == donor["balance"]["amount"] - 100_00
    return Made(blocked, ticket["id"], transfer["id"], after, report_url)


def find_it_again(api: Api, made: Made) -> None:
    for msisdn in made.bulk_blocked:
        assert api.ok("GET", f"/api/v1/numbers/{msisdn}")["status"] == "blocked", msisdn
    assert api.ok("GET", f"/api/v1/tickets/{made.ticket_id}")["subject"] == "Проверка"
    transfers = api.ok("GET", "/api/v1/transfers", params={"page_size": 100})["items"]
    assert made.transfer_id in {transfer["id"] for transfer in transfers}
    donor = api.ok("GET", f"/api/v1/accounts/{made.donor['id']}")
    assert donor["balance"] == made.donor["balance"]
    assert api.http.get(made.report_url).status_code == 200


def test_make_run_serves_every_function_and_keeps_its_data_across_a_restart(
    clone: Path, first_run: MakeRun, capsys: pytest.CaptureFixture[str]
) -> None:
    to_banner = first_run.wait_for_banner()
    demo = first_run.demo_seconds()
    made = exercise_the_system(Api())
    stopped_in = first_run.interrupt()
    assert not [name for name, port in PORTS.items() if listening(port)]

    again = start_make_run(clone, "second")
    try:
        to_banner_again = again.wait_for_banner()
        assert "numbers — 0 added, 520 already there" in again.text()
        find_it_again(Api(), made)
        again.interrupt()
    finally:
        if again.process.poll() is None:
            again.kill()
    with capsys.disabled():
        print(
            f"\nmake run on a clean clone: banner after {to_banner:.1f} s "
            f"(the demo's own work {demo:.1f} s); Ctrl-C stopped everything in "
            f"{stopped_in:.1f} s; the second make run: banner after {to_banner_again:.1f} s"
        )
