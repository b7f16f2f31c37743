"""Child processes of a benchmark run: start, stop, and how much CPU each one used."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.servers import MongoServer

ROOT = Path(__file__).resolve().parent.parent
_TICKS = os.sysconf("SC_CLK_TCK")
OTHERS = "everything else on the machine"  # CPU that no process of the run used
DATABASE = "SecantusDB"


def start_module(
    module: str, *args: str, log: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`python -m module args…` from the repository root; output to `log` (or nowhere)."""
    output = log.open("ab") if log else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    finally:
        if log:
            output.close()  # the child holds its own descriptor


def stop(process: subprocess.Popen[Any] | None, timeout: float = 15.0) -> None:
    """SIGTERM, wait, then SIGKILL: only the process given."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def machine_busy_seconds() -> float:
    """CPU time all cores of the machine have spent busy since boot (from /proc/stat)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return (sum(fields[:8]) - idle) / _TICKS
    return 0.0


def wait_until_quiet(max_wait: float, busy_below: float = 0.15, sample: float = 1.0) -> float:
    """Wait (at most `max_wait` s) until the whole machine is nearly idle — less than
    `busy_below` of one core busy over `sample` s — so that other work (another test run)
    does not share the CPU with a measurement. Returns the seconds waited."""
    started = time.monotonic()
    while True:
        before = machine_busy_seconds()
        time.sleep(sample)
        if (machine_busy_seconds() - before) / sample < busy_below:
            break
        if time.monotonic() - started >= max_wait:
            break
    return round(time.monotonic() - started, 1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (all its threads), from /proc."""
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS
    return 0.0


def database_pid(mongo: MongoServer) -> int | None:
    """The database server's process, None for one not started here (VM_TEST_MONGO_URL)."""
    return mongo.process.pid if mongo.process is not None else None


def database_cpu_seconds(pid: int | None) -> float:
    """The database process's CPU time so far; NaN for a server not started here
    (VM_TEST_MONGO_URL), whose CPU cannot be read."""
    return cpu_seconds(pid) if pid else math.nan


class CpuMeter:
    """CPU used by named processes (one or several pids each) between `start()` and
    `stop()`, in % of one core."""

    def __init__(self, processes: Mapping[str, int | Sequence[int]]) -> None:
        self._pids = {
            name: [pid] if isinstance(pid, int) else list(pid) for name, pid in processes.items()
        }
        self._before: dict[str, float] = {}
        self._started = 0.0
        self._machine_before = 0.0
        self.wall = 0.0
        self.seconds: dict[str, float] = {}
        self.percent: dict[str, float] = {}

    def add(self, name: str, *pid: int) -> None:
        self._pids[name] = list(pid)

    def _used(self, name: str) -> float:
        return sum(cpu_seconds(pid) for pid in self._pids[name])

    def start(self) -> None:
        self._started = time.monotonic()
        self._before = {name: self._used(name) for name in self._pids}
        self._machine_before = machine_busy_seconds()

    def stop(self) -> dict[str, float]:
        self.wall = max(time.monotonic() - self._started, 1e-9)
        self.seconds = {name: self._used(name) - self._before.get(name, 0.0) for name in self._pids}
        # What no process of ours used: other work on the machine, which makes figures noisy.
        machine = machine_busy_seconds() - self._machine_before
        self.seconds[OTHERS] = max(0.0, machine - sum(self.seconds.values()))
        self.percent = {
            name: round(100 * used / self.wall, 1) for name, used in self.seconds.items()
        }
        return self.percent


def find_pid(command: str) -> int | None:
    """The pid of a running process by its command name (e.g. RabbitMQ's `beam.smp`), to
    read its CPU use; None when there is none."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == command:
                    return int(entry.name)
    return None


def child_pids() -> set[int]:
    """The pids of this process's live children (from /proc)."""
    mine, found = os.getpid(), set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[1]) == mine and stat[0] != "Z":
                    found.add(int(entry.name))
    return found


def stop_children(pids: set[int], timeout: float = 15.0) -> None:
    """SIGTERM these children of ours, reap them, SIGKILL what is left after `timeout`
    (for processes a helper started and then lost track of when it failed)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    waiting = set(pids)
    while waiting and time.monotonic() < deadline:
        for pid in list(waiting):
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] == 0:
                    continue
            waiting.discard(pid)
        time.sleep(0.1)
    for pid in waiting:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
