"""services/kit/cache.py: one load per key at a time, kept as long as the loader says."""

from __future__ import annotations

import asyncio

import pytest

from services.kit.cache import SharedLoadCache


async def test_concurrent_misses_share_one_load_and_hits_need_none():
    cache: SharedLoadCache[str, int] = SharedLoadCache(max_entries=10)
    loads = 0

    async def load() -> tuple[int, float]:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.05)
        return 42, 60

    assert await asyncio.gather(*(cache.get("k", load) for _ in range(20))) == [42] * 20
    assert await cache.get("k", load) == 42
    assert loads == 1


async def test_a_value_kept_for_no_time_is_loaded_again():
    cache: SharedLoadCache[str, int] = SharedLoadCache(max_entries=10)
    answers = iter([(1, 0.0), (2, 0.0)])

    async def load() -> tuple[int, float]:
        return next(answers)

    assert await cache.get("k", load) == 1
    assert await cache.get("k", load) == 2
    assert len(cache) == 0


async def test_a_failed_load_reaches_every_waiter_and_is_not_kept():
    cache: SharedLoadCache[str, int] = SharedLoadCache(max_entries=10)

    async def failing() -> tuple[int, float]:
        await asyncio.sleep(0.05)
        raise RuntimeError("identity is away")

    results = await asyncio.gather(
        *(cache.get("k", failing) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    with pytest.raises(RuntimeError):
        await cache.get("k", failing)


async def test_the_oldest_entries_go_first_past_the_bound():
    cache: SharedLoadCache[str, str] = SharedLoadCache(max_entries=2)
    for key in ("a", "b", "c"):
        await cache.get(key, lambda key=key: _kept(key))
    assert cache.keys() == ["b", "c"]


async def _kept(value: str) -> tuple[str, float]:
    return value, 60


async def test_a_forgotten_value_is_loaded_again():
    cache: SharedLoadCache[str, int] = SharedLoadCache(max_entries=10)
    answers = iter([(1, 60.0), (2, 60.0)])

    async def load() -> tuple[int, float]:
        return next(answers)

    assert await cache.get("k", load) == 1
    cache.forget("k")
    assert await cache.get("k", load) == 2
