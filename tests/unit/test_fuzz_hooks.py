"""tests/fuzz/hooks.py: each well-formed Idempotency-Key the fuzzer sends is a new one;
a malformed one is sent as drawn, so the gateway's refusal of it is still fuzzed."""

from __future__ import annotations

from tests.fuzz.hooks import HEADER, fresh_idempotency_key


def test_a_drawn_key_sent_twice_goes_out_as_two_different_keys():
    first, second = {HEADER: "0", "Accept": "*/*"}, {HEADER: "0"}
    fresh_idempotency_key(first)
    fresh_idempotency_key(second)
    assert first[HEADER] != "0" and second[HEADER] != "0"
    assert first[HEADER] != second[HEADER]
    assert first["Accept"] == "*/*"


def test_a_malformed_key_is_sent_as_drawn():
    for malformed in ["", " padded ", "ключ", "x" * 201, "\x00"]:
        headers = {HEADER: malformed}
        fresh_idempotency_key(headers)
        assert headers[HEADER] == malformed


def test_a_request_without_the_key_gets_none():
    headers: dict[str, str] = {"Accept": "*/*"}
    fresh_idempotency_key(headers)
    fresh_idempotency_key(None)
    assert headers == {"Accept": "*/*"}
