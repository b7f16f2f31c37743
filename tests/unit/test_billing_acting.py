"""Whom a billing call acts for: when where a number is decides whether the caller
reaches it (and so billing reads the number's place in the hierarchy)."""

from __future__ import annotations

import pytest

from services.billing.service.base import NUMBERS_VIEW, Acting
from services.kit.authz import Access
from services.kit.errors import NotFound

COMPANY = "c1"


def acting(*pairs: tuple[str | None, list[str]]) -> Acting:
    return Acting(COMPANY, "u1", Access.from_pairs(COMPANY, pairs))


def test_a_company_wide_holder_is_not_scoped() -> None:
    assert not acting((None, [NUMBERS_VIEW])).scoped_for(NUMBERS_VIEW)


def test_the_operator_acting_for_a_company_is_not_scoped() -> None:
    assert not Acting(COMPANY, "operator").scoped_for(NUMBERS_VIEW)


@pytest.mark.parametrize(
    "pairs",
    [
        [("n-east", [NUMBERS_VIEW])],  # held in a subtree only
        [(None, ["numbers.tariff"])],  # not held at all
        [],
    ],
)
def test_a_caller_without_it_company_wide_is_scoped(pairs) -> None:
    assert acting(*pairs).scoped_for(NUMBERS_VIEW)


def test_a_subtree_holder_reaches_only_numbers_below_it() -> None:
    scoped = acting(("n-east", [NUMBERS_VIEW]))
    scoped.require_number(NUMBERS_VIEW, ("root", "n-east", "n-east-1"))
    with pytest.raises(NotFound):
        scoped.require_number(NUMBERS_VIEW, ("root", "n-west"))
