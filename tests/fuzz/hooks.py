"""The fuzzer's one hook (SCHEMATHESIS_HOOKS, set by test_rest_contract.py): in the
stateful phase, every well-formed Idempotency-Key it sends is a new one, as the contract
asks of a client.

Hypothesis draws the same short keys again and again ("!", "0"…). A creating POST sent
again with a drawn key and the same body answers its first response, as the key promises
(API.md), and that response may name an object the run has deleted since; the stateful
phase then reports "a resource just created" as gone (ST302) on whatever operation it
follows the link to. A fresh key per request keeps that check on for every operation.
The other phases send their keys as drawn (an edited case is validated again, which there
would blur what a coverage case left out on purpose), and a malformed key is never
replaced, so its refusal is still fuzzed; replays are tested end to end (tests/e2e)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import schemathesis
from schemathesis.generation.meta import TestPhase

from gateway.deps import IDEMPOTENCY_KEY_PATTERN
from services.kit.idempotency import KEY_MAX

HEADER = "Idempotency-Key"
_WELL_FORMED = re.compile(IDEMPOTENCY_KEY_PATTERN)


def fresh_idempotency_key(headers: dict[str, Any] | None) -> None:
    """Replaces a well-formed Idempotency-Key of `headers` by a new one, in place."""
    if not headers:
        return
    key = headers.get(HEADER)
    if not isinstance(key, str) or len(key) > KEY_MAX or not _WELL_FORMED.match(key):
        return
    headers[HEADER] = f"fuzz-{uuid.uuid4()}"


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if case.meta is not None and case.meta.phase.name == TestPhase.STATEFUL:
        fresh_idempotency_key(case.headers)
