"""The notifications' clock for what is stored and paged by time."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now, to the millisecond: what MongoDB keeps, so a page token made from an object in
    hand matches what is stored."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
