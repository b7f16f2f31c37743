"""Failure counters of login throttling, and the addresses a login has signed in from.

Not a company's data: the login is not authenticated yet, so counters are keyed by
digests of the login or the client's address (see domain.throttling), shared by every
identity replica. Each entry carries its own `expires_at`, which a TTL index removes; until
it does, the rules treat an expired entry as absent and the next failure starts it anew.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.identity.domain.throttling import Failures
from services.identity.store.mapping import Doc

UPSERT_ATTEMPTS = 5


def _failures(doc: Doc) -> Failures:
    return Failures(
        count=int(doc["failures"]),
        first_at=doc["first_failure_at"],
        last_at=doc["last_failure_at"],
        expires_at=doc["expires_at"],
    )


class ThrottleStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._entries = db["login_throttle"]

    async def ensure_indexes(self) -> None:
        await self._entries.create_index("expires_at", expireAfterSeconds=0)

    async def load(self, *keys: str) -> tuple[dict[str, Failures], set[str]]:
        """The counters among `keys`, and which of them are known-address marks."""
        counters: dict[str, Failures] = {}
        marks: set[str] = set()
        async for doc in self._entries.find({"_id": {"$in": list(keys)}}):
            if "failures" in doc:
                counters[doc["_id"]] = _failures(doc)
            else:
                marks.add(doc["_id"])
        return counters, marks

    async def claim_attempt(
        self, key: str, seen: Failures | None, now: datetime, expires_at: datetime
    ) -> Failures | None:
        """Counts an attempt as a failure before its password is checked, if the counter
        is still as `seen` (a stale one starts anew); None when another attempt counted
        first. Of simultaneous attempts exactly one wins each count."""
        if seen is not None and not seen.live(now):
            await self._entries.delete_one({"_id": key, "failures": seen.count})
            seen = None
        try:
            doc = await self._entries.find_one_and_update(
                {"_id": key, "failures": seen.count if seen else 0},
                {
                    "$inc": {"failures": 1},
                    "$set": {"last_failure_at": now, "expires_at": expires_at},
                    "$setOnInsert": {"first_failure_at": now},
                },
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return None  # the counter exists with another count: someone counted first
        return _failures(doc) if doc else None

    async def add_failure(
        self, key: str, now: datetime, *, window_ends_at: datetime, sliding: bool
    ) -> Failures:
        """One more failure (atomic $inc). `sliding`: the entry lives `window_ends_at` from
        this failure; otherwise the window set by its first failure stays."""
        await self._entries.delete_one({"_id": key, "expires_at": {"$lte": now}})
        for _ in range(UPSERT_ATTEMPTS):
            # The entry first, then the $inc: simultaneous first failures never race an
            # upsert (whose answer the embedded server may lose, applied or not), and
            # every failure is one $inc on an entry that exists.
            with contextlib.suppress(DuplicateKeyError):
                await self._entries.insert_one(
                    {
                        "_id": key,
                        "failures": 0,
                        "first_failure_at": now,
                        "last_failure_at": now,
                        "expires_at": window_ends_at,
                    }
                )
            doc = await self._entries.find_one_and_update(
                {"_id": key},
                {
                    "$inc": {"failures": 1},
                    "$set": {
                        "last_failure_at": now,
                        **({"expires_at": window_ends_at} if sliding else {}),
                    },
                },
                return_document=ReturnDocument.AFTER,
            )
            if doc is not None:  # else forgotten in between (a login): make it again
                return _failures(doc)
        raise RuntimeError(f"the failure counter could not be written in {UPSERT_ATTEMPTS} tries")

    async def keep_until(self, key: str, expires_at: datetime) -> None:
        """Makes an entry last at least until then (an address that has just locked)."""
        await self._entries.update_one({"_id": key}, {"$max": {"expires_at": expires_at}})

    async def forget(self, key: str) -> None:
        await self._entries.delete_one({"_id": key})

    async def mark(self, key: str, expires_at: datetime) -> None:
        """A known-address mark (no counter): present until `expires_at`."""
        await self._entries.update_one(
            {"_id": key}, {"$set": {"expires_at": expires_at}}, upsert=True
        )
