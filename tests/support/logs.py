"""A process's JSON log lines as it writes them, kept for a test to read."""

from __future__ import annotations

import json
import logging
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
