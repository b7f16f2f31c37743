"""A RabbitMQ node of a test's own, for tests that stop and start the broker: never the
machine's shared broker, which others use. The node has its own name, ports, data and
log directories (in a temporary directory) and configuration file; it is stopped with
`rabbitmqctl -n <node> stop` and started again on the same data, so its durable queues
and their messages survive a restart as they would in production."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from deploy.local import listening
from tests.support.servers import free_port, wait_for_port

START_TIMEOUT = 90.0


def available() -> bool:
    return shutil.which("rabbitmq-server") is not None and shutil.which("rabbitmqctl") is not None


@dataclass
class RabbitNode:
    name: str = field(default_factory=lambda: f"vmtest{secrets.token_hex(3)}@localhost")
    port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="vm-rabbit-")))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(self.base / "feature_flags"),
            "RABBITMQ_PID_FILE": str(self.base / "pid"),
            # Its own (empty) configuration: the machine's names the shared broker's port.
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq"),
        }

    def start(self) -> None:
        if not (self.base / "mnesia").exists():
            (self.base / "mnesia").mkdir(parents=True)
            (self.base / "log").mkdir()
            (self.base / "enabled_plugins").write_text("[].\n")
            (self.base / "rabbitmq.conf").write_text("# a test's own node\n")
            # The packaged start script runs the node as the `rabbitmq` user.
            subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", str(self.base)], check=False)
            self.base.chmod(0o755)
        self.process = subprocess.Popen(
            ["rabbitmq-server"],
            env=self._env(),
            stdout=(self.base / "server.out").open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, timeout=START_TIMEOUT)
        self.ctl("await_startup")

    def ctl(self, *args: str) -> None:
        subprocess.run(
            ["rabbitmqctl", "-n", self.name, *args],
            env=self._env(),
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT,
        )

    def stop(self) -> None:
        self.ctl("stop")
        if self.process is not None:
            self.process.wait(timeout=START_TIMEOUT)
            self.process = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the port is free before it may start again
            if not listening("127.0.0.1", self.port):
                return
            time.sleep(0.2)

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        if self.process is not None:
            try:
                self.stop()
            except subprocess.SubprocessError:
                self.process.kill()
        shutil.rmtree(self.base, ignore_errors=True)
