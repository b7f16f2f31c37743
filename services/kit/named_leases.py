"""Leases on names, kept in MongoDB: one document per name, `{_id: name, holder,
lease_until}`, held by one holder at a time until its lease runs out.

A lease on a name stands for a lease on everything under it: a webhook worker that holds
an endpoint's lease is the only one sending that endpoint's deliveries, so no delivery
needs a claim of its own. A holder renews its lease before it runs out, and lets it go
when it stops; one that dies leaves a lease that another takes over once it has run out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.kit.job_leases import unheld


class NamedLeases:
    def __init__(self, leases: AsyncCollection) -> None:
        self._leases = leases

    async def hold(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Whether `holder` now holds `name` until `until`: renewed if it held it, taken if
        nobody held it or the lease ran out by `now`; False while another's lease runs.
        Two conditional writes rather than one with a top-level `$or`, which the embedded
        database answers by reading the whole collection."""
        renewed = await self._leases.update_one(
            {"_id": name, "holder": holder}, {"$set": {"lease_until": until}}
        )
        if renewed.matched_count:
            return True
        try:
            # A name never held is inserted; one held by another, live, is not matched
            # and its insert meets the existing `_id`.
            await self._leases.update_one(
                {"_id": name, **unheld(now)},
                {"$set": {"holder": holder, "lease_until": until}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True

    async def held(self, name: str, now: datetime) -> bool:
        """Whether anybody holds `name` at `now`."""
        found = await self._leases.find_one({"_id": name, "lease_until": {"$gt": now}}, {"_id": 1})
        return found is not None

    async def release(self, names: Sequence[str], holder: str) -> None:
        """Lets go of those of `names` that `holder` holds: another may take them at once."""
        if not names:
            return
        await self._leases.update_many(
            {"_id": {"$in": list(names)}, "holder": holder},
            {"$set": {"holder": None, "lease_until": None}},
        )
