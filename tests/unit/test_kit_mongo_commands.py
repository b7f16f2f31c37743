"""The collection a MongoDB command is counted under (services/kit/mongo.py's listener)."""

from __future__ import annotations

from bson import Int64

from services.kit.mongo import command_collection, documents_written


def test_a_command_on_a_collection_is_counted_under_it() -> None:
    assert command_collection({"find": "numbers", "filter": {}, "$db": "vm_catalog"}) == "numbers"
    assert command_collection({"update": "numbers", "updates": []}) == "numbers"


def test_a_get_more_is_counted_under_its_cursors_collection() -> None:
    assert command_collection({"getMore": Int64(42), "collection": "outbox"}) == "outbox"


def test_a_command_on_no_collection_is_counted_under_none() -> None:
    assert command_collection({"commitTransaction": 1, "$db": "admin"}) == ""
    assert command_collection({"aggregate": 1, "pipeline": []}) == ""
    assert command_collection({}) == ""


def test_a_write_counts_the_documents_its_statements_name() -> None:
    assert documents_written("insert", {"insert": "outbox", "documents": [{}, {}, {}]}) == 3
    assert documents_written("update", {"update": "numbers", "updates": [{}, {}]}) == 2
    assert documents_written("delete", {"delete": "leases", "deletes": [{}]}) == 1
    assert documents_written("findAndModify", {"findAndModify": "relay_leases"}) == 1


def test_a_read_writes_no_document() -> None:
    assert documents_written("find", {"find": "numbers", "filter": {}}) == 0
    assert documents_written("commitTransaction", {"commitTransaction": 1}) == 0
