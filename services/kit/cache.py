"""A small in-process cache: bounded, each entry kept for as long as its loader says, and
concurrent first requests for one key sharing a single load (no stampede on a miss)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Loads a value and says how many seconds it may be kept (0 or less: not kept).
Loader = Callable[[], Awaitable[tuple[V, float]]]


class SharedLoadCache(Generic[K, V]):
    def __init__(self, *, max_entries: int) -> None:
        self._max = max_entries
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._pending: dict[K, asyncio.Future[V]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[K]:
        return list(self._entries)

    def peek(self, key: K) -> V | None:
        """The value kept for `key` if it is still fresh; never loads."""
        cached = self._entries.get(key)
        return cached[1] if cached and cached[0] > time.monotonic() else None

    def forget(self, key: K) -> None:
        """Drop a kept value (its owner just changed it); the next get loads anew."""
        self._entries.pop(key, None)

    async def get(self, key: K, load: Loader[V]) -> V:
        cached = self._entries.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        if pending := self._pending.get(key):
            return await asyncio.shield(pending)
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            value, keep_seconds = await load()
        except BaseException as error:
            self._entries.pop(key, None)
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            del self._pending[key]
        future.set_result(value)
        if keep_seconds > 0:
            self._remember(key, time.monotonic() + keep_seconds, value)
        return value

    def _remember(self, key: K, until: float, value: V) -> None:
        self._entries[key] = (until, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
