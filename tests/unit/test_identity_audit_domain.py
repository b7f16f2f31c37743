"""services/identity/domain/audit.py: an event read as an audit-log entry, and the filter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.identity.domain.audit import (
    DENIED,
    SUCCEEDED,
    UNKNOWN_ACTOR,
    audit_entry,
    checked_query,
    is_secret,
    summary_of,
)
from services.kit.errors import InvalidArgument
from services.kit.events import Event

AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def event(event_type: str = "vm.identity.user.created.v1", **overrides) -> Event:
    fields = {
        "id": "evt-1",
        "type": event_type,
        "source": "/services/identity",
        "time": AT,
        "data": {"company_id": "cmp_1", "user_id": "usr_2", "login": "ivanova.a"},
        "subject": "usr_2",
        "company_id": "cmp_1",
        "actor": "usr_1",
        "actor_kind": "user",
        **overrides,
    }
    return Event(**fields)


def test_a_change_becomes_an_entry_of_its_company():
    entry = audit_entry(event())

    assert entry is not None
    assert entry.id == "evt-1"
    assert entry.company_id == "cmp_1"
    assert entry.at == AT
    assert (entry.actor, entry.actor_kind) == ("usr_1", "user")
    assert entry.type == "vm.identity.user.created.v1"
    assert entry.target == "usr_2"
    assert entry.result == SUCCEEDED
    assert entry.service == "identity"
    assert entry.summary == "user_id=usr_2, login=ivanova.a"


def test_an_event_of_no_company_is_in_no_log():
    assert audit_entry(event(company_id=None)) is None
    assert audit_entry(event(company_id="")) is None


def test_a_refused_request_is_a_denied_entry_that_says_why_and_from_where():
    denial = event(
        "vm.billing.request.denied.v1",
        source="/services/billing",
        subject="/vm.billing.v1.TransferService/CreateTransfer",
        data={
            "method": "/vm.billing.v1.TransferService/CreateTransfer",
            "reason": "PERMISSION_DENIED",
            "detail": "you do not have the permission 'finance.transfer' here",
            "caller": "usr_1",
            "client_address": "10.0.0.7",
        },
    )

    entry = audit_entry(denial)

    assert entry is not None
    assert entry.result == DENIED
    assert entry.service == "billing"
    assert entry.target == "/vm.billing.v1.TransferService/CreateTransfer"
    assert entry.summary == (
        "you do not have the permission 'finance.transfer' here (from 10.0.0.7)"
    )


def test_an_event_without_an_actor_says_the_actor_is_unknown():
    entry = audit_entry(event(actor=None, actor_kind=None))

    assert entry is not None
    assert (entry.actor, entry.actor_kind) == (UNKNOWN_ACTOR, UNKNOWN_ACTOR)


def test_the_service_falls_back_to_the_type_when_the_source_names_none():
    entry = audit_entry(event("vm.catalog.number.moved.v1", source="/"))

    assert entry is not None
    assert entry.service == "catalog"


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "new_password",
        "password_hash",
        "sms_code",
        "codes",
        "refresh_token",
        "totp_secret",
        "api_key",
        "secret",
        "code_digest",
    ],
)
def test_secret_fields_are_recognised(name):
    assert is_secret(name)


@pytest.mark.parametrize(
    "name", ["user_id", "login", "api_key_id", "role_ids", "status", "email", "name"]
)
def test_ordinary_fields_are_not_secret(name):
    assert not is_secret(name)


def test_secrets_never_reach_the_summary_even_nested():
    summary = summary_of(
        {
            "user_id": "usr_2",
            "password": "Hunter-22",
            "mfa": {"totp_secret": "JBSWY3DP", "enabled": True},
            "codes": ["123456"],
        }
    )

    assert "Hunter-22" not in summary and "JBSWY3DP" not in summary and "123456" not in summary
    assert summary == "user_id=usr_2, mfa={enabled=True}"


def test_the_summary_is_short():
    summary = summary_of({f"field_{i}": "x" * 200 for i in range(20)})

    assert len(summary) <= 300
    assert summary.endswith("…")


def test_a_query_with_from_after_to_is_an_empty_window():
    """Not a malformed request (it was 422): the window simply holds no events."""
    query = checked_query("", "", AT, AT - timedelta(seconds=1))

    assert (query.since, query.until) == (AT, AT - timedelta(seconds=1))


def test_a_query_with_an_overlong_filter_is_refused():
    with pytest.raises(InvalidArgument) as refused:
        checked_query("u" * 101, "t" * 201, None, None)

    assert set(refused.value.fields) == {"actor", "type"}


def test_a_window_of_one_instant_is_allowed():
    query = checked_query(" usr_1 ", "vm.identity.user.created.v1", AT, AT)

    assert (query.actor, query.since, query.until) == ("usr_1", AT, AT)
