"""Automation rules' conditions: a small expression over an event and the number it concerns.

A rule fires on an event type and, when it has a condition, only if the condition holds for
that event, e.g.

    data.amount.amount >= 100000 and number.node within "node_msk"
    number.tariff_id in ["t_corp", "t_corp_plus"] and not number.status == "blocked"

People type these, so the text is read here by a grammar of our own into a tree of frozen
dataclasses. It never reaches eval, exec or compile, and no name in it reaches an attribute
or a function of ours: a field is only a path of keys into the facts mapping.

Grammar (keywords lower case; spaces, tabs and line breaks between tokens are free):

    condition := all ("or" all)*
    all       := negation ("and" negation)*
    negation  := "not" negation | "(" condition ")" | test
    test      := field ("==" | "!=" | "<" | "<=" | ">" | ">=") value
               | field "in" "[" value ("," value)* "]"
               | field "within" string                  -- the node or its subtree
    field     := name ("." name)*                       name := [A-Za-z_][A-Za-z0-9_]*
    value     := string | integer | "true" | "false"
    string    := '"' characters, with \\" and \\\\ for a quote and a backslash '"'
                                                        -- no control characters
    integer   := "-"? digits                            -- money in kopecks: never fractions

`not` binds tighter than `and`, and `and` tighter than `or`. A condition is at most
`MAX_LENGTH` characters and nests parentheses and `not`s at most `MAX_NESTING` deep.

Evaluation never raises: a test on a missing field, or on a fact of another kind than its
value (the number 5 against the text "5"), is false — including `!=`, so that a rule never
acts on an event that lacks what its condition speaks of; `not (x == 1)` is the way to say
"unless x is 1", and it holds when x is missing.
"""

from __future__ import annotations

import difflib
import operator
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

from services.kit.errors import InvalidArgument

MAX_LENGTH = 500
MAX_NESTING = 16
# What MongoDB keeps as a 64-bit integer: far above any sum of money in kopecks.
INTEGER_LIMIT = 2**63 - 1
# `number.node within "X"` reads the node's path (its ancestors, root first, then the node
# itself, as catalog keeps it) from the fact beside the field: `number.node_path`.
PATH_SUFFIX = "_path"

EQUALITY = ("==", "!=")
ORDERING = ("<", "<=", ">", ">=")
OPERATORS = (*EQUALITY, *ORDERING)
KEYWORDS = frozenset({"and", "or", "not", "in", "within", "true", "false"})

Value = str | int | bool


@dataclass(frozen=True)
class Compare:
    field: str
    operator: str  # one of OPERATORS
    value: Value


@dataclass(frozen=True)
class IsIn:
    field: str
    values: tuple[Value, ...]  # at least one


@dataclass(frozen=True)
class Within:
    """The field names a hierarchy node that is `node_id` or lies below it."""

    field: str
    node_id: str


@dataclass(frozen=True)
class Not:
    operand: Condition


@dataclass(frozen=True)
class And:
    operands: tuple[Condition, ...]  # at least two


@dataclass(frozen=True)
class Or:
    operands: tuple[Condition, ...]  # at least two


Condition = Compare | IsIn | Within | Not | And | Or
Test = Compare | IsIn | Within


class InvalidCondition(InvalidArgument):
    """The text is not a condition: where (`position`, a 0-based offset into the text) and
    what was expected there, for the form to point at."""

    reason = "INVALID_CONDITION"

    def __init__(self, position: int, expected: str, found: str) -> None:
        problem = f"at character {position + 1}: expected {expected}, found {found}"
        super().__init__(f"the condition is not valid {problem}", {"condition": problem})
        self.position = position
        self.expected = expected
        self.found = found


_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_PART = _NAME_START | frozenset("0123456789")
_DIGITS = frozenset("0123456789")
_SPACE = frozenset(" \t\r\n")
_SYMBOLS = frozenset("()[],")
_ESCAPED = frozenset('"\\')
FOUND_SHOWN = 40  # a long token is shortened in messages

EXPECT_TEST = "a field, `not` or `(`"
EXPECT_OPERATOR = "a comparison (==, !=, <, <=, >, >=), `in` or `within`"
EXPECT_VALUE = 'a value: a "string", an integer, true or false'
EXPECT_ORDERED = 'an integer or a "string" (true and false have no order)'
EXPECT_NODE = 'a node id in double quotes, e.g. "node_msk"'
EXPECT_MORE = "`and`, `or` or the end of the condition"


@dataclass(frozen=True)
class _Token:
    kind: str  # name, keyword, operator, string, integer, symbol, unknown, end
    text: str  # as written
    start: int
    value: Value = ""

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    def found(self) -> str:
        if self.kind == "end":
            return "the end of the condition"
        if not self.text.isprintable():
            return repr(self.text[:FOUND_SHOWN])
        shown = self.text if len(self.text) <= FOUND_SHOWN else self.text[:FOUND_SHOWN] + "…"
        return f"`{shown}`"


def _token_at(text: str, start: int) -> _Token:
    """The token that begins at or after `start`. A character that begins no token comes
    back as `unknown`, so that the parser says what it expected in its place."""
    at = start
    while at < len(text) and text[at] in _SPACE:
        at += 1
    if at == len(text):
        return _Token("end", "", at)
    char = text[at]
    if char in _SYMBOLS:
        return _Token("symbol", char, at)
    pair = text[at : at + 2]
    if pair in OPERATORS:
        return _Token("operator", pair, at)
    if char in "<>":
        return _Token("operator", char, at)
    if char == '"':
        return _string_at(text, at)
    if char == "-" or char in _DIGITS:
        return _integer_at(text, at)
    if char in _NAME_START:
        return _name_at(text, at)
    return _Token("unknown", char, at)


def _char_found(text: str, at: int) -> str:
    if at >= len(text):
        return "the end of the condition"
    return "a space" if text[at] in _SPACE else f"`{text[at]}`"


def _string_at(text: str, start: int) -> _Token:
    chars: list[str] = []
    at = start + 1
    while at < len(text):
        char = text[at]
        if char == '"':
            return _Token("string", text[start : at + 1], start, "".join(chars))
        if char == "\\":
            escaped = text[at + 1 : at + 2]
            if escaped not in _ESCAPED:
                found = f"`\\{escaped}`" if escaped else "the end of the condition"
                raise InvalidCondition(at, 'a quote or a backslash after `\\` (\\" or \\\\)', found)
            chars.append(escaped)
            at += 2
            continue
        if unicodedata.category(char) in ("Cc", "Cs"):
            # Rules are shown and edited in the console: an invisible character in a value
            # would make two equal-looking conditions differ.
            raise InvalidCondition(at, 'a printable character or a closing `"`', f"{char!r}")
        chars.append(char)
        at += 1
    raise InvalidCondition(len(text), 'a closing `"`', "the end of the condition")


def _integer_at(text: str, start: int) -> _Token:
    at = start + 1 if text[start] == "-" else start
    digits_start = at
    while at < len(text) and text[at] in _DIGITS:
        at += 1
    if at == digits_start:
        raise InvalidCondition(at, "a digit right after `-`", _char_found(text, at))
    written = text[start:at]
    number = int(written)
    if abs(number) > INTEGER_LIMIT:
        raise InvalidCondition(
            start, f"an integer between -{INTEGER_LIMIT} and {INTEGER_LIMIT}", f"`{written}`"
        )
    return _Token("integer", written, start, number)


def _name_at(text: str, start: int) -> _Token:
    at = start
    while True:
        while at < len(text) and text[at] in _NAME_PART:
            at += 1
        if at < len(text) and text[at] == ".":
            if at + 1 < len(text) and text[at + 1] in _NAME_START:
                at += 1
                continue
            raise InvalidCondition(at + 1, "a name after `.`", _char_found(text, at + 1))
        break
    written = text[start:at]
    if written in KEYWORDS:
        return _Token("keyword", written, start, written)
    return _Token("name", written, start, written)


class _Parser:
    """Recursive descent over the grammar of the module's docstring, one token ahead.

    Tokens are read as the parser goes, so that the first mistake in the text is the one
    reported, whatever comes after it.
    """

    def __init__(self, text: str, allowed_fields: Collection[str]) -> None:
        self._text = text
        self._allowed = allowed_fields
        self._nesting = 0
        self._token = _token_at(text, 0)

    def condition(self) -> Condition:
        found = self._any()
        if self._token.kind != "end":
            self._fail(EXPECT_MORE)
        return found

    def _any(self) -> Condition:
        operands = [self._all()]
        while self._at("keyword", "or"):
            self._advance()
            operands.append(self._all())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def _all(self) -> Condition:
        operands = [self._negation()]
        while self._at("keyword", "and"):
            self._advance()
            operands.append(self._negation())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def _negation(self) -> Condition:
        if self._at("keyword", "not"):
            with self._deeper():
                return Not(self._negation())
        if self._at("symbol", "("):
            with self._deeper():
                inner = self._any()
                self._expect("symbol", ")", "`)`, `and` or `or`")
                return inner
        if self._token.kind == "name":
            return self._test()
        self._fail(EXPECT_TEST)

    def _test(self) -> Test:
        field = self._field()
        token = self._token
        if token.kind == "operator":
            self._advance()
            return Compare(field, token.text, self._value(ordered=token.text in ORDERING))
        if self._at("keyword", "in"):
            self._advance()
            return IsIn(field, self._values())
        if self._at("keyword", "within"):
            self._advance()
            return Within(field, self._node_id())
        self._fail(EXPECT_OPERATOR)

    def _field(self) -> str:
        token = self._token
        name = str(token.value)
        if name not in self._allowed:
            raise InvalidCondition(token.start, _expected_field(name, self._allowed), token.found())
        self._advance()
        return name

    def _value(self, *, ordered: bool = False) -> Value:
        token = self._token
        if token.kind in ("string", "integer"):
            self._advance()
            return token.value
        if token.kind == "keyword" and token.text in ("true", "false"):
            if ordered:
                self._fail(EXPECT_ORDERED)
            self._advance()
            return token.text == "true"
        self._fail(EXPECT_ORDERED if ordered else EXPECT_VALUE)

    def _values(self) -> tuple[Value, ...]:
        self._expect("symbol", "[", 'a list of values in `[ ]`, e.g. ["a", "b"]')
        values = [self._value()]
        while self._at("symbol", ","):
            self._advance()
            values.append(self._value())
        self._expect("symbol", "]", "`,` or `]`")
        return tuple(values)

    def _node_id(self) -> str:
        token = self._token
        if token.kind != "string" or not token.value:
            self._fail(EXPECT_NODE)
        self._advance()
        return str(token.value)

    @contextmanager
    def _deeper(self) -> Iterator[None]:
        """Steps over the `not` or `(` at hand, one level deeper. The limit is checked
        before going down, so that no text can exhaust the parser's stack."""
        if self._nesting == MAX_NESTING:
            self._fail(f"at most {MAX_NESTING} levels of parentheses and `not`")
        self._nesting += 1
        self._advance()
        yield
        self._nesting -= 1

    def _at(self, kind: str, text: str) -> bool:
        return self._token.kind == kind and self._token.text == text

    def _expect(self, kind: str, text: str, expected: str) -> None:
        if not self._at(kind, text):
            self._fail(expected)
        self._advance()

    def _advance(self) -> None:
        self._token = _token_at(self._text, self._token.end)

    def _fail(self, expected: str) -> NoReturn:
        raise InvalidCondition(self._token.start, expected, self._token.found())


def _expected_field(name: str, allowed: Collection[str]) -> str:
    if not allowed:
        return "no field: this event has none to test"
    close = difflib.get_close_matches(name, sorted(allowed), n=1)
    if close:
        return f"a field of this event (did you mean `{close[0]}`?)"
    shown = sorted(allowed)[:10]
    more = ", …" if len(allowed) > len(shown) else ""
    return "a field of this event: " + ", ".join(shown) + more


def parse_condition(text: str, *, allowed_fields: Collection[str]) -> Condition:
    """The condition written in `text`, whose fields must all be among `allowed_fields` (the
    fields of the rule's event type and of its number). Raises InvalidCondition."""
    if len(text) > MAX_LENGTH:
        raise InvalidCondition(
            MAX_LENGTH, f"at most {MAX_LENGTH} characters", f"{len(text)} characters"
        )
    return _Parser(text, allowed_fields).condition()


def render(condition: Condition) -> str:
    """The canonical text of a condition: single spaces, lower-case keywords, double quotes,
    parentheses around every `and`/`or` inside another (precedence need not be known to
    read it). `parse_condition(render(c))` gives `c` back. The canonical text can be longer
    than the text it was read from (spaces, parentheses): keep what the person wrote, and
    show this one."""
    match condition:
        case Compare(field, op, value):
            return f"{field} {op} {_literal(value)}"
        case IsIn(field, values):
            return f"{field} in [{', '.join(_literal(v) for v in values)}]"
        case Within(field, node_id):
            return f"{field} within {_literal(node_id)}"
        case Not(operand):
            return f"not {_grouped(operand)}"
        case And(operands):
            return " and ".join(_grouped(o) for o in operands)
        case Or(operands):
            return " or ".join(_grouped(o) for o in operands)
    raise TypeError(f"not a condition: {condition!r}")


def _grouped(condition: Condition) -> str:
    text = render(condition)
    return f"({text})" if isinstance(condition, And | Or) else text


def _literal(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fields_of(condition: Condition) -> frozenset[str]:
    """The fields a condition reads: which facts must be gathered before it is evaluated."""
    match condition:
        case Compare(field) | IsIn(field) | Within(field):
            return frozenset({field})
        case Not(operand):
            return fields_of(operand)
        case And(operands) | Or(operands):
            return frozenset().union(*(fields_of(o) for o in operands))
    raise TypeError(f"not a condition: {condition!r}")


class _Missing:
    """No such fact: every test on it is false."""


_MISSING = _Missing()

# Only ever applied to a fact and a value of the same kind (see `_same_kind`).
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def holds(condition: Condition, facts: Mapping[str, object]) -> bool:
    """Whether the condition holds for these facts: the event (`type`, `data`, …) and the
    number's facts (`number`: node, node_path, tariff_id, …), nested as in the event's JSON;
    a field `a.b.c` is `facts["a"]["b"]["c"]`. Never raises."""
    match condition:
        case Compare(field, op, value):
            fact = _fact(facts, field)
            return _same_kind(fact, value) and _COMPARE[op](fact, value)
        case IsIn(field, values):
            fact = _fact(facts, field)
            return any(_same_kind(fact, v) and fact == v for v in values)
        case Within(field, node_id):
            return _is_within(facts, field, node_id)
        case Not(operand):
            return not holds(operand, facts)
        case And(operands):
            return all(holds(o, facts) for o in operands)
        case Or(operands):
            return any(holds(o, facts) for o in operands)
    return False


def _fact(facts: Mapping[str, object], field: str) -> object:
    found: object = facts
    for key in field.split("."):
        if not isinstance(found, Mapping):
            return _MISSING
        found = found.get(key, _MISSING)
    return found


def _kind(value: object) -> type | None:
    # bool before int: True is an int to Python, but `true` is not the number 1 to a rule.
    for kind in (bool, int, str):
        if isinstance(value, kind):
            return kind
    return None


def _same_kind(fact: object, value: Value) -> bool:
    kind = _kind(fact)
    return kind is not None and kind is _kind(value)


def _is_within(facts: Mapping[str, object], field: str, node_id: str) -> bool:
    node = _fact(facts, field)
    if isinstance(node, str) and node == node_id:
        return True
    path = _fact(facts, field + PATH_SUFFIX)
    return isinstance(path, list | tuple) and any(
        isinstance(step, str) and step == node_id for step in path
    )
