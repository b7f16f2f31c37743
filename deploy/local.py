"""`make run`: the whole system on one machine, from the Procfile, under honcho.

Starts the embedded MongoDB-protocol server (SecantusDB, data in .data/) unless
VM_MONGO_URL points at a MongoDB of yours; uses the RabbitMQ at VM_AMQP_URL, starting a
local `rabbitmq-server -detached` when none listens and one is installed. The `demo`
process loads the demo data once the system is healthy and prints the URLs and logins.
Ctrl-C stops every process.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from services.kit.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ("devsink", "identity", "catalog", "billing", "documents", "tickets", "gateway", "demo")


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


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] != "run":
        sys.exit("usage: python -m deploy.local run")
    os.chdir(ROOT)
    env = dict(os.environ)
    env.setdefault("VM_ENV", "dev")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    processes = list(PROCESSES)
    if "VM_MONGO_URL" not in os.environ:
        (ROOT / ".data" / "mongo").mkdir(parents=True, exist_ok=True)
        processes.insert(0, "mongo")
    ensure_rabbitmq(get_settings().amqp_url)
    honcho = [sys.executable, "-m", "honcho", "start", "-f", "Procfile", *processes]
    os.execvpe(honcho[0], honcho, env)


if __name__ == "__main__":
    main()
