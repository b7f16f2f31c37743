"""The period a document or a report covers: a month `YYYY-MM`, or `{from, to}` dates
(both included). A period must have begun (no future month), and a range may not be
longer than twelve months. Stored and queried as a half-open window [start, end) in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from services.kit.errors import InvalidArgument, NotAllowed

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MAX_MONTHS = 12
EARLIEST = date(2000, 1, 1)


@dataclass(frozen=True)
class Period:
    first: date  # the first day covered
    last: date  # the last day covered

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, datetime.min.time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The moment after the last day: the window is [start, end)."""
        return self.start + timedelta(days=(self.last - self.first).days + 1)

    @property
    def label(self) -> str:
        """`2026-10` for a whole month, else `2026-01-01_2026-03-31` (file names)."""
        if self.first.day == 1 and self.last == _month_end(self.first):
            return f"{self.first:%Y-%m}"
        return f"{self.first.isoformat()}_{self.last.isoformat()}"

    @property
    def words(self) -> str:
        """How a document names it: «за октябрь 2026 г.» or «с 01.01.2026 по 31.03.2026»."""
        if self.first.day == 1 and self.last == _month_end(self.first):
            return f"за {MONTHS[self.first.month - 1]} {self.first.year} г."
        return f"с {self.first:%d.%m.%Y} по {self.last:%d.%m.%Y}"

    def as_dict(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


MONTHS = (
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
)


def checked_period(month: str, first: str, last: str, today: date) -> Period:
    """The period of a request, or the precise field at fault."""
    month, first, last = month.strip(), first.strip(), last.strip()
    if month and (first or last):
        raise InvalidArgument(
            "give a month or dates, not both", {"period": "YYYY-MM, or {from, to}"}
        )
    if month:
        return _month(month, today)
    if not first or not last:
        raise InvalidArgument(
            "the period is required", {"period": "a month YYYY-MM, or {from, to} dates"}
        )
    period = Period(_day(first, "period.from"), _day(last, "period.to"))
    if period.first < EARLIEST:
        raise InvalidArgument("the period is too early", {"period.from": f"from {EARLIEST}"})
    # Well-formed dates against a rule of two fields or of today: 409, not 422.
    if period.last < period.first:
        raise NotAllowed("the period ends before it begins", reason="PERIOD_REVERSED")
    if period.last > today:
        raise NotAllowed("the period has not ended yet", reason="PERIOD_NOT_ENDED")
    if period.last >= _add_months(period.first, MAX_MONTHS):
        raise NotAllowed(
            f"the period is too long: at most {MAX_MONTHS} months", reason="PERIOD_TOO_LONG"
        )
    return period


def _month(text: str, today: date) -> Period:
    found = MONTH.fullmatch(text)
    if not found or not 1 <= int(found.group(2)) <= 12:
        raise InvalidArgument("the month is not valid", {"period.month": "YYYY-MM (2026-10)"})
    first = date(int(found.group(1)), int(found.group(2)), 1)
    if first < EARLIEST:
        raise InvalidArgument("the month is too early", {"period.month": f"from {EARLIEST:%Y-%m}"})
    if first > today:  # a rule of today: 409
        raise NotAllowed("the month has not begun", reason="PERIOD_NOT_BEGUN")
    return Period(first, _month_end(first))


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise InvalidArgument("the date is not valid", {field: "YYYY-MM-DD"}) from error


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, _month_end(date(year, month + 1, 1)).day))


def _month_end(first: date) -> date:
    following = _add_months_first(first)
    return following - timedelta(days=1)


def _add_months_first(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)
