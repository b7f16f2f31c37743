"""What the demo loader tells a person while it works: one line per step, with a bar where
the step has a count (numbers added, usage records fed, operations finished)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import Progress

Advance = Callable[[int], None]


class Steps:
    """Steps shown on a rich `Progress`; without one (tests, benchmarks) nothing is shown."""

    def __init__(self, progress: Progress | None = None) -> None:
        self._progress = progress

    @contextmanager
    def step(self, description: str, total: int | None = None) -> Iterator[Advance]:
        """A step of `total` units (None: one unit); the caller advances it as it goes,
        and it is shown complete when the block ends without an error."""
        if self._progress is None:
            yield lambda units=1: None
            return
        progress = self._progress
        task = progress.add_task(description, total=total or 1)
        yield lambda units=1: progress.advance(task, units)
        progress.update(task, completed=total or 1)


SILENT = Steps()
