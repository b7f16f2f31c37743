"""Per-request context carried through asyncio tasks: request id, caller, client address.
The trace context is OpenTelemetry's own (services/kit/tracing.py)."""

from __future__ import annotations

import secrets
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

from opentelemetry import trace

CallerKind = Literal["anonymous", "user", "api_key", "operator"]


@dataclass(frozen=True)
class Caller:
    """Who is calling: nobody yet (public flows), a company's user, one of the company's
    API keys (its integrations), or the operator.

    `user_id` is the token's subject: the user's id, or for an API key the key's id.
    `rule_id`: the automation rule a user's token acts for (identity's IssueRuleToken): the
    call is checked as the user's, with the user's access, but what it causes is the rule's
    doing (`actor_kind` "rule"), so that it triggers no rule in turn."""

    kind: CallerKind = "anonymous"
    company_id: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    token: str | None = field(default=None, repr=False)
    rule_id: str | None = None

    @property
    def is_user(self) -> bool:
        return self.kind == "user"

    @property
    def is_api_key(self) -> bool:
        return self.kind == "api_key"

    @property
    def is_company(self) -> bool:
        """A user or an API key: both act for their company, with the access they hold."""
        return self.kind in ("user", "api_key")

    @property
    def is_operator(self) -> bool:
        return self.kind == "operator"

    @property
    def actor_kind(self) -> str:
        """Who the events of this call say caused them: the caller's kind, or "rule"."""
        return "rule" if self.rule_id else self.kind


ANONYMOUS = Caller()

request_id_var: ContextVar[str] = ContextVar("request_id", default="")
# When the work of the call being served must end (time.monotonic()): its caller's deadline
# less the time kept to answer in. Its database commands and its calls to other services
# end by then (set by services/kit/grpc_server.py, applied to calls by grpc_client.py).
# None outside a call with a deadline: a worker's or a consumer's work.
call_deadline_var: ContextVar[float | None] = ContextVar("call_deadline", default=None)
# What a spent deadline leaves to the work: a tiny time, never none (PyMongo and gRPC
# both read 0 or None as "no timeout").
SPENT_DEADLINE_SECONDS = 0.001
caller_var: ContextVar[Caller] = ContextVar("caller", default=ANONYMOUS)
# The end client's address as the gateway saw it (login throttling, audit).
client_address_var: ContextVar[str] = ContextVar("client_address", default="")


def new_request_id() -> str:
    return secrets.token_hex(8)


def current_caller() -> Caller:
    return caller_var.get()


def trace_id() -> str:
    """The current span's trace id (32 hex digits, as in `traceparent`), "" outside any."""
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else ""
