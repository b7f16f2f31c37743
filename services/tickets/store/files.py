"""Attached files in MongoDB GridFS (bucket `attachments`), read and written through
PyMongo's `AsyncGridFSBucket`.

GridFS takes no part in transactions, so a file is written before the transaction that
adds it to its ticket, under the attachment's id, with its company and ticket in the
file's metadata; when that transaction fails, the file is deleted again. The ticket's list
of attachments is the truth: a file it does not name (a process that died between the
two writes) is never served. Reads name the company, as every read of a company's data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo.asynchronous.database import AsyncDatabase

from services.kit.errors import NotFound

BUCKET = "attachments"
CHUNK_BYTES = 255 * 1024  # GridFS's default chunk, also the size of a download message


class AttachmentFiles:
    def __init__(self, db: AsyncDatabase) -> None:
        self._bucket = AsyncGridFSBucket(db, bucket_name=BUCKET, chunk_size_bytes=CHUNK_BYTES)
        self._files = db[f"{BUCKET}.files"]

    async def ensure_indexes(self) -> None:
        await self._files.create_index([("metadata.company_id", 1), ("metadata.ticket_id", 1)])

    async def put(
        self,
        attachment_id: str,
        *,
        company_id: str,
        ticket_id: str,
        filename: str,
        content_type: str,
        content: bytes,
    ) -> None:
        await self._bucket.upload_from_stream_with_id(
            attachment_id,
            filename,
            content,
            metadata={
                "company_id": company_id,
                "ticket_id": ticket_id,
                "content_type": content_type,
            },
        )

    async def delete(self, attachment_id: str) -> None:
        try:
            await self._bucket.delete(attachment_id)
        except NoFile:
            return

    async def read(self, company_id: str, attachment_id: str) -> AsyncIterator[bytes]:
        """The file's bytes in chunks; NotFound unless it is this company's."""
        found = await self._files.find_one(
            {"_id": attachment_id, "metadata.company_id": company_id}, {"_id": 1}
        )
        if found is None:
            raise NotFound("no such attachment")
        stream = await self._bucket.open_download_stream(attachment_id)
        return _chunks(stream)


async def _chunks(stream: object) -> AsyncIterator[bytes]:
    while chunk := await stream.readchunk():  # type: ignore[attr-defined]
        yield chunk
