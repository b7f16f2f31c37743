"""The pure parts of the provisioning saga: what a change writes to the number's document
(only the fields it sets), the system's blocks decided on the number as it is, and changes
kept as documents and read back unchanged."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.catalog.domain import operations as rules
from services.catalog.provisioning import (
    BlockChange,
    ForwardingChange,
    MsisdnChange,
    ServiceChange,
    SimChange,
    TariffChange,
    change_doc,
    change_from,
)
from services.catalog.store.number_changes import fields_changed
from tests.unit.test_catalog_operations import a_number

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


def test_a_change_writes_only_the_fields_it_sets():
    number = a_number(label="касса", comment="")
    blocked = rules.with_block(number, "voluntary", NOW)
    assert set(fields_changed(number, blocked)) == {"status", "blocks"}
    moved_sim = replace(number, iccid="8970199000000000017")
    assert fields_changed(number, moved_sim) == {"iccid": "8970199000000000017"}
    assert fields_changed(number, number) == {}


def test_a_replacement_writes_the_new_number_as_the_documents_id():
    number = a_number()
    replaced = rules.replaced(number, "79169998877")
    assert fields_changed(number, replaced)["_id"] == "79169998877"


def test_the_system_sets_and_lifts_its_block_only_where_it_is_not_so():
    number = a_number()
    blocked = rules.as_system_wants(number, "financial", True, NOW)
    assert blocked is not None and blocked.status == "blocked"
    assert rules.as_system_wants(blocked, "financial", True, NOW) is None
    assert rules.as_system_wants(number, "financial", False, NOW) is None
    lifted = rules.as_system_wants(blocked, "financial", False, NOW)
    assert lifted is not None and lifted.status == "active" and lifted.blocks == ()
    both = rules.with_block(blocked, "voluntary", NOW)
    still = rules.as_system_wants(both, "financial", False, NOW)
    assert still is not None and still.status == "blocked"  # the customer's block stays


@pytest.mark.parametrize(
    "change",
    [
        TariffChange("79161234567", "basic", {"minutes": "300"}),
        ServiceChange("79161234567", "internet", connected=False),
        BlockChange("79161234567", "voluntary", set=True),
        ForwardingChange("79161234567", "busy", "74951234567"),
        SimChange("79161234567", "8970199000000000009"),
        MsisdnChange("79161234567", "79169998877", "8970199000000000009"),
    ],
)
def test_a_change_read_back_from_its_document_is_the_same_change(change):
    assert change_from(change_doc(change)) == change
