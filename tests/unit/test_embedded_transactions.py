"""deploy/embedded_mongo.TidyTransactions: the embedded server's registry of transactions
forgets finished ones once their sessions are idle past the lifetime, and does the rest as
SecantusDB's does."""

from __future__ import annotations

from secantus.transactions import TxnState

from deploy.embedded_mongo import TidyTransactions

LIFETIME = 60.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def registry(clock: Clock, rolled_back: list[bytes]) -> TidyTransactions:
    return TidyTransactions(
        rollback_func=lambda txn: rolled_back.append(txn.lsid_bytes),
        lifetime_seconds=LIFETIME,
        time_func=clock,
    )


def start(transactions: TidyTransactions, session: bytes, number: int = 1):
    txn, refused = transactions.for_statement(session, None, number, start=True)
    assert refused is None
    return txn


def test_a_finished_transaction_is_forgotten_once_its_session_is_idle_past_the_lifetime():
    clock, rolled_back = Clock(), []
    transactions = registry(clock, rolled_back)
    start(transactions, b"old")
    assert transactions.commit(b"old", 1) is None
    clock.now += LIFETIME - 1
    start(transactions, b"recent")
    assert transactions.commit(b"recent", 1) is None

    clock.now += 2  # "old" is past the lifetime, "recent" is not
    start(transactions, b"new")

    assert set(transactions._txns) == {b"recent", b"new"}
    assert rolled_back == []


def test_a_forgotten_session_starts_its_next_transaction_as_before():
    clock, rolled_back = Clock(), []
    transactions = registry(clock, rolled_back)
    start(transactions, b"s", 1)
    transactions.commit(b"s", 1)
    clock.now += LIFETIME + 1
    start(transactions, b"other")

    again = start(transactions, b"s", 2)

    assert again.state is TxnState.IN_PROGRESS
    # An older number than the session's newest is still refused (TransactionTooOld).
    _, refused = transactions.for_statement(b"s", None, 1, start=True)
    assert refused is not None and refused["code"] == 225


def test_a_transaction_left_open_past_the_lifetime_is_aborted():
    clock, rolled_back = Clock(), []
    transactions = registry(clock, rolled_back)
    abandoned = start(transactions, b"gone")
    clock.now += LIFETIME + 1

    assert transactions.prune_expired() == 1

    assert abandoned.state is TxnState.ABORTED
    assert rolled_back == [b"gone"]
