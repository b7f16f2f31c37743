"""MongoDB access: one `AsyncMongoClient` per process and a transaction helper.

Writes use majority write concern. `Transactions.run` retries the whole unit of work on
TransientTransactionError (e.g. a write conflict) with jittered backoff, and the commit on
UnknownTransactionCommitResult, as the driver's documentation prescribes.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from pymongo import AsyncMongoClient, ReadPreference, WriteConcern, monitoring
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError
from pymongo.read_concern import ReadConcern

from services.kit.metrics import MONGO_COMMAND_SECONDS, MONGO_COMMANDS, MONGO_DOCUMENTS_WRITTEN
from services.kit.tracing import span

log = logging.getLogger(__name__)
T = TypeVar("T")
# MongoDB's error code for a write that would repeat a unique index's key.
DUPLICATE_KEY = 11000
Work = Callable[[AsyncClientSession], Awaitable[T]]
# A pooled connection idle longer than this is closed by us, not reused. The server (the
# embedded one after 300 s, a firewall or a load balancer after its own idle timer) may
# have hung up on it, and the async driver does not read a paused connection, so it would
# not notice: the next command on it fails with "connection closed" (AutoReconnect), which
# a write outside a transaction does not survive with retryable writes off.
MAX_IDLE_SECONDS = 60.0


def connect_mongo(
    url: str, app_name: str, *, max_idle_seconds: float = MAX_IDLE_SECONDS
) -> AsyncMongoClient:
    """Create the client (lazily connecting); call inside the running event loop."""
    return AsyncMongoClient(
        url,
        w="majority",
        tz_aware=True,
        appname=app_name,
        serverSelectionTimeoutMS=5000,
        maxIdleTimeMS=int(max_idle_seconds * 1000),
        uuidRepresentation="standard",
        event_listeners=[CommandMetrics()],
    )


class CommandMetrics(monitoring.CommandListener):
    """Counts the commands the client sends (`vm_mongo_commands`) and times their answers
    (`vm_mongo_command_duration_seconds`): what each use case costs the database, per
    process, without a profiler on the database."""

    def __init__(self) -> None:
        # A write's database and collection, until its answer says how many it wrote.
        self._writes: dict[tuple[object, int], tuple[str, str]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        collection = command_collection(event.command)
        MONGO_COMMANDS.labels(event.database_name, event.command_name, collection).inc()
        if event.command_name in _WRITES:
            self._writes[(event.connection_id, event.request_id)] = (
                event.database_name,
                collection,
            )

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        MONGO_COMMAND_SECONDS.labels(event.command_name, "succeeded").observe(
            event.duration_micros / 1e6
        )
        target = self._writes.pop((event.connection_id, event.request_id), None)
        written = documents_written(event.command_name, event.reply) if target else 0
        if target and written:
            MONGO_DOCUMENTS_WRITTEN.labels(*target).inc(written)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        MONGO_COMMAND_SECONDS.labels(event.command_name, "failed").observe(
            event.duration_micros / 1e6
        )
        self._writes.pop((event.connection_id, event.request_id), None)


_WRITES = frozenset({"insert", "update", "delete", "findAndModify"})


def documents_written(name: str, reply: Mapping[str, Any]) -> int:
    """The documents a write command's answer says it wrote: inserted, modified or
    upserted, deleted; a findAndModify's one if it found or made one (a poll that found
    nothing wrote nothing). 0 for a read or anything else."""
    if name == "findAndModify":
        return int(reply.get("lastErrorObject", {}).get("n", 0))
    if name == "update":
        return int(reply.get("nModified", 0)) + len(reply.get("upserted", ()))
    if name in ("insert", "delete"):
        return int(reply.get("n", 0))
    return 0


def command_collection(command: Mapping[str, Any]) -> str:
    """The collection a command acts on: the value of its first key (`{"find": "numbers"}`),
    or `collection` for a getMore; empty for one on none (`{"commitTransaction": 1}`)."""
    name, value = next(iter(command.items()), ("", None))
    if name == "getMore":
        return str(command.get("collection", ""))
    return value if isinstance(value, str) else ""


async def ping(client: AsyncMongoClient) -> bool:
    try:
        await client.admin.command("ping")
    except PyMongoError:
        return False
    return True


class Transactions:
    """Runs units of work in MongoDB transactions; `after_commit` hooks run on success
    (the outbox relay uses one to wake up as soon as new events are committed)."""

    def __init__(self, client: AsyncMongoClient, *, deadline_seconds: float = 15.0) -> None:
        self._client = client
        self._deadline = deadline_seconds
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, hook: Callable[[], None]) -> None:
        self._after_commit.append(hook)

    async def run(self, work: Work[T], *, patience: float | None = None) -> T:
        """`work` in a transaction, run again on a transient error (a write conflict) until
        `patience` seconds (the deadline given at construction unless told) have passed."""
        started = time.monotonic()
        give_up_at = started + (self._deadline if patience is None else patience)
        attempt = 0
        conflicts: list[str] = []
        while True:
            attempt += 1
            try:
                result = await self._run_once(work)
            except PyMongoError as error:
                if not _is_transient(error) or time.monotonic() > give_up_at:
                    _note_retries(conflicts, started, committed=False)
                    raise
                conflicts.append(_error_name(error))
                await asyncio.sleep(_backoff(attempt))
                continue
            _note_retries(conflicts, started, committed=True)
            for hook in self._after_commit:
                hook()
            return result

    async def _run_once(self, work: Work[T]) -> T:
        # One span per attempt: its statements and its commit are the driver's spans in it.
        with span("mongodb transaction"):
            return await self._attempt(work)

    async def _attempt(self, work: Work[T]) -> T:
        async with (
            self._client.start_session() as session,
            await session.start_transaction(
                read_concern=ReadConcern("snapshot"),
                write_concern=WriteConcern("majority"),
                read_preference=ReadPreference.PRIMARY,
            ),
        ):
            result = await work(session)
            await self._commit(session)
            return result

    async def _commit(self, session: AsyncClientSession) -> None:
        for attempt in range(1, 6):
            try:
                await session.commit_transaction()
                return
            except PyMongoError as error:
                if not error.has_error_label("UnknownTransactionCommitResult") or attempt == 5:
                    raise
                await asyncio.sleep(_backoff(attempt))


# A unit of work that ran again this long (write conflicts, mostly) is told in the log:
# a call that took seconds for this reason shows nothing else.
RETRIES_WORTH_TELLING_SECONDS = 1.0


def _note_retries(conflicts: list[str], started: float, *, committed: bool) -> None:
    took = time.monotonic() - started
    if not conflicts or took < RETRIES_WORTH_TELLING_SECONDS:
        return
    log.warning(
        "transaction ran again" if committed else "transaction given up after running again",
        extra={
            "attempts": len(conflicts) + 1,
            "seconds": round(took, 3),
            "errors": sorted(set(conflicts)),
        },
    )


def _error_name(error: PyMongoError) -> str:
    code = getattr(error, "code", None)
    return f"{type(error).__name__}:{code}" if code is not None else type(error).__name__


def _is_transient(error: PyMongoError) -> bool:
    if error.has_error_label("TransientTransactionError"):
        return True
    return isinstance(error, OperationFailure) and error.code == 112  # WriteConflict


def _backoff(attempt: int) -> float:
    return random.uniform(0, min(0.5, 0.005 * 2**attempt))


def is_connection_error(error: BaseException) -> bool:
    return isinstance(error, ConnectionFailure)


def database(client: AsyncMongoClient, name: str) -> AsyncDatabase:
    return client.get_database(name)
