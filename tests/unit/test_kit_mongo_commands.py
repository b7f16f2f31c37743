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


def test_a_write_counts_the_documents_its_answer_says_it_wrote() -> None:
    assert documents_written("insert", {"n": 3, "ok": 1.0}) == 3
    assert documents_written("update", {"n": 5, "nModified": 4, "ok": 1.0}) == 4
    assert documents_written("update", {"n": 1, "nModified": 0, "upserted": [{"_id": 1}]}) == 1
    assert documents_written("delete", {"n": 2, "ok": 1.0}) == 2
    assert documents_written("findAndModify", {"lastErrorObject": {"n": 1}, "value": {}}) == 1


def test_a_poll_that_found_nothing_and_a_read_write_no_document() -> None:
    assert documents_written("findAndModify", {"lastErrorObject": {"n": 0}, "value": None}) == 0
    assert documents_written("update", {"n": 0, "nModified": 0, "ok": 1.0}) == 0
    assert documents_written("find", {"cursor": {"firstBatch": []}, "ok": 1.0}) == 0
    assert documents_written("commitTransaction", {"ok": 1.0}) == 0
