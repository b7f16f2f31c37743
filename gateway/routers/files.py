"""A generated file (a document, a report, a form) downloaded from documents' gRPC
stream: the first message says what it is, before the response starts, so that a refusal
(404, 403) is still a problem+json."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import grpc
from fastapi.responses import StreamingResponse

from gateway.problems import Problem

# What generated files are: PDF (documents, forms, reports), XLSX and CSV (reports).
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/pdf": {},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            "text/csv": {},
            "application/octet-stream": {},
        }
    }
}


async def file_response(call: grpc.aio.UnaryStreamCall) -> StreamingResponse:
    first = await call.read()
    if first is grpc.aio.EOF:
        raise Problem("not_found", "no such file")
    return StreamingResponse(
        _chunks(call),
        media_type=first.file.content_type,
        headers={
            "content-disposition": f"attachment; filename*=UTF-8''{quote(first.file.name)}",
            "content-length": str(first.file.size),
            "x-content-type-options": "nosniff",
        },
    )


async def _chunks(call: grpc.aio.UnaryStreamCall) -> AsyncIterator[bytes]:
    while (message := await call.read()) is not grpc.aio.EOF:
        yield message.data
