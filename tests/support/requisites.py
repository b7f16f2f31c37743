"""Requisites that pass identity's checks, for tests and benchmarks that make companies:
an INN (10 digits, a legal entity) with its check digit computed by the Tax Code's rule."""

from __future__ import annotations

import secrets

# The weights of a legal entity's INN check digit (the first nine digits).
INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)


def inn10(first_nine: str) -> str:
    """The INN whose first nine digits are these, with its check digit."""
    assert len(first_nine) == 9 and first_nine.isdigit(), first_nine
    total = sum(w * int(d) for w, d in zip(INN10_WEIGHTS, first_nine, strict=True))
    return first_nine + str(total % 11 % 10)


def random_inn() -> str:
    """A random legal entity's INN, check digit and all (nine random digits: two tests'
    companies practically never share one)."""
    return inn10(f"{1 + secrets.randbelow(9)}{secrets.randbelow(10**8):08d}")
