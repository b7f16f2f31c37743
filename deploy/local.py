"""`make run`: the whole system on one machine — every process of the Procfile under
honcho, then the demo data, with progress, then the URLs and demo logins.

Starts the embedded MongoDB-protocol server (SecantusDB, data in .data/) unless
VM_MONGO_URL points at a MongoDB of yours; uses the RabbitMQ at VM_AMQP_URL, starting a
local `rabbitmq-server -detached` when none listens and one is installed.

The Procfile is the one list of processes: whatever it names runs. Their logs go to
`.data/logs/run.log`; the terminal shows the demo's progress, the banner, and of the
processes' output only what a person should see (warnings, errors, a process that
stopped). Ctrl-C stops every process: SIGTERM, and SIGKILL for one still there after
honcho's wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from rich.console import Console

from demo.terminal import load_with_progress, print_banner, wait_until_healthy
from services.kit.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parent.parent
PROCFILE = ROOT / "Procfile"
RUN_LOG = ROOT / ".data" / "logs" / "run.log"
# The embedded database: started unless VM_MONGO_URL names another MongoDB.
EMBEDDED_MONGO = "mongo"
# How long the processes get to stop after Ctrl-C before they are killed (honcho itself
# kills what is left after 5 s).
STOP_SECONDS = 12.0
QUIET_LEVELS = {"debug", "info"}


def procfile_processes(procfile: Path = PROCFILE) -> list[str]:
    """The process names of a Procfile, in its order."""
    names = []
    for line in procfile.read_text().splitlines():
        name, colon, command = line.partition(":")
        if colon and command.strip() and name.strip() and not name.lstrip().startswith("#"):
            names.append(name.strip())
    return names


def processes_to_start(environ: dict[str, str], procfile: Path = PROCFILE) -> list[str]:
    """Every Procfile process; the embedded MongoDB only when no other one is named."""
    names = procfile_processes(procfile)
    if "VM_MONGO_URL" in environ:
        names = [name for name in names if name != EMBEDDED_MONGO]
    return names


def listening(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def ensure_rabbitmq(amqp_url: str, wait_seconds: float = 90.0) -> None:
    """RabbitMQ must answer at `amqp_url`; start the local one if it is installed."""
    parsed = urlparse(amqp_url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 5672
    if listening(host, port):
        return
    if host not in ("127.0.0.1", "localhost") or shutil.which("rabbitmq-server") is None:
        sys.exit(
            f"RabbitMQ does not answer at {host}:{port}.\n"
            "Install and start it (Debian/Ubuntu: `sudo apt-get install rabbitmq-server`), "
            "or point VM_AMQP_URL at a running broker."
        )
    print(f"starting rabbitmq-server (nothing listens on {host}:{port}) …", flush=True)
    subprocess.run(["rabbitmq-server", "-detached"], check=False)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if listening(host, port):
            return
        time.sleep(1)
    sys.exit(f"rabbitmq-server did not start listening on {host}:{port} in {wait_seconds:.0f}s")


def worth_showing(line: str) -> bool:
    """A line of honcho's output that belongs on the terminal: honcho's own (a process
    started or stopped), anything that is not a JSON log (a traceback), and JSON logs of
    level warning and above."""
    _, bar, message = line.partition("| ")
    if not bar:
        return True
    try:
        record = json.loads(message)
    except ValueError:
        return bool(message.strip())
    return not isinstance(record, dict) or str(record.get("level", "")).lower() not in QUIET_LEVELS


async def relay_output(stream: asyncio.StreamReader, log: Path, console: Console) -> None:
    """Every line to the run log; those worth it to the terminal too."""
    with log.open("a", encoding="utf-8", errors="replace") as sink:
        while raw := await stream.readline():
            line = raw.decode(errors="replace").rstrip("\n")
            sink.write(line + "\n")
            sink.flush()
            if worth_showing(line):
                console.print(line, markup=False, highlight=False, soft_wrap=True)


async def stop_processes(honcho: asyncio.subprocess.Process) -> int:
    """SIGTERM to honcho, which stops every process it started; SIGKILL to all of them if
    they outlive STOP_SECONDS."""
    if honcho.returncode is None:
        honcho.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(honcho.wait(), STOP_SECONDS)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(honcho.pid, signal.SIGKILL)
            await honcho.wait()
    return honcho.returncode or 0


async def run_system(settings: Settings, environ: dict[str, str], console: Console) -> int:
    names = processes_to_start(environ)
    RUN_LOG.parent.mkdir(parents=True, exist_ok=True)
    console.print(f"starting {', '.join(names)} — their logs: {RUN_LOG.relative_to(ROOT)}")
    honcho = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "honcho", "start", "--no-colour", "-f", str(PROCFILE), *names),
        cwd=ROOT,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        # Its own session: Ctrl-C reaches this process, which then stops honcho in order.
        start_new_session=True,
    )
    assert honcho.stdout is not None
    relay = asyncio.create_task(relay_output(honcho.stdout, RUN_LOG, console))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    exited = asyncio.create_task(honcho.wait())
    stopping = asyncio.create_task(stop.wait())
    loading = asyncio.create_task(start_and_load(settings, console))
    code = 0
    try:
        await asyncio.wait({loading, exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if loading.done() and loading.exception() is None:
            await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        elif loading.done():
            console.print(f"[bold red]the demo did not load: {loading.exception()}")
            code = 1
        if exited.done():
            console.print(f"[bold red]a process stopped; the system is down (see {RUN_LOG})")
            code = 1
    finally:
        loading.cancel()
        console.print("stopping every process …")
        await stop_processes(honcho)
        await relay
        for task in (exited, stopping):
            task.cancel()
    return code


async def start_and_load(settings: Settings, console: Console) -> None:
    gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
    started = time.monotonic()
    with console.status("waiting until every service answers …"):
        await wait_until_healthy(gateway, within_seconds=180)
    console.print(f"every service answers ({time.monotonic() - started:.1f} s)")
    report = await load_with_progress(settings, console)
    print_banner(console, settings, report, running=True)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] != "run":
        sys.exit("usage: python -m deploy.local run")
    os.chdir(ROOT)
    environ = dict(os.environ)
    environ.setdefault("VM_ENV", "dev")
    environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environ.get('PATH', '')}"
    environ["PYTHONUNBUFFERED"] = "1"
    if "VM_MONGO_URL" not in environ:
        (ROOT / ".data" / "mongo").mkdir(parents=True, exist_ok=True)
    settings = get_settings()
    ensure_rabbitmq(settings.amqp_url)
    console = Console(highlight=False)
    sys.exit(asyncio.run(run_system(settings, environ, console)))


if __name__ == "__main__":
    main()
