"""The financial block follows billing's last word whatever order its events are handled
in: an account's block (versioned per account) and a number's moves between accounts
(versioned per number) — against the real MongoDB-protocol server, down to the number's
blocks after the reconciler has asked the network."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

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


@pytest.fixture
def blocks(db) -> SystemBlockCases:
    return SystemBlockCases(NumberStore(db), IntentStore(db), AccountLinks(db))


async def handled(db, transactions, blocks, events) -> set[str]:
    """The events applied one by one, each in its transaction as the consumer does; then
    the reconciler until nothing is pending; the number's blocks."""
    for event in events:
        await transactions.run(lambda s, e=event: e(s))
    reconciler = saga(db, transactions, SimulatedProvisioning())
    for _ in range(10):
        await reconciler.reconcile(datetime.now(UTC) + LATER)
        if not await db["provisioning_intents"].count_documents({"state": "pending"}):
            break
    return blocks_of(await db["numbers"].find_one({})) & {FINANCIAL}


def account_turned(blocks, number, account, blocked, version):
    return lambda s: blocks.account_block_changed(A, account, [number], blocked, version, s)


def moved(blocks, number, account, blocked, version, block_version=0):
    move = AccountMove(number, account, blocked, version, block_version)
    return lambda s: blocks.number_billed_to(A, move, s)


async def test_in_order_the_block_comes_and_goes_with_the_money(db, transactions, blocks, number):
    events = [
        moved(blocks, number, "acc_a", False, 1),
        account_turned(blocks, number, "acc_a", True, 1),
    ]
    assert await handled(db, transactions, blocks, events) == {FINANCIAL}
    again = [account_turned(blocks, number, "acc_a", False, 2)]
    assert await handled(db, transactions, blocks, again) == set()


async def test_a_block_of_the_old_account_told_after_the_move_does_not_follow_the_number(
    db, transactions, blocks, number
):
    # Billing: on acc_a; acc_a ran out (its numbers then: this one); moved to acc_b (money).
    # Handled: the move first, the old account's block after it.
    events = [
        moved(blocks, number, "acc_a", False, 1),
        moved(blocks, number, "acc_b", False, 2),
        account_turned(blocks, number, "acc_a", True, 1),
    ]
    assert await handled(db, transactions, blocks, events) == set()
    assert (await db["numbers"].find_one({}))["account_id"] == "acc_b"


async def test_moves_told_out_of_order_end_on_the_last_and_its_accounts_newest_block(
    db, transactions, blocks, number
):
    # Billing: on acc_a (v1); to acc_b (v2); back to acc_a (v3, acc_a not blocked then);
    # then acc_a ran out (its block v1). Handled: the last first, the move to acc_b last.
    events = [
        account_turned(blocks, number, "acc_a", True, 1),
        moved(blocks, number, "acc_a", False, 3, block_version=0),
        moved(blocks, number, "acc_a", False, 1),
        moved(blocks, number, "acc_b", False, 2),
    ]
    assert await handled(db, transactions, blocks, events) == {FINANCIAL}
    assert (await db["numbers"].find_one({}))["account_id"] == "acc_a"


async def test_a_move_onto_an_account_blocked_meanwhile_takes_its_block(
    db, transactions, blocks, number
):
    # Billing: to acc_b (v1, not blocked, its block at v0); acc_b ran out (v1) — the
    # account's event names the number only if billing had it there; handled move last.
    events = [
        account_turned(blocks, number, "acc_b", True, 1),
        moved(blocks, number, "acc_b", False, 1, block_version=0),
    ]
    assert await handled(db, transactions, blocks, events) == {FINANCIAL}
