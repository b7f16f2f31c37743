"""The financial block follows billing's last word whatever order its events are handled
in: an account's block (versioned per account) and a number's moves between accounts
(versioned per number) — against the real MongoDB-protocol server, down to the number's
blocks after the reconciler has asked the network."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.catalog.provisioning import SimulatedProvisioning
from services.catalog.service.system_blocks import FINANCIAL, AccountMove, SystemBlockCases
from services.catalog.store.accounts import AccountLinks
from services.catalog.store.intents import IntentStore
from services.catalog.store.numbers import NumberStore
from tests.integration.test_catalog_number_store import ROOT, A, a_number, insert
from tests.integration.test_catalog_provisioning_saga import LATER, blocks_of, saga

pytestmark = pytest.mark.integration


@pytest.fixture
async def number(db, transactions):
    found = a_number(8100, ROOT)
    await insert(NumberStore(db), transactions, [found])
    return found.msisdn


@pytest.fixture(params=[False, True], ids=["one_by_one", "as_runs"])
def runs(request) -> bool:
    """Whether consecutive moves are applied one by one or as one run (the consumer's)."""
    return request.param


@pytest.fixture
async def blocks(db) -> SystemBlockCases:
    cases = SystemBlockCases(NumberStore(db), IntentStore(db), AccountLinks(db))
    await cases.ensure_indexes()
    await IntentStore(db).ensure_indexes()
    return cases


async def handled(db, transactions, blocks, events, *, runs: bool = False) -> set[str]:
    """The events applied one by one, each in its transaction as the consumer does (or,
    with `runs`, each run of consecutive moves as one, as the consumer's batches do);
    then the reconciler until nothing is pending; the number's blocks."""
    for step in _as_runs(blocks, events) if runs else events:
        await transactions.run(lambda s, e=step: e(s))
    reconciler = saga(db, transactions, SimulatedProvisioning())
    for _ in range(10):
        await reconciler.reconcile(datetime.now(UTC) + LATER)
        if not await db["provisioning_intents"].count_documents({"state": "pending"}):
            break
    return blocks_of(await db["numbers"].find_one({})) & {FINANCIAL}


@dataclass(frozen=True)
class Moved:
    """A number.account_changed event: applied alone, or with the moves beside it."""

    blocks: SystemBlockCases
    move: AccountMove

    def __call__(self, session):
        return self.blocks.numbers_billed_to(A, [self.move], session)


def _as_runs(blocks, events):
    """Consecutive moves joined into one step."""
    steps: list = []
    for event in events:
        if isinstance(event, Moved) and steps and isinstance(steps[-1], list):
            steps[-1].append(event.move)
        elif isinstance(event, Moved):
            steps.append([event.move])
        else:
            steps.append(event)
    return [
        (lambda s, m=step: blocks.numbers_billed_to(A, m, s)) if isinstance(step, list) else step
        for step in steps
    ]


def account_turned(blocks, number, account, blocked, version):
    return lambda s: blocks.account_block_changed(A, account, [number], blocked, version, s)


def moved(blocks, number, account, blocked, version, block_version=0):
    return Moved(blocks, AccountMove(number, account, blocked, version, block_version))


async def test_in_order_the_block_comes_and_goes_with_the_money(
    db, transactions, blocks, number, runs
):
    events = [
        moved(blocks, number, "acc_a", False, 1),
        account_turned(blocks, number, "acc_a", True, 1),
    ]
    assert await handled(db, transactions, blocks, events, runs=runs) == {FINANCIAL}
    again = [account_turned(blocks, number, "acc_a", False, 2)]
    assert await handled(db, transactions, blocks, again, runs=runs) == set()


async def test_a_block_of_the_old_account_told_after_the_move_does_not_follow_the_number(
    db, transactions, blocks, number, runs
):
    # Billing: on acc_a; acc_a ran out (its numbers then: this one); moved to acc_b (money).
    # Handled: the move first, the old account's block after it.
    events = [
        moved(blocks, number, "acc_a", False, 1),
        moved(blocks, number, "acc_b", False, 2),
        account_turned(blocks, number, "acc_a", True, 1),
    ]
    assert await handled(db, transactions, blocks, events, runs=runs) == set()
    assert (await db["numbers"].find_one({}))["account_id"] == "acc_b"


async def test_moves_told_out_of_order_end_on_the_last_and_its_accounts_newest_block(
    db, transactions, blocks, number, runs
):
    # Billing: on acc_a (v1); to acc_b (v2); back to acc_a (v3, acc_a not blocked then);
    # then acc_a ran out (its block v1). Handled: the last first, the move to acc_b last.
    events = [
        account_turned(blocks, number, "acc_a", True, 1),
        moved(blocks, number, "acc_a", False, 3, block_version=0),
        moved(blocks, number, "acc_a", False, 1),
        moved(blocks, number, "acc_b", False, 2),
    ]
    assert await handled(db, transactions, blocks, events, runs=runs) == {FINANCIAL}
    assert (await db["numbers"].find_one({}))["account_id"] == "acc_a"


async def test_a_move_onto_an_account_blocked_meanwhile_takes_its_block(
    db, transactions, blocks, number, runs
):
    # Billing: to acc_b (v1, not blocked, its block at v0); acc_b ran out (v1) — the
    # account's event names the number only if billing had it there; handled move last.
    events = [
        account_turned(blocks, number, "acc_b", True, 1),
        moved(blocks, number, "acc_b", False, 1, block_version=0),
    ]
    assert await handled(db, transactions, blocks, events, runs=runs) == {FINANCIAL}


ACCOUNTS = st.sampled_from(["acc_a", "acc_b"])
# (kind, account, blocked, version, the account's block version the move tells)
MOVES = st.tuples(st.just("move"), ACCOUNTS, st.booleans(), st.integers(0, 4), st.integers(0, 2))
TURNS = st.tuples(st.just("turn"), ACCOUNTS, st.booleans(), st.integers(1, 3), st.just(0))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(told=st.lists(st.one_of(MOVES, MOVES, TURNS), min_size=1, max_size=6))
async def test_moves_applied_as_runs_end_where_they_end_one_by_one(
    db, transactions, blocks, number, told
):
    original = await db["numbers"].find_one({"_id": number})

    async def end_state(runs: bool):
        for name in ("provisioning_intents", "account_block_versions", "outbox"):
            await db[name].delete_many({})
        await db["numbers"].replace_one({"_id": number}, original)
        events = [
            moved(blocks, number, account, on, version, block_version)
            if kind == "move"
            else account_turned(blocks, number, account, on, version)
            for kind, account, on, version, block_version in told
        ]
        financial = await handled(db, transactions, blocks, events, runs=runs)
        doc = await db["numbers"].find_one({"_id": number})
        known = await db["account_block_versions"].find({}).sort("_id").to_list(None)
        return financial, doc.get("account_id"), doc.get("account_version"), known

    assert await end_state(runs=True) == await end_state(runs=False)
