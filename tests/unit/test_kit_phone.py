"""services/kit/phone.py: mobile numbers in any usual form → 11 digits (79XXXXXXXXX)."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from services.kit.phone import normalize_msisdn

MSISDN = re.compile(r"79[0-9]{9}")


@pytest.mark.parametrize(
    "raw",
    [
        "79161234567",
        "+79161234567",
        "+7 (916) 123-45-67",
        "+7 916 123 45 67",
        "+7-916-123-45-67",
        "8 916 123 45 67",
        "8 (916) 123-45-67",
        "89161234567",
        "9161234567",
        "916 123 45 67",
        "(916) 123-45-67",
        "7 916 123 45 67",
        "7.916.123.45.67",
        "  +7 916 1234567\t",
        "+7\u00a0916\u00a0123\u00a045\u00a067",
    ],
)
def test_usual_forms_give_the_same_msisdn(raw):
    assert normalize_msisdn(raw) == "79161234567"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "+",
        "916123456",  # 9 digits
        "91612345678",  # 11 digits starting with 9
        "791612345678",  # 12 digits
        "+8 916 123 45 67",  # + with a wrong country code
        "+9161234567",  # + without a country code
        "+380501234567",
        "74951234567",  # a Moscow landline
        "84951234567",
        "4951234567",
        "78001234567",  # a toll-free number
        "8 800 123 45 67",
        "+7 916 123 45 6x",
        "+7 916 123 45 67 доб. 1",
        "+7 916 123 45 67 ext 1",
        "+7/916/1234567",
        "++79161234567",
        "7916123456７",  # a full-width digit
        "7916123456٧",  # an Arabic-Indic digit
        "7916123456²",  # a superscript
    ],
)
def test_what_is_not_a_russian_mobile_number_is_refused(raw):
    assert normalize_msisdn(raw) is None


FORMATS = (
    "{d}",
    "7{d}",
    "8{d}",
    "+7{d}",
    "+7 ({a}) {b}-{c1}-{c2}",
    "8 ({a}) {b}-{c1}-{c2}",
    "8 {a} {b} {c1} {c2}",
    "+7-{a}-{b}-{c1}-{c2}",
    "{a}.{b}.{c1}.{c2}",
    " 7 {a} {b}{c1}{c2} ",
)


@given(
    subscriber=st.text(alphabet="0123456789", min_size=9, max_size=9),
)
def test_any_mobile_number_in_every_format_normalises_to_the_same_11_digits(subscriber):
    digits = "9" + subscriber
    parts = {"d": digits, "a": digits[:3], "b": digits[3:6], "c1": digits[6:8], "c2": digits[8:]}

    results = {fmt: normalize_msisdn(fmt.format(**parts)) for fmt in FORMATS}

    assert set(results.values()) == {"7" + digits}, results


@given(st.text(alphabet=st.sampled_from("0123456789+-() .78９²\u0667 \t"), max_size=16))
@example("7916123456７")
def test_the_result_is_none_or_11_ascii_digits_starting_with_79_for_digit_like_input(raw):
    result = normalize_msisdn(raw)
    assert result is None or MSISDN.fullmatch(result), repr(result)


@given(
    st.lists(st.characters(categories=("Nd", "No")), min_size=9, max_size=9).map(
        lambda chars: "79" + "".join(chars)
    )
)
def test_digits_of_other_scripts_never_pass_for_ascii_digits(raw):
    result = normalize_msisdn(raw)
    assert result is None or MSISDN.fullmatch(result), repr(result)


@given(st.text(max_size=30))
def test_the_result_is_none_or_11_ascii_digits_starting_with_79_for_any_text(raw):
    result = normalize_msisdn(raw)
    assert result is None or MSISDN.fullmatch(result), repr(result)


@given(st.text(alphabet="0123456789", min_size=10, max_size=10).map(lambda s: "9" + s[1:]))
def test_normalising_is_idempotent(raw):
    once = normalize_msisdn(raw)
    assert once is not None
    assert normalize_msisdn(once) == once
