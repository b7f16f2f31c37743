"""Where a process's CPU goes while a benchmark runs: py-spy's sampling profile of it.

`sampled(pid, path)` records the process (py-spy reads its memory from outside, without
pausing it: `--nonblocking`) for as long as the block runs, into `path` as collapsed stacks
(one line per distinct stack: `frame;frame;… count`, the form flame-graph tools read).
`summary(path)` reads them back: the functions that spent the samples themselves (self) and
those whose calls did (inclusive), each as a share of all the samples.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procs import ROOT

# Samples per second: shares of a few percent over a job of minutes, and few enough that
# py-spy keeps up with a server of many threads (at 97 it fell minutes behind).
RATE = 31
TOP = 25
# A frame as py-spy writes it: "function (path/to/module.py:line)"; the line is dropped so
# that a function's samples add up whatever line they were on.
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")


def py_spy() -> str | None:
    """The py-spy of the project's environment (the lock's dev extra), or one on PATH."""
    local = ROOT / ".venv" / "bin" / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


@dataclass
class Recording:
    path: Path
    error: str = ""  # why nothing was recorded, if so


@contextlib.contextmanager
def sampled(pid: int | None, path: Path) -> Iterator[Recording]:
    """Record `pid` while the block runs; the recording's `error` says why not, if so."""
    recording = Recording(path)
    program = py_spy()
    if pid is None or program is None:
        recording.error = "no process to record" if pid is None else "py-spy is not installed"
        yield recording
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    command = [program, "record", "--pid", str(pid), "--rate", str(RATE), "--nonblocking"]
    command += ["--format", "raw", "--output", str(path)]
    log = path.with_suffix(".log").open("wb")
    recorder = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield recording
    finally:
        recorder.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
        try:
            recorder.wait(timeout=60)
        except subprocess.TimeoutExpired:
            recorder.kill()
            recorder.wait()
        log.close()
        if not path.exists():
            recording.error = path.with_suffix(".log").read_text(errors="replace")[-500:]


def _frame(text: str) -> str:
    """ "commit (secantus/txn.py:120)" → "commit (secantus/txn.py)"."""
    match = _FRAME.match(text.strip())
    if match is None:
        return text.strip()
    module = match["file"].split("site-packages/")[-1]
    return f"{match['function']} ({module})"


def stacks(path: Path) -> Counter[tuple[str, ...]]:
    """The collapsed stacks of a recording, outermost frame first, with their samples."""
    counted: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        frames, _, count = line.rpartition(" ")
        if not frames or not count.isdigit():
            continue
        counted[tuple(_frame(f) for f in frames.split(";"))] += int(count)
    return counted


def summary(recording: Recording, top: int = TOP) -> dict[str, Any]:
    """The recording's samples, and the `top` functions by self and by inclusive share."""
    if recording.error:
        return {"error": recording.error}
    counted = stacks(recording.path)
    total = sum(counted.values())
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    for frames, count in counted.items():
        own[frames[-1]] += count
        for frame in set(frames):  # a recursive function counts once per sample
            under[frame] += count

    def shares(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"function": name, "share": count / total} for name, count in counter.most_common(top)
        ]

    return {
        "file": str(recording.path),
        "samples": total,
        "self": shares(own) if total else [],
        "inclusive": shares(under) if total else [],
    }
