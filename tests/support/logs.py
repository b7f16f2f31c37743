"""A process's JSON log lines as it writes them, kept for a test to read."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from services.kit.logs import JsonFormatter


class JsonLines(logging.Handler):
    """Formats records as the services do: when logged, in the caller's own context (its
    request and trace ids)."""

    def __init__(self, service: str = "probe", level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.setFormatter(JsonFormatter(service))
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


def slow_and_failed_calls(log_dir: Path, *, at_least_ms: float = 1000.0, most: int = 60) -> str:
    """The calls that took `at_least_ms` or more, and the warnings and errors, in the JSON
    logs of a whole system (`log_dir`), in time order: what a run that met an overloaded or
    stalled service needs to say where the time went, when its logs are gone."""
    found: list[tuple[str, str]] = []
    for path in sorted(log_dir.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict):
                continue
            slow = (entry.get("duration_ms") or 0) >= at_least_ms
            if slow or entry.get("level") in ("warning", "error", "critical"):
                found.append((str(entry.get("ts", "")), _described(path.stem, entry)))
    found.sort()
    lines = [text for _, text in found]
    if len(lines) > most:
        lines = [*lines[: most // 2], f"… {len(lines) - most} more …", *lines[-most // 2 :]]
    return "\n".join(lines) or f"(no call of {at_least_ms:.0f} ms or more, no warning)"


def _described(process: str, entry: dict[str, Any]) -> str:
    # A service's access line names its gRPC method; the gateway's, an HTTP method and route.
    what = " ".join(str(entry[key]) for key in ("method", "route") if entry.get(key))
    parts = [
        str(entry.get("ts", "")),
        process,
        str(entry.get("level", "")),
        str(entry.get("msg", "")),
        what,
        str(entry.get("code") or entry.get("status") or ""),
        f"{entry['duration_ms']:.0f} ms" if entry.get("duration_ms") is not None else "",
    ]
    return " ".join(part for part in parts if part)
