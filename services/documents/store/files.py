"""Generated files (documents, reports) in MongoDB GridFS, bucket `files`, through
PyMongo's `AsyncGridFSBucket`.

A file's metadata names its company, what it belongs to and its content type; reads name
the company, so another company's file is not found. A report is written as a stream (a
piece at a time, so the worker's memory stays flat); a write that dies midway leaves only
chunks without a file document, which `discard` removes before the job is made again.

Files are written by `ChunkedUpload`, in GridFS's own layout (read back through the
bucket): each chunk is inserted as soon as it is full, so a writer holds one chunk at
most. (PyMongo's GridIn keeps up to 48 MB of chunks in memory before inserting them,
which would make a worker's memory grow with its report.)
Files are kept for a retention period; the worker's sweeper deletes older ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import Binary
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from services.kit.errors import NotFound

BUCKET = "files"
CHUNK_BYTES = 255 * 1024  # GridFS's default chunk, also the size of a download message


@dataclass(frozen=True)
class StoredFile:
    id: str
    name: str
    content_type: str
    size: int


class ChunkedUpload:
    """A file being written: `write` as the bytes come, `close` to make it a file."""

    def __init__(
        self,
        files: AsyncCollection,
        chunks: AsyncCollection,
        file_id: str,
        name: str,
        metadata: dict[str, Any],
    ) -> None:
        self._files = files
        self._chunks = chunks
        self._id = file_id
        self._name = name
        self._metadata = metadata
        self._buffer = bytearray()
        self._n = 0
        self._length = 0

    async def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= CHUNK_BYTES:
            await self._put_chunk(bytes(self._buffer[:CHUNK_BYTES]))
            del self._buffer[:CHUNK_BYTES]

    async def _put_chunk(self, data: bytes) -> None:
        await self._chunks.insert_one({"files_id": self._id, "n": self._n, "data": Binary(data)})
        self._n += 1
        self._length += len(data)

    async def close(self) -> None:
        if self._buffer:
            await self._put_chunk(bytes(self._buffer))
            self._buffer.clear()
        await self._files.insert_one(
            {
                "_id": self._id,
                "length": self._length,
                "chunkSize": CHUNK_BYTES,
                "uploadDate": datetime.now(UTC),
                "filename": self._name,
                "metadata": self._metadata,
            }
        )


class GeneratedFiles:
    def __init__(self, db: AsyncDatabase) -> None:
        self._bucket = AsyncGridFSBucket(db, bucket_name=BUCKET, chunk_size_bytes=CHUNK_BYTES)
        self._files = db[f"{BUCKET}.files"]
        self._chunks = db[f"{BUCKET}.chunks"]

    async def ensure_indexes(self) -> None:
        await self._files.create_index([("metadata.company_id", 1), ("uploadDate", 1)])
        # GridFS's own: a file's chunks in order, each once; files by name and date.
        await self._chunks.create_index([("files_id", ASCENDING), ("n", ASCENDING)], unique=True)
        await self._files.create_index([("filename", ASCENDING), ("uploadDate", ASCENDING)])

    def open_upload(
        self, file_id: str, name: str, *, company_id: str, owner: str, content_type: str
    ) -> ChunkedUpload:
        """A stream to write the file into; `close()` makes it a file."""
        return ChunkedUpload(
            self._files,
            self._chunks,
            file_id,
            name,
            {
                "company_id": company_id,
                "owner": owner,
                "content_type": content_type,
                "created_at": datetime.now(UTC),
            },
        )

    async def put(
        self,
        file_id: str,
        name: str,
        content: bytes,
        *,
        company_id: str,
        owner: str,
        content_type: str,
    ) -> StoredFile:
        upload = self.open_upload(
            file_id, name, company_id=company_id, owner=owner, content_type=content_type
        )
        await upload.write(content)
        await upload.close()
        return StoredFile(file_id, name, content_type, len(content))

    async def discard(self, file_id: str) -> None:
        """The file, or what a write that died left of it."""
        try:
            await self._bucket.delete(file_id)
        except NoFile:
            await self._chunks.delete_many({"files_id": file_id})

    async def info(self, company_id: str, file_id: str) -> StoredFile:
        doc = await self._files.find_one({"_id": file_id, "metadata.company_id": company_id})
        if doc is None:
            raise NotFound("no such file (or it was deleted after the retention period)")
        return _stored(doc)

    async def read(self, company_id: str, file_id: str) -> tuple[StoredFile, AsyncIterator[bytes]]:
        """The file and its bytes in chunks; NotFound unless it is this company's."""
        stored = await self.info(company_id, file_id)
        stream = await self._bucket.open_download_stream(file_id)
        return stored, _chunks(stream)

    async def content(self, company_id: str, file_id: str) -> bytes:
        _, chunks = await self.read(company_id, file_id)
        return b"".join([chunk async for chunk in chunks])

    async def older_than(self, moment: datetime, limit: int) -> list[str]:
        cursor = self._files.find({"uploadDate": {"$lt": moment}}, {"_id": 1}).limit(limit)
        return [doc["_id"] async for doc in cursor]


def _stored(doc: dict[str, Any]) -> StoredFile:
    metadata = doc.get("metadata") or {}
    return StoredFile(
        doc["_id"],
        doc["filename"],
        metadata.get("content_type", "application/octet-stream"),
        doc["length"],
    )


async def _chunks(stream: Any) -> AsyncIterator[bytes]:
    while chunk := await stream.readchunk():
        yield chunk
