"""The embedded database of `make run` and the tests (SecantusDB), with mongod's reaper.

`python -m deploy.embedded_mongo --port 27217 --storage-path .data/mongo` takes SecantusDB's
own arguments, and `--transaction-lifetime SECONDS` (mongod's `transactionLifetimeLimitSeconds`,
60 by default; tests shorten it).

mongod aborts a transaction left open past `transactionLifetimeLimitSeconds` (60 s) in the
background, so the locks of a process killed mid-transaction are released a minute later.
SecantusDB aborts such a transaction only when another transaction's statement comes by;
until then a write outside a transaction that meets one of its documents fails with a write
conflict. A bulk worker killed while its transaction held the operation's document left it
held for good: its replacement claims the operation outside any transaction, and nothing else
ran one. A thread here does mongod's sweep, so the embedded server behaves as production's.

Its registry of transactions (`TidyTransactions`) forgets finished ones, as mongod expires
its sessions' records: without that, a server that outlives thousands of clients (the tests'
one, a long `make run`) grew slower with every client.

It lets go of a connection's read snapshot before sending the reply, not after
(`release_snapshots_before_replies`): see there.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from typing import Any

import secantus.server
from secantus import cli
from secantus.server import DEFAULT_CLIENT_IDLE_TIMEOUT_S, SecantusDBServer
from secantus.storage import Storage
from secantus.transactions import TransactionRegistry, TxnState

log = logging.getLogger(__name__)

# How often abandoned transactions are looked for (mongod: every 60 s at most; its lifetime
# limit is what decides, this only bounds the delay after it).
SWEEP_SECONDS = 5.0
DEFAULT_LIFETIME_SECONDS = 60.0


class TidyTransactions(TransactionRegistry):
    """SecantusDB's registry of transactions, which forgets a finished transaction once its
    session has been idle past the lifetime.

    SecantusDB keeps one for every session that ever ran one, and walks them all at every
    transaction's statement (its sweep of abandoned ones), holding the registry. A server
    that outlives thousands of clients (the tests' one, a long `make run`) then spends more
    and more of each statement on sessions long gone. Measured with 3,000 sessions that ran
    a transaction and ended: small transactions from 6 clients fell from 970/s to 242/s, and
    reading 520 documents by an index from 16 ms to 38 ms (129 ms at worst); forgetting
    them, 966/s and 18 ms. In a whole-suite run such reads took 3.4 s while holding the
    storage, and every other command of the server waited behind them.

    A statement of a forgotten session's transaction meets what an aborted one's meets
    (NoSuchTransaction), as with mongod once the session's record has expired."""

    def _prune_locked(self) -> int:
        cutoff = self._time() - self._lifetime
        reaped = 0
        for lsid, txn in list(self._txns.items()):
            if txn.state is not TxnState.IN_PROGRESS:  # finished states are final
                if txn.last_use < cutoff:
                    del self._txns[lsid]
                continue
            # As SecantusDB does: a statement of it under way is waited for. Passing over it
            # let the other transactions' statements run beside a large one, which then took
            # 2.6 times as long (10,000 inserts beside six clients' small transactions), the
            # small ones gaining less than it lost.
            with txn.mutex:
                if txn.state is TxnState.IN_PROGRESS and txn.last_use < cutoff:
                    self._rollback_quietly(txn)
                    txn.state = TxnState.ABORTED
                    reaped += 1
        return reaped


# The storages of this process's servers (one, but for tests): each reply lets go of the
# thread's snapshot in each.
_RELEASING: list[Storage] = []


def release_snapshots_before_replies(storage: Storage) -> None:
    """Each connection's thread lets go of its read snapshot once the reply is built, before
    sending it.

    SecantusDB lets go of it only when the reply has been sent. A client that stops reading
    a large reply (its process frozen, its event loop gone) left the thread blocked in the
    send, holding the snapshot, until the client idle timeout (300 s) dropped the
    connection. Meanwhile every write of every client kept its history, and each command
    took longer than the one before: in a whole-suite run, billing's calls went from 20 ms
    to 13 s over those five minutes, then back at once. The reply is whole before it is
    sent, so nothing in it needs the snapshot; the next command takes a new one anyway."""
    _RELEASING.append(storage)
    # The server's module builds every reply of the wire protocol with these two.
    module: Any = secantus.server
    if getattr(module.build_op_msg_reply, "releases_snapshots", False):
        return  # an earlier server of this process did it

    def released_first(build: Any) -> Any:
        def build_reply(*args: Any, **kwargs: Any) -> bytes:
            for each in _RELEASING:
                each.release_thread_snapshot()
            return build(*args, **kwargs)

        build_reply.releases_snapshots = True  # type: ignore[attr-defined]
        return build_reply

    module.build_op_msg_reply = released_first(module.build_op_msg_reply)
    module.build_op_reply = released_first(module.build_op_reply)


class ReapingServer(SecantusDBServer):
    """SecantusDB with a background sweep of transactions idle past their lifetime."""

    lifetime_seconds = DEFAULT_LIFETIME_SECONDS
    # The server hangs up on a client connection idle this long (the clients close theirs
    # sooner: services.kit.mongo.MAX_IDLE_SECONDS).
    client_idle_seconds = DEFAULT_CLIENT_IDLE_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("transaction_lifetime_seconds", self.lifetime_seconds)
        kwargs.setdefault("client_idle_timeout_s", self.client_idle_seconds)
        super().__init__(*args, **kwargs)
        # Before any connection: each takes the registry from here when it is accepted.
        self.transactions = TidyTransactions(
            commit_func=self._commit_txn_handle,
            rollback_func=self._rollback_txn_handle,
            lifetime_seconds=kwargs["transaction_lifetime_seconds"],
        )
        self._stopped = threading.Event()
        self._sweep_seconds = min(SWEEP_SECONDS, self.lifetime_seconds / 2)

    def start(self) -> None:
        release_snapshots_before_replies(self.storage)
        super().start()
        threading.Thread(target=self._sweep, name="transaction-reaper", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        super().stop()
        if self.storage in _RELEASING:
            _RELEASING.remove(self.storage)

    def _sweep(self) -> None:
        while not self._stopped.wait(self._sweep_seconds):
            try:
                reaped = self.transactions.prune_expired()
            except Exception:  # the server is closing; the next sweep (if any) retries
                log.exception("the transaction sweep failed")
                continue
            if reaped:
                log.warning("aborted %d transactions left open past their lifetime", reaped)


def main(argv: list[str] | None = None) -> int:
    ours = argparse.ArgumentParser(add_help=False)
    ours.add_argument("--transaction-lifetime", type=float, default=DEFAULT_LIFETIME_SECONDS)
    ours.add_argument("--client-idle-timeout", type=float, default=DEFAULT_CLIENT_IDLE_TIMEOUT_S)
    known, theirs = ours.parse_known_args(sys.argv[1:] if argv is None else argv)
    ReapingServer.lifetime_seconds = known.transaction_lifetime
    ReapingServer.client_idle_seconds = known.client_idle_timeout
    cli.SecantusDBServer = ReapingServer  # type: ignore[misc]  # cli builds the server by this name
    return cli.main(theirs)


if __name__ == "__main__":
    raise SystemExit(main())
