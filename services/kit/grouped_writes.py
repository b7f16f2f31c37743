"""Group commit for one-document writes that many tasks make at about the same time.

Each caller awaits its own write, as it would `update_one`, and gets what the database said
of it. The writes that arrive while one group is being written go out together in the next
one: one `bulk_write` command for all of them. The database's cost per command (a round
trip, parsing, its profiler's settings and the collection's options read again) is then
paid once per group, not once per write; what each document costs (its indexes) stays.

Nothing waits for a timer: a lone write goes out at once, as it did alone, and a group is
what piled up behind the one before it. So the busier the caller, the larger the groups.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from pymongo import DeleteOne, InsertOne, ReplaceOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError

from services.kit.mongo import DUPLICATE_KEY

WriteModel = InsertOne[Any] | UpdateOne | ReplaceOne[Any] | DeleteOne
Waiting = tuple[WriteModel, "asyncio.Future[None]"]

# The most writes in one command: a backlog goes out in groups of this many.
MOST_PER_GROUP = 500


class GroupedWrites:
    """The writes of one collection, grouped. Made once per collection and process (a store
    keeps it); it starts its writer when a write arrives and ends it when none is left."""

    def __init__(self, collection: AsyncCollection[Any], *, most: int = MOST_PER_GROUP) -> None:
        self._collection = collection
        self._most = most
        self._waiting: list[Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(self, operation: WriteModel) -> None:
        """Returns once `operation` is written; raises `WriteError` if the database refused
        it (a duplicate key…) and what the command raised if the group was not written (the
        database is away): then none of the group's writes may have been made."""
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((operation, written))
        if self._writer is None or self._writer.done():
            # Its own context: the writer serves every caller's writes, so it must not
            # carry the deadline of the call that happened to start it.
            self._writer = asyncio.create_task(self._write_waiting(), context=contextvars.Context())
        await written

    async def _write_waiting(self) -> None:
        # Started by the first write and run on the loop's next turn: the writes of the
        # tasks that end on the same turn are in its first group already.
        while self._waiting:
            group, self._waiting = self._waiting[: self._most], self._waiting[self._most :]
            try:
                await self._write_group(group)
            except BaseException:  # cancelled with the loop: nobody is left hanging
                for _, written in (*group, *self._waiting):
                    written.cancel()
                self._waiting = []
                raise

    async def _write_group(self, group: list[Waiting]) -> None:
        try:
            await self._collection.bulk_write([operation for operation, _ in group], ordered=False)
        except BulkWriteError as error:
            _settle_each(group, error)
            return
        except Exception as error:
            for _, written in group:
                _settle(written, error)
            return
        for _, written in group:
            _settle(written, None)


def _settle_each(group: list[Waiting], error: BulkWriteError) -> None:
    """An unordered bulk write made every write but those it names; a write concern error
    leaves all of them unconfirmed."""
    details = error.details
    if details.get("writeConcernErrors"):
        for _, written in group:
            _settle(written, error)
        return
    refused = {refusal["index"]: refusal for refusal in details.get("writeErrors", [])}
    for index, (_, written) in enumerate(group):
        refusal = refused.get(index)
        if refusal is None:
            _settle(written, None)
            continue
        # As `update_one` would have raised it: a duplicate key is its own error.
        refused_as = DuplicateKeyError if refusal.get("code") == DUPLICATE_KEY else WriteError
        _settle(written, refused_as(refusal.get("errmsg", ""), refusal.get("code"), refusal))


def _settle(written: asyncio.Future[None], outcome: BaseException | None) -> None:
    if written.done():  # its caller was cancelled; the write went on without it
        return
    if outcome is None:
        written.set_result(None)
    else:
        written.set_exception(outcome)
