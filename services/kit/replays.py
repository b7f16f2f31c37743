"""Replays of the creating calls that do not keep their own idempotency record.

DESIGN.md: a POST that creates something honours `Idempotency-Key`. The calls that move
money or start an operation store the key with their state change in one transaction
(services/kit/idempotency.py). The other creating calls (a user, a role, a ticket, a node,
an account, a single-number change) get it here, around the call: the gateway passes the
key as the `idempotency-key` metadata and the server runs the call at most once per caller,
method and key, and answers a repeat with the first response's bytes.

1. The key is reserved (an insert under a unique id) before the call runs. A repeat that
   finds the call still running is refused (409 `idempotency_key_in_use`) rather than run
   twice; one with another request is refused as `idempotency_key_reused`.
2. A call that fails (a rule said no, a bad request) releases the key: the same request
   would fail the same way, and a corrected one may use it.
3. A call that succeeds stores its response; repeats within `KEEP` get those bytes. The
   response is stored encrypted under a key derived from the Idempotency-Key, which is kept
   only as a hash: what the journal holds (an API key's secret, say) is unreadable without
   the key that only the client has.

A process that dies mid-call leaves a reservation: after `LEASE` a repeat takes it over and
runs the call (the first one most likely never finished). That window is the price of not
writing the journal inside each use case's transaction; money and operations do not pay it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from bson import Binary
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.kit.context import current_caller
from services.kit.errors import Conflict
from services.kit.idempotency import check_replay, checked_idempotency_key

METADATA_KEY = "idempotency-key"
KEEP = timedelta(hours=24)
# Longer than any creating call takes (their deadlines are seconds), short enough that a
# client retrying after a crash is not refused for long.
LEASE = timedelta(seconds=60)
NONCE_BYTES = 12


class IdempotencyKeyInUse(Conflict):
    reason = "IDEMPOTENCY_KEY_IN_USE"


class ReplayJournal:
    """The responses of creating calls by caller, method and key (`replayed_calls`)."""

    def __init__(self, db: AsyncDatabase, *, keep: timedelta = KEEP) -> None:
        self._calls = db["replayed_calls"]
        self._keep = keep

    async def ensure_indexes(self) -> None:
        await self._calls.create_index("expires_at", expireAfterSeconds=0)

    async def run_once(
        self, method: str, key: str, request: bytes, call: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        """The call's response: run now, or the first run's if this is a repeat."""
        scope = _scope(method, checked_idempotency_key(key))
        record_id = hashlib.sha256(b"record\x1f" + scope).hexdigest()
        cipher = AESGCM(hashlib.sha256(b"response\x1f" + scope).digest())
        digest = hashlib.sha256(request).hexdigest()
        holder = await self._reserve(record_id, method, digest)
        if isinstance(holder, bytes):
            return cipher.decrypt(holder[:NONCE_BYTES], holder[NONCE_BYTES:], None)
        try:
            response = await call()
        except BaseException:
            await self._calls.delete_one({"_id": record_id, "holder": holder})
            raise
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + cipher.encrypt(nonce, response, None)
        await self._calls.update_one(
            {"_id": record_id, "holder": holder},
            {"$set": {"state": "done", "response": Binary(sealed)}},
        )
        return response

    async def _reserve(self, record_id: str, method: str, digest: str) -> str | bytes:
        """A holder token when this call is to run, or the stored response of a repeat."""
        now = datetime.now(UTC)
        holder = secrets.token_hex(8)
        try:
            await self._calls.insert_one(
                {
                    "_id": record_id,
                    "method": method,
                    "digest": digest,
                    "state": "running",
                    "holder": holder,
                    "lease_until": now + LEASE,
                    "expires_at": now + self._keep,
                }
            )
            return holder
        except DuplicateKeyError:
            pass
        first = await self._calls.find_one({"_id": record_id})
        if first is None:  # released (it failed) between the insert and the read
            return await self._reserve(record_id, method, digest)
        check_replay(first["digest"], digest)
        if first["state"] == "done":
            return bytes(first["response"])
        if first["lease_until"] > now:
            raise IdempotencyKeyInUse(
                "a request with this Idempotency-Key is still being handled; "
                "repeat it in a moment to get its answer"
            )
        taken = await self._calls.update_one(
            {"_id": record_id, "holder": first["holder"], "state": "running"},
            {"$set": {"holder": holder, "lease_until": now + LEASE}},
        )
        if taken.modified_count == 0:  # another repeat took it over first
            return await self._reserve(record_id, method, digest)
        return holder


def _scope(method: str, key: str) -> bytes:
    """One record per caller (a user or an API key, within its company), method and key:
    two callers' keys never meet."""
    caller = current_caller()
    parts = (caller.kind, caller.company_id or "", caller.user_id or "", method, key)
    return "\x1f".join(parts).encode()
