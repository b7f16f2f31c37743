"""The one boundary between MongoDB documents and domain objects: `id` ⇄ `_id`."""

from __future__ import annotations

from typing import Any, TypeVar

Doc = dict[str, Any]
T = TypeVar("T")


def to_doc(entity: object) -> Doc:
    doc = dict(entity.__dict__)
    doc["_id"] = doc.pop("id")
    return doc


def from_doc(cls: type[T], doc: Doc | None) -> T | None:
    if doc is None:
        return None
    fields = {k: v for k, v in doc.items() if k != "_id"}
    return cls(**fields, id=doc["_id"])
