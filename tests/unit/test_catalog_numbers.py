"""The numbers' rules: ICCIDs are Luhn-checked, numbers normalised, notes bounded, a batch
names every bad field and every repeat, and a caller's scope is what its access says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.catalog.domain.hierarchy import Node
from services.catalog.domain.numbers import (
    ADD_BATCH_MAX,
    NewNumber,
    Scope,
    TariffChoice,
    checked_batch,
    checked_filter,
    checked_iccid,
    checked_msisdn,
    checked_msisdns,
    checked_notes,
    luhn_check_digit,
    luhn_valid,
    new_number,
)
from services.kit.authz import Access
from services.kit.errors import Conflict, InvalidArgument

# A 20-digit ICCID: 89 (telecom), 7 (Russia's country code), issuer, account, check digit.
VALID_ICCID = "8970199" + "000000000001"
VALID_ICCID += luhn_check_digit(VALID_ICCID)


def iccid(serial: int) -> str:
    body = f"8970199{serial:012d}"
    return body + luhn_check_digit(body)


# ---------------------------------------------------------------- Luhn


@pytest.mark.parametrize("digits", ["79927398713", "4539578763621486", "0", "18", VALID_ICCID])
def test_known_numbers_pass_the_luhn_check(digits):
    assert luhn_valid(digits)


@pytest.mark.parametrize("digits", ["79927398710", "4539578763621487", "", "12a4", "１８"])
def test_wrong_check_digits_and_non_digits_fail(digits):
    assert not luhn_valid(digits)


# "89" and 16 or 17 more digits: with the check digit, 19 or 20 digits.
iccid_bodies = (
    st.integers(min_value=16, max_value=17)
    .flatmap(lambda length: st.text(alphabet="0123456789", min_size=length, max_size=length))
    .map(lambda rest: "89" + rest)
)


@given(body=iccid_bodies, data=st.data())
def test_a_valid_iccid_with_any_one_digit_changed_is_invalid(body, data):
    valid = body + luhn_check_digit(body)
    assert luhn_valid(valid)
    assert checked_iccid(valid) == valid
    position = data.draw(st.integers(min_value=0, max_value=len(valid) - 1), label="position")
    digit = data.draw(st.sampled_from("0123456789").filter(lambda d: d != valid[position]))
    changed = valid[:position] + digit + valid[position + 1 :]
    assert not luhn_valid(changed)


# ---------------------------------------------------------------- identifiers


def test_an_iccid_is_19_or_20_digits_starting_with_89_and_separators_are_dropped():
    nineteen = "897019900000000001"
    nineteen += luhn_check_digit(nineteen)
    assert checked_iccid(nineteen) == nineteen
    spaced = f"{VALID_ICCID[:4]} {VALID_ICCID[4:10]}-{VALID_ICCID[10:]}"
    assert checked_iccid(spaced) == VALID_ICCID


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("", "19 or 20 digits"),
        ("7970199000000000001", "19 or 20 digits"),  # not 89
        ("89701990000000001", "19 or 20 digits"),  # 17 digits
        ("897019900000000000011", "19 or 20 digits"),  # 21 digits
        ("8970199000000000000x", "19 or 20 digits"),
        ("89701990000000000019", "check digit"),
    ],
)
def test_bad_iccids_are_refused_on_their_field(raw, says):
    if says == "check digit":
        raw = raw[:-1] + str((int(luhn_check_digit(raw[:-1])) + 1) % 10)
    with pytest.raises(InvalidArgument) as refused:
        checked_iccid(raw, "numbers[2].iccid")
    assert says in refused.value.fields["numbers[2].iccid"]


@pytest.mark.parametrize("raw", ["+7 (916) 123-45-67", "8 916 123 45 67", "9161234567"])
def test_numbers_in_any_usual_form_are_normalised(raw):
    assert checked_msisdn(raw) == "79161234567"


@pytest.mark.parametrize("raw", ["", "12345", "+1 916 123 45 67", "7916123456x", "74951234567"])
def test_malformed_numbers_are_refused(raw):
    with pytest.raises(InvalidArgument) as refused:
        checked_msisdn(raw)
    assert "msisdn" in refused.value.fields


# ---------------------------------------------------------------- notes


def test_notes_are_trimmed_and_only_the_given_ones_change():
    assert checked_notes(label="  Водитель  ", cost_center="") == {
        "label": "Водитель",
        "cost_center": "",
    }
    assert checked_notes() == {}
    assert checked_notes(label=" " + "л" * 100 + " ")["label"] == "л" * 100


def test_notes_over_their_length_are_refused_by_field():
    with pytest.raises(InvalidArgument) as refused:
        checked_notes(label="x" * 101, comment="y" * 501, cost_center="z" * 51)
    assert set(refused.value.fields) == {"label", "comment", "cost_center"}
    assert checked_notes(comment="строка\nещё строка")["comment"] == "строка\nещё строка"
    with pytest.raises(InvalidArgument) as control:
        checked_notes(label="a\tb")
    assert set(control.value.fields) == {"label"}


# ---------------------------------------------------------------- a batch from the operator


def test_a_batch_is_normalised():
    batch = checked_batch([NewNumber("+7 916 000-00-01", f" {VALID_ICCID} ", " basic ", " nod_1 ")])
    assert batch == [NewNumber("79160000001", VALID_ICCID, "basic", "nod_1")]


def test_a_batch_names_every_bad_field_by_index():
    with pytest.raises(InvalidArgument) as refused:
        checked_batch(
            [
                NewNumber("79160000001", iccid(1), "basic"),
                NewNumber("nope", iccid(2), "basic"),
                NewNumber("79160000003", "89", ""),
            ]
        )
    assert set(refused.value.fields) == {
        "numbers[1].msisdn",
        "numbers[2].iccid",
        "numbers[2].tariff_id",
    }


def test_a_batch_reports_at_most_twenty_fields_the_first_ones():
    with pytest.raises(InvalidArgument) as refused:
        checked_batch([NewNumber("bad", iccid(i), "basic") for i in range(30)])
    assert len(refused.value.fields) == 20
    assert "numbers[0].msisdn" in refused.value.fields
    assert "numbers[19].msisdn" in refused.value.fields
    assert "30" in refused.value.message


def test_a_number_or_sim_card_twice_in_one_batch_is_a_conflict_naming_it():
    with pytest.raises(Conflict) as twice:
        checked_batch(
            [NewNumber("79160000001", iccid(1), "t"), NewNumber("89160000001", iccid(2), "t")]
        )
    assert "79160000001" in twice.value.message
    assert twice.value.reason == "ALREADY_EXISTS"
    with pytest.raises(Conflict) as card:
        checked_batch(
            [NewNumber("79160000001", iccid(1), "t"), NewNumber("79160000002", iccid(1), "t")]
        )
    assert iccid(1) in card.value.message


def test_a_batch_has_one_to_ten_thousand_numbers():
    with pytest.raises(InvalidArgument):
        checked_batch([])
    with pytest.raises(InvalidArgument) as too_many:
        checked_batch([NewNumber("79160000001", iccid(1), "t")] * (ADD_BATCH_MAX + 1))
    assert "numbers" in too_many.value.fields


def test_free_numbers_need_no_tariff():
    assert checked_batch([NewNumber("79160000001", iccid(1))], need_tariff=False)


def test_a_new_number_is_active_at_its_node_with_the_nodes_path():
    node = Node("nod_sales", "cmp_1", "nod_city", "Продажи", "department", ("nod_root", "nod_city"))
    number = new_number(
        NewNumber("79160000001", iccid(1), "basic"),
        company_id="cmp_1",
        node=node,
        tariff=TariffChoice("basic", "Базовый", {"minutes": "500"}),
        added_at=datetime(2025, 3, 1, tzinfo=UTC),
    )
    assert number.status == "active"
    assert number.node_path == ("nod_root", "nod_city", "nod_sales")
    other = Node("nod_other", "cmp_1", "nod_root", "Север", "region", ("nod_root",))
    assert number.moved_to(other).node_path == ("nod_root", "nod_other")


# ---------------------------------------------------------------- moving, filters, scope


def test_numbers_to_move_are_normalised_each_once_in_order():
    assert checked_msisdns(["89160000002", "+79160000001", "9160000002"]) == [
        "79160000002",
        "79160000001",
    ]
    with pytest.raises(InvalidArgument) as refused:
        checked_msisdns(["79160000001", "x", "123"])
    assert set(refused.value.fields) == {"msisdns[1]", "msisdns[2]"}
    with pytest.raises(InvalidArgument):
        checked_msisdns([])
    with pytest.raises(InvalidArgument):
        checked_msisdns(["79160000001"] * 1001)


@pytest.mark.parametrize(
    ("query", "prefix"),
    [
        ("916 12", "791612"),
        ("8 916", "7916"),
        ("+7 916", "7916"),
        ("7916", "7916"),
        ("Водитель", None),
        ("ЦЗ-14", None),
        ("-", None),
        ("()", None),
    ],
)
def test_a_query_that_starts_a_number_searches_numbers_by_prefix(query, prefix):
    assert checked_filter(query=query).msisdn_prefix() == prefix


def test_a_filter_with_a_bad_status_or_a_long_query_is_refused():
    with pytest.raises(InvalidArgument) as refused:
        checked_filter(status="lost", query="q" * 101)
    assert set(refused.value.fields) == {"status", "query"}
    assert checked_filter(query="  два   слова ").query == "два слова"


def test_the_scope_is_the_company_or_the_subtrees_where_the_permission_holds():
    company_wide = Access.from_pairs("cmp_1", [(None, ["numbers.view"])])
    assert Scope.of(company_wide, "numbers.view") == Scope("cmp_1", None)
    scoped = Access.from_pairs(
        "cmp_1", [("nod_a", ["numbers.view"]), ("nod_b", ["hierarchy.manage"])]
    )
    assert Scope.of(scoped, "numbers.view") == Scope("cmp_1", frozenset({"nod_a"}))
    assert Scope.of(scoped, "numbers.sim").is_empty
    assert not Scope.of(company_wide, "numbers.view").is_empty
