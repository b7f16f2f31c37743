"""Billing's own clock: the company is told a day before a promised payment is repaid,
promised payments whose term ended are repaid, and limit blocks of a month that ended are
lifted. Every replica runs it; each piece of work is claimed by one conditional write
inside its transaction, so two replicas never do it twice."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from services.billing.service import BillingCases

log = logging.getLogger(__name__)

TICK_SECONDS = 30.0


async def run(cases: BillingCases, tick_seconds: float = TICK_SECONDS) -> None:
    while True:
        try:
            await tick(cases)
        except Exception as error:  # the database may be away; the next tick tries again
            log.warning("billing scheduler paused", extra={"error": str(error)[:200]})
        await asyncio.sleep(tick_seconds)


async def tick(cases: BillingCases, now: datetime | None = None) -> tuple[int, int]:
    """`now`: the clock (tests pass their own; None: the present)."""
    reminded = await cases.money.remind_due(now)
    repaid = await cases.money.repay_due(now)
    lifted = await cases.usage.lift_ended_blocks(now)
    if repaid or lifted or reminded:
        log.info(
            "scheduled work done",
            extra={"repaid": repaid, "lifted": lifted, "reminded": reminded},
        )
    return repaid, lifted
