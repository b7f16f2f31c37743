"""Downloads as gRPC server streams: the file's description first, then its bytes in
pieces of GridFS's chunk size."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from services.documents.store.files import CHUNK_BYTES, StoredFile
from vm.documents.v1 import files_pb2

T = TypeVar("T")


async def from_chunks(
    stored: StoredFile, chunks: AsyncIterator[bytes], response: Callable[..., T]
) -> AsyncIterator[T]:
    yield response(
        file=files_pb2.FileInfo(
            name=stored.name, content_type=stored.content_type, size=stored.size
        )
    )
    async for chunk in chunks:
        yield response(data=chunk)


async def from_bytes(
    name: str, content_type: str, content: bytes, response: Callable[..., Any]
) -> AsyncIterator[Any]:
    yield response(file=files_pb2.FileInfo(name=name, content_type=content_type, size=len(content)))
    for start in range(0, len(content), CHUNK_BYTES):
        yield response(data=content[start : start + CHUNK_BYTES])
