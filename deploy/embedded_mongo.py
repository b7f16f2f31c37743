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
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from typing import Any

from secantus import cli
from secantus.server import SecantusDBServer

log = logging.getLogger(__name__)

# How often abandoned transactions are looked for (mongod: every 60 s at most; its lifetime
# limit is what decides, this only bounds the delay after it).
SWEEP_SECONDS = 5.0
DEFAULT_LIFETIME_SECONDS = 60.0


class ReapingServer(SecantusDBServer):
    """SecantusDB with a background sweep of transactions idle past their lifetime."""

    lifetime_seconds = DEFAULT_LIFETIME_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("transaction_lifetime_seconds", self.lifetime_seconds)
        super().__init__(*args, **kwargs)
        self._stopped = threading.Event()
        self._sweep_seconds = min(SWEEP_SECONDS, self.lifetime_seconds / 2)

    def start(self) -> None:
        super().start()
        threading.Thread(target=self._sweep, name="transaction-reaper", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        super().stop()

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
    known, theirs = ours.parse_known_args(sys.argv[1:] if argv is None else argv)
    ReapingServer.lifetime_seconds = known.transaction_lifetime
    cli.SecantusDBServer = ReapingServer  # type: ignore[misc]  # cli builds the server by this name
    return cli.main(theirs)


if __name__ == "__main__":
    raise SystemExit(main())
