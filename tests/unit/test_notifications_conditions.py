"""The automation rules' condition language: what it reads, how it refuses, what it decides."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.kit.errors import DomainError, InvalidArgument
from services.notifications.domain.conditions import (
    INTEGER_LIMIT,
    MAX_LENGTH,
    MAX_NESTING,
    And,
    Compare,
    Condition,
    InvalidCondition,
    IsIn,
    Not,
    Or,
    Within,
    fields_of,
    holds,
    parse_condition,
    render,
)

FIELDS = frozenset(
    {
        "type",
        "data.amount.amount",
        "data.amount.currency",
        "data.block_type",
        "data.financial",
        "number.msisdn",
        "number.node",
        "number.tariff_id",
        "number.status",
    }
)

FACTS: dict[str, Any] = {
    "type": "payment.received",
    "data": {
        "amount": {"amount": 150_000, "currency": "RUB"},
        "block_type": "financial",
        "financial": True,
    },
    "number": {
        "msisdn": "79161234567",
        "node": "node_sales",
        "node_path": ["node_root", "node_msk", "node_sales"],
        "tariff_id": "t_corp",
        "status": "active",
    },
}


def parse(text: str) -> Condition:
    return parse_condition(text, allowed_fields=FIELDS)


def refusal(text: str, fields: frozenset[str] = FIELDS) -> InvalidCondition:
    with pytest.raises(InvalidCondition) as caught:
        parse_condition(text, allowed_fields=fields)
    return caught.value


# Reading


def test_a_comparison_reads_into_its_test():
    assert parse("data.amount.amount >= 100000") == Compare("data.amount.amount", ">=", 100000)


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
def test_every_comparison_operator_is_read(op):
    assert parse(f"data.amount.amount {op} 5") == Compare("data.amount.amount", op, 5)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"t_corp"', "t_corp"),
        ('""', ""),
        ('"Москва, отдел «Продажи»"', "Москва, отдел «Продажи»"),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"back\\slash"', "back\\slash"),
        ("0", 0),
        ("-250", -250),
        ("007", 7),
        (str(INTEGER_LIMIT), INTEGER_LIMIT),
        (str(-INTEGER_LIMIT), -INTEGER_LIMIT),
        ("true", True),
        ("false", False),
    ],
)
def test_literals(text, value):
    test = parse(f"number.tariff_id == {text}")
    assert isinstance(test, Compare)
    assert test.value == value
    assert type(test.value) is type(value)


def test_a_list_of_values():
    assert parse('number.tariff_id in ["t_corp", "t_max", 3]') == IsIn(
        "number.tariff_id", ("t_corp", "t_max", 3)
    )


def test_a_subtree_test():
    assert parse('number.node within "node_msk"') == Within("number.node", "node_msk")


def test_not_binds_tighter_than_and_and_and_tighter_than_or():
    a = Compare("number.status", "==", "active")
    b = Compare("number.tariff_id", "==", "t")
    c = Compare("data.financial", "==", True)
    text = 'not number.status == "active" or number.tariff_id == "t" and data.financial == true'
    assert parse(text) == Or((Not(a), And((b, c))))


def test_parentheses_group():
    a = Compare("number.status", "==", "active")
    b = Compare("number.tariff_id", "==", "t")
    c = Compare("data.financial", "==", True)
    text = '(number.status == "active" or number.tariff_id == "t") and data.financial == true'
    assert parse(text) == And((Or((a, b)), c))
    assert parse('not (number.status == "active")') == Not(a)


def test_chains_of_the_same_operator_are_one_node():
    text = "data.amount.amount > 1 and data.amount.amount < 9 and data.financial == true"
    condition = parse(text)
    assert isinstance(condition, And)
    assert len(condition.operands) == 3


def test_spaces_and_line_breaks_between_tokens_are_free():
    assert parse('\n number.node\twithin"n1"  ') == Within("number.node", "n1")
    assert parse("data.amount.amount>=1") == Compare("data.amount.amount", ">=", 1)


def test_the_longest_and_deepest_conditions_are_read():
    nested = "(" * MAX_NESTING + "data.amount.amount == 1" + ")" * MAX_NESTING
    assert parse(nested) == Compare("data.amount.amount", "==", 1)
    nots = "not " * MAX_NESTING + "data.financial == true"
    assert isinstance(parse(nots), Not)
    long_text = 'number.tariff_id == "' + "x" * (MAX_LENGTH - 22) + '"'
    assert len(long_text) == MAX_LENGTH
    assert parse(long_text) == Compare("number.tariff_id", "==", "x" * (MAX_LENGTH - 22))


# Refusing, with where and what


@pytest.mark.parametrize(
    ("text", "position", "expected", "found"),
    [
        ("", 0, "a field, `not` or `(`", "the end of the condition"),
        ("   ", 3, "a field, `not` or `(`", "the end of the condition"),
        ("number.node", 11, "a comparison", "the end of the condition"),
        ("number.node = 1", 12, "a comparison", "`=`"),
        ("number.node ! 1", 12, "a comparison", "`!`"),
        ("number.node == ", 15, "a value", "the end of the condition"),
        ("number.node == 'x'", 15, "a value", "`'`"),
        ("number.node == x", 15, "a value", "`x`"),
        ("number.node == 1.5", 16, "`and`, `or` or the end", "`.`"),
        ("number.node == 1 number.node == 2", 17, "`and`, `or` or the end", "`number.node`"),
        ("number.node == 1)", 16, "`and`, `or` or the end", "`)`"),
        ("(number.node == 1", 17, "`)`, `and` or `or`", "the end of the condition"),
        ("()", 1, "a field, `not` or `(`", "`)`"),
        ("number.node == 1 and", 20, "a field, `not` or `(`", "the end of the condition"),
        ("and number.node == 1", 0, "a field, `not` or `(`", "`and`"),
        ("not", 3, "a field, `not` or `(`", "the end of the condition"),
        ("number.node in 1", 15, "a list of values", "`1`"),
        ("number.node in []", 16, "a value", "`]`"),
        ('number.node in ["a",]', 20, "a value", "`]`"),
        ('number.node in ["a" "b"]', 20, "`,` or `]`", '`"b"`'),
        ('number.node in ["a"', 19, "`,` or `]`", "the end of the condition"),
        ("number.node within node_msk", 19, "a node id", "`node_msk`"),
        ('number.node within ""', 19, "a node id", '`""`'),
        ("number.node within 5", 19, "a node id", "`5`"),
        ("data.financial < true", 17, "an integer or a", "`true`"),
        ("data.financial >= false", 18, "an integer or a", "`false`"),
        ('number.node == "open', 20, 'a closing `"`', "the end of the condition"),
        (r'number.node == "a\n"', 17, "a quote or a backslash", "`\\n`"),
        ('number.node == "a\\', 17, "a quote or a backslash", "the end of the condition"),
        ('number.node == "a\tb"', 17, "a printable character", "'\\t'"),
        ("number.node == -", 16, "a digit right after `-`", "the end of the condition"),
        ("number.node == - 1", 16, "a digit right after `-`", "a space"),
        ("number.node == -x", 16, "a digit right after `-`", "`x`"),
        ("number. == 1", 7, "a name after `.`", "a space"),
        ("number..node == 1", 7, "a name after `.`", "`.`"),
        ("number.1 == 1", 7, "a name after `.`", "`1`"),
        ("number.", 7, "a name after `.`", "the end of the condition"),
        ("AND", 0, "a field of this event", "`AND`"),
        ("number.node == 1 AND number.node == 2", 17, "`and`, `or` or the end", "`AND`"),
        ("__import__('os') == 1", 0, "a field of this event", "`__import__`"),
        ("number.node == 1 ; drop", 17, "`and`, `or` or the end", "`;`"),
        ("\x00", 0, "a field, `not` or `(`", "'\\x00'"),
    ],
)
def test_a_mistake_is_pointed_at(text, position, expected, found):
    error = refusal(text)
    assert error.position == position
    assert error.expected.startswith(expected)
    assert error.found == found
    assert f"at character {position + 1}" in error.message


def test_the_error_is_a_validation_error_on_the_condition_field():
    error = refusal("number.node ==")
    assert isinstance(error, InvalidArgument)
    assert error.reason == "INVALID_CONDITION"
    assert set(error.fields) == {"condition"}
    assert "expected a value" in error.fields["condition"]


def test_an_unknown_field_is_refused_with_a_suggestion():
    error = refusal("number.nod == 1")
    assert error.position == 0
    assert "did you mean `number.node`" in error.expected
    assert error.found == "`number.nod`"


def test_an_unknown_field_far_from_any_lists_the_fields():
    error = refusal("zzz == 1", frozenset({"number.node", "number.status"}))
    assert error.expected == "a field of this event: number.node, number.status"


def test_a_long_list_of_fields_is_shortened():
    fields = frozenset(f"data.f{i:02}" for i in range(30))
    assert refusal("qqq == 1", fields).expected.endswith(", …")


def test_an_event_without_fields_takes_no_condition():
    assert "no field" in refusal("number.node == 1", frozenset()).expected


def test_a_field_of_another_event_is_refused_where_it_stands():
    error = refusal('number.node == "a" and data.amount.amount > 1', frozenset({"number.node"}))
    assert error.position == 23


def test_the_first_mistake_is_the_one_reported():
    # The bad character at the end is not reached: the missing operator comes first.
    assert refusal("number.node 1 $").position == 12


def test_too_long_a_condition_is_refused_before_it_is_read():
    error = refusal("number.node == 1 or " * 30)
    assert error.position == MAX_LENGTH
    assert error.expected == f"at most {MAX_LENGTH} characters"


def test_too_deep_a_nesting_is_refused():
    deep = "(" * (MAX_NESTING + 1) + "number.node == 1" + ")" * (MAX_NESTING + 1)
    error = refusal(deep)
    assert error.position == MAX_NESTING
    assert "levels" in error.expected
    nots = "not " * (MAX_NESTING + 1) + "number.node == 1"
    assert refusal(nots).position == 4 * MAX_NESTING


def test_nesting_counts_open_levels_not_all_of_them():
    flat = " or ".join(["(number.node == 1)"] * 20)
    condition = parse(flat)
    assert isinstance(condition, Or)
    assert len(condition.operands) == 20


def test_brackets_past_the_limit_cannot_exhaust_the_stack():
    assert refusal("(" * MAX_LENGTH).position == MAX_NESTING


@pytest.mark.parametrize("digits", [str(INTEGER_LIMIT + 1), "9" * 40, f"-{INTEGER_LIMIT + 1}"])
def test_integers_beyond_64_bits_are_refused(digits):
    error = refusal(f"data.amount.amount == {digits}")
    assert error.position == 22
    assert error.expected.startswith("an integer between")


def test_a_long_token_is_shortened_in_the_message():
    error = refusal("number.node == " + "x" * 200)
    assert error.found.endswith("…`")
    assert len(error.found) < 50


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('id')",
        "number.node.__class__ == 1",
        "number.node == number.status",
        "exec('1')",
        "lambda: 1",
        "number.node == {}",
        "number.node == f'x'",
    ],
)
def test_code_is_never_a_condition(text):
    with pytest.raises(InvalidCondition):
        parse(text)


def test_a_field_is_only_a_path_of_keys():
    # Even a field named like Python's insides is looked up as keys of the facts, never as
    # attributes: on a plain event it is simply missing.
    condition = parse_condition("number.__class__ == 1", allowed_fields={"number.__class__"})
    assert holds(condition, FACTS) is False
    assert holds(condition, {"number": {"__class__": 1}}) is True


# Writing


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("data.amount.amount>=100000", "data.amount.amount >= 100000"),
        ('number.tariff_id in ["a","b" ,  7]', 'number.tariff_id in ["a", "b", 7]'),
        ('number.node within"n1"', 'number.node within "n1"'),
        ('number.node == "say \\"hi\\" \\\\"', 'number.node == "say \\"hi\\" \\\\"'),
        ("data.amount.amount == -007", "data.amount.amount == -7"),
        ("data.financial==true", "data.financial == true"),
        ("((number.node == 1))", "number.node == 1"),
        ("not(number.node == 1)", "not number.node == 1"),
        ("not not number.node == 1", "not not number.node == 1"),
        (
            "not (number.node == 1 or number.node == 2)",
            "not (number.node == 1 or number.node == 2)",
        ),
        (
            "number.node == 1 or number.node == 2 and number.node == 3",
            "number.node == 1 or (number.node == 2 and number.node == 3)",
        ),
        (
            "(number.node == 1 or number.node == 2) and number.node == 3",
            "(number.node == 1 or number.node == 2) and number.node == 3",
        ),
        (
            "number.node == 1 and (number.node == 2 and number.node == 3)",
            "number.node == 1 and (number.node == 2 and number.node == 3)",
        ),
    ],
)
def test_render_writes_the_canonical_text(text, canonical):
    assert render(parse(text)) == canonical
    assert parse(canonical) == parse(text)


def test_fields_of_a_condition():
    condition = parse(
        'number.node within "n" and (data.amount.amount > 1 or not number.node == "x")'
        ' or number.tariff_id in ["t"]'
    )
    assert fields_of(condition) == {"number.node", "data.amount.amount", "number.tariff_id"}


# Evaluating


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("data.amount.amount == 150000", True),
        ("data.amount.amount != 150000", False),
        ("data.amount.amount >= 150000", True),
        ("data.amount.amount > 150000", False),
        ("data.amount.amount < 150001", True),
        ("data.amount.amount <= 149999", False),
        ('data.amount.currency == "RUB"', True),
        ('number.msisdn < "8"', True),
        ("data.financial == true", True),
        ("data.financial != false", True),
        ('number.tariff_id in ["t_max", "t_corp"]', True),
        ('number.tariff_id in ["t_max"]', False),
        ('number.node within "node_msk"', True),
        ('number.node within "node_root"', True),
        ('number.node within "node_sales"', True),
        ('number.node within "node_spb"', False),
        ('not number.status == "blocked"', True),
        ('number.status == "blocked" or data.financial == true', True),
        ('number.status == "blocked" and data.financial == true', False),
        ('not (number.status == "active" and data.financial == true)', False),
        ('type == "payment.received"', True),
    ],
)
def test_holds(text, expected):
    assert holds(parse(text), FACTS) is expected


@pytest.mark.parametrize(
    "text",
    [
        "data.amount.amount == 1",
        "data.amount.amount != 1",
        'data.amount.amount in [1, "1"]',
        'number.node within "node_msk"',
        "data.financial == true",
    ],
)
def test_a_missing_field_makes_a_test_false(text):
    assert holds(parse(text), {}) is False
    assert holds(parse(text), {"data": "not a mapping", "number": None}) is False
    assert holds(parse(f"not {text}"), {}) is True


@pytest.mark.parametrize(
    ("text", "fact"),
    [
        ('data.amount.amount == "150000"', 150000),
        ('data.amount.amount != "150000"', 150000),
        ("data.amount.amount == 150000", "150000"),
        ("data.amount.amount > 1", "150000"),
        ("data.amount.amount == 1", True),
        ("data.amount.amount >= 0", True),
        ("data.amount.amount in [1]", True),
        ("data.financial == true", 1),
        ("data.financial != true", 1),
        ("data.amount.amount == 1", 1.0),
        ("data.amount.amount == 1", [1]),
        ("data.amount.amount == 1", None),
    ],
)
def test_a_fact_of_another_kind_makes_a_test_false(text, fact):
    assert holds(parse(text), {"data": {"amount": {"amount": fact}, "financial": fact}}) is False


def test_within_reads_the_nodes_path_beside_the_field():
    within = parse('number.node within "node_msk"')
    assert holds(within, {"number": {"node": "node_msk"}})
    assert holds(within, {"number": {"node_path": ("node_root", "node_msk", "x")}})
    assert not holds(within, {"number": {"node": "x", "node_path": "node_msk"}})
    assert not holds(within, {"number": {"node": "x", "node_path": [["node_msk"]]}})
    assert not holds(within, {"number": {"node": "x", "node_path": None}})


# Properties

FIELD_NAMES = sorted(FIELDS)
names = st.sampled_from(FIELD_NAMES)
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=20
)  # the characters a string may hold
values = st.one_of(
    texts,
    st.integers(min_value=-INTEGER_LIMIT, max_value=INTEGER_LIMIT),
    st.booleans(),
)


@st.composite
def compares(draw: st.DrawFn) -> Compare:
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
    ordered = op in ("<", "<=", ">", ">=")
    value = draw(values.filter(lambda v: not (ordered and isinstance(v, bool))))
    return Compare(draw(names), op, value)


tests_ = st.one_of(
    compares(),
    st.builds(IsIn, names, st.lists(values, min_size=1, max_size=4).map(tuple)),
    st.builds(Within, names, texts.filter(bool)),
)
conditions = st.recursive(
    tests_,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.builds(And, st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.builds(Or, st.lists(inner, min_size=2, max_size=3).map(tuple)),
    ),
    max_leaves=8,
)


def nesting(condition: Condition) -> int:
    """How many `not`s and `(`s the canonical text of a condition opens at its deepest."""
    match condition:
        case Not(operand):
            return 1 + grouped_nesting(operand)
        case And(operands) | Or(operands):
            return max(grouped_nesting(o) for o in operands)
    return 0


def grouped_nesting(condition: Condition) -> int:
    return nesting(condition) + (1 if isinstance(condition, And | Or) else 0)


def within_limits(condition: Condition) -> bool:
    return len(render(condition)) <= MAX_LENGTH and nesting(condition) <= MAX_NESTING


@settings(max_examples=300)
@given(conditions)
def test_render_then_parse_gives_the_condition_back(condition):
    text = render(condition)
    if not within_limits(condition):
        with pytest.raises(InvalidCondition):
            parse(text)
        return
    again = parse(text)
    assert again == condition
    assert render(again) == text  # also tells true from 1, which == does not


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
shaped_facts = st.fixed_dictionaries(
    {},
    optional={
        "type": json_values,
        "data": st.fixed_dictionaries(
            {},
            optional={
                "amount": st.fixed_dictionaries({}, optional={"amount": json_values}) | json_values,
                "financial": json_values,
            },
        ),
        "number": st.dictionaries(
            st.sampled_from(["node", "node_path", "tariff_id", "status", "msisdn", "x"]),
            json_values,
        )
        | json_values,
    },
)


@settings(max_examples=300)
@given(conditions, st.one_of(shaped_facts, st.dictionaries(st.text(max_size=8), json_values)))
def test_evaluation_never_raises(condition, facts):
    assert holds(condition, facts) in (True, False)


@settings(max_examples=300)
@given(st.text(max_size=MAX_LENGTH + 20))
def test_any_text_is_a_condition_or_a_domain_error(text):
    try:
        parse(text)
    except DomainError as error:
        assert isinstance(error, InvalidCondition)
        assert 0 <= error.position <= len(text)


TOKENS = [
    *FIELD_NAMES,
    "and", "or", "not", "in", "within", "true", "false",
    "==", "!=", "<", "<=", ">", ">=", "=", "!",
    "(", ")", "[", "]", ",", ".", '"', "\\", "-", " ", "\n",
    '"a"', '"node_msk"', "0", "1", "-5", "99999999999999999999", "x", "$", "'",
]  # fmt: skip


@settings(max_examples=500)
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_token_soup_is_a_condition_or_a_domain_error(tokens):
    text = " ".join(tokens)
    try:
        condition = parse(text)
    except InvalidCondition as error:
        assert 0 <= error.position <= len(text)
        return
    if within_limits(condition):  # the canonical text may add spaces and parentheses
        assert parse(render(condition)) == condition


@given(st.text(alphabet=string.ascii_letters + "._0123456789", min_size=1, max_size=30))
def test_only_allowed_fields_are_read(name):
    try:
        condition = parse(f"{name} == 1")
    except InvalidCondition:
        return
    assert fields_of(condition) <= FIELDS


def nested(levels: int) -> Condition:
    """`levels` alternating groups: a or (b and (c or (…)))."""
    condition: Condition = Compare("number.node", "==", levels)
    for level in range(levels):
        other = Compare("number.node", "==", level)
        condition = And((other, condition)) if level % 2 else Or((other, condition))
    return condition


@pytest.mark.parametrize("levels", range(MAX_NESTING + 3))
def test_the_nesting_limit_holds_for_rendered_conditions(levels):
    for condition in (nested(levels), Not(nested(levels))):
        text = render(condition)
        if nesting(condition) <= MAX_NESTING:
            assert parse(text) == condition
        else:
            with pytest.raises(InvalidCondition, match="levels"):
                parse(text)
