"""A field's condition narrowed by a page's bound matches what both match."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.kit.errors import InvalidArgument
from services.kit.keyset import narrowed

COMPARE = {
    "$lt": lambda value, bound: value < bound,
    "$lte": lambda value, bound: value <= bound,
    "$gt": lambda value, bound: value > bound,
    "$gte": lambda value, bound: value >= bound,
    "$eq": lambda value, bound: value == bound,
    "$in": lambda value, bound: value in bound,
}


def matches(value: int, condition: object) -> bool:
    # As MongoDB reads a filter: a document of operators, or a value to equal (`{}` too).
    if not isinstance(condition, dict) or not condition:
        return value == condition
    return all(COMPARE[operator](value, bound) for operator, bound in condition.items())


conditions = st.one_of(
    st.none(),
    st.integers(-5, 5),
    st.dictionaries(st.sampled_from(["$lt", "$lte", "$gt", "$gte", "$eq"]), st.integers(-5, 5)),
)


@given(conditions, st.sampled_from(["$lt", "$gt", "$eq"]), st.integers(-5, 5), st.integers(-6, 6))
def test_the_narrowed_condition_holds_exactly_where_both_hold(
    condition: object, operator: str, bound: int, value: int
) -> None:
    both = (condition is None or matches(value, condition)) and COMPARE[operator](value, bound)
    assert matches(value, narrowed(condition, operator, bound)) == both


def test_a_window_keeps_its_other_end_and_the_tighter_of_two_bounds() -> None:
    since, until = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    key = datetime(2026, 1, 15, tzinfo=UTC)
    window = {"$gte": since, "$lt": until}
    assert narrowed(window, "$lt", key) == {"$gte": since, "$lt": key}
    assert narrowed(window, "$lt", datetime(2026, 3, 1, tzinfo=UTC)) == window
    # A plain equality, which the embedded database serves from an index.
    assert narrowed(window, "$eq", key) == key
    assert narrowed(None, "$eq", key) == key
    assert narrowed(window, "$eq", until) == {"$in": []}


def test_a_key_that_cannot_be_compared_with_the_window_is_a_bad_page_token() -> None:
    window = {"$lt": datetime(2026, 2, 1, tzinfo=UTC)}
    with pytest.raises(InvalidArgument) as refused:
        narrowed(window, "$lt", datetime(2026, 1, 15))  # naive: from a forged token
    assert "page_token" in refused.value.fields
