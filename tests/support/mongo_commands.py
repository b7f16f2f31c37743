"""What a test's client sent the database: the filters of its `find` commands, to check
that no list's read is a query the embedded server answers by scanning a whole collection
(one with a top-level operator such as `$or`)."""

from __future__ import annotations

from typing import Any

from pymongo import monitoring


class Finds(monitoring.CommandListener):
    def __init__(self) -> None:
        self.filters: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.filters.append(dict(event.command.get("filter", {})))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def with_top_level_operators(self) -> list[dict[str, Any]]:
        return [f for f in self.filters if any(str(key).startswith("$") for key in f)]
