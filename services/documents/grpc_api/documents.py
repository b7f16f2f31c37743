"""DocumentService: proto ⇄ use case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from services.documents.grpc_api.files import from_chunks
from services.documents.service.documents import DocumentCases
from services.kit.context import current_caller
from vm.common.v1 import common_pb2
from vm.documents.v1 import documents_pb2 as pb
from vm.documents.v1 import documents_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext

DOCUMENT_SERVICE = pb.DESCRIPTOR.services_by_name["DocumentService"].full_name


def _money(amount: int) -> common_pb2.Money:
    return common_pb2.Money(amount=amount, currency="RUB")


def document_message(doc: dict[str, Any]) -> pb.Document:
    file = doc.get("file") or {}
    message = pb.Document(
        id=doc["_id"],
        type=doc["type"],
        title=doc["title"],
        number=doc["number"],
        account_id=doc["account_id"],
        account_number=doc.get("account_number", ""),
        period_from=doc["period"]["from"],
        period_to=doc["period"]["to"],
        total=_money(doc["total"]),
        vat=_money(doc["vat"]),
        operation_id=doc["operation_id"],
        file=common_pb2.OperationFile(
            name=file.get("name", ""),
            url=file.get("url", ""),
            content_type=file.get("content_type", ""),
            size=file.get("size", 0),
        ),
    )
    message.created_at.FromDatetime(doc["created_at"])
    return message


class DocumentServicer(pb_grpc.DocumentServiceServicer):
    def __init__(self, documents: DocumentCases) -> None:
        self._documents = documents

    async def ListDocumentTypes(
        self, request: pb.ListDocumentTypesRequest, context: Context
    ) -> pb.ListDocumentTypesResponse:
        return pb.ListDocumentTypesResponse(
            types=[
                pb.DocumentType(id=t.id, title=t.title, description=t.description)
                for t in self._documents.types()
            ]
        )

    async def RequestDocuments(
        self, request: pb.RequestDocumentsRequest, context: Context
    ) -> pb.RequestDocumentsResponse:
        period = request.period
        op = await self._documents.request_documents(
            current_caller(),
            account_ids=list(request.account_ids),
            types=list(request.types),
            period=(period.month, getattr(period, "from"), period.to),
            email=request.email,
            idempotency_key=request.idempotency_key,
        )
        return pb.RequestDocumentsResponse(operation=op)

    async def ListDocuments(
        self, request: pb.ListDocumentsRequest, context: Context
    ) -> pb.ListDocumentsResponse:
        found, token = await self._documents.list_documents(
            current_caller(),
            request.account_id,
            request.type,
            request.page_size,
            request.page_token,
        )
        return pb.ListDocumentsResponse(
            documents=[document_message(d) for d in found], next_page_token=token
        )

    async def DownloadDocument(
        self, request: pb.DownloadDocumentRequest, context: Context
    ) -> AsyncIterator[pb.DownloadDocumentResponse]:
        stored, chunks = await self._documents.document_file(current_caller(), request.document_id)
        async for message in from_chunks(stored, chunks, pb.DownloadDocumentResponse):
            yield message
