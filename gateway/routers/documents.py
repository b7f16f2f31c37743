"""Financial documents (documents' DocumentService): the types, a request for accounts and a
period (202 with its operation at once; the documents worker makes, numbers and mails each
PDF), the documents made, and each one's file. Everything but the types needs
`documents.finance` for the whole company. A request needs an `Idempotency-Key`: the same
key with the same body gives the same operation again, with another body 409
`idempotency_key_reused`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from gateway.deps import Backends, IdempotencyKey
from gateway.fields import NOT_BLANK, Email
from gateway.paging import PageSize, PageToken, page_of
from gateway.routers.billing_shapes import Money
from gateway.routers.files import FILE_RESPONSES, file_response
from gateway.routers.operations import OperationFileOut, OperationOut, operation_out
from gateway.routers.reports import Period, period_message
from gateway.security import ANY_USER, CurrentCredential, needs
from services.documents.domain.documents import ACCOUNTS_MAX, DOCUMENT_TYPES
from vm.common.v1 import common_pb2
from vm.documents.v1 import documents_pb2 as pb

router = APIRouter(prefix="/api/v1", tags=["documents"])
TIMEOUT = 60.0
FINANCE = needs("documents.finance")
if TYPE_CHECKING:  # a closed list known at run time; to the type checker, a string
    DocumentTypeName = str
else:
    DocumentTypeName = Literal[tuple(DOCUMENT_TYPES)]


class DocumentsIn(BaseModel):
    account_ids: list[Annotated[str, Field(min_length=1, max_length=64, pattern=NOT_BLANK)]] = (
        Field(min_length=1, max_length=ACCOUNTS_MAX)
    )
    types: list[DocumentTypeName] = Field(
        min_length=1,
        max_length=len(DOCUMENT_TYPES),
        description="invoice, act, invoice_factura, reconciliation, bill_detail",
    )
    period: Period
    email: Email | None = Field(
        default=None,
        description="where to mail them; none: each account's bill-delivery e-mail",
    )


class DocumentTypeOut(BaseModel):
    id: str
    title: str
    description: str


class DocumentTypes(BaseModel):
    items: list[DocumentTypeOut]
    next_page_token: str = Field(description="empty after the last page")


class DocumentOut(BaseModel):
    id: str
    type: str
    title: str
    number: str = Field(description="per company, year and type, without gaps: СЧ-2026-000001")
    account_id: str
    account_number: str
    period: dict[str, str] = Field(description="{from, to}, both included")
    total: Money = Field(description="the charges of the period, VAT included")
    vat: Money
    created_at: datetime
    operation_id: str
    file: OperationFileOut


class DocumentPage(BaseModel):
    items: list[DocumentOut]
    next_page_token: str


def _money(value: common_pb2.Money) -> Money:
    return Money(amount=value.amount, currency=value.currency or "RUB")


def document_out(doc: pb.Document) -> DocumentOut:
    return DocumentOut(
        id=doc.id,
        type=doc.type,
        title=doc.title,
        number=doc.number,
        account_id=doc.account_id,
        account_number=doc.account_number,
        period={"from": doc.period_from, "to": doc.period_to},
        total=_money(doc.total),
        vat=_money(doc.vat),
        created_at=doc.created_at.ToDatetime(),
        operation_id=doc.operation_id,
        file=OperationFileOut(
            name=doc.file.name,
            url=doc.file.url,
            content_type=doc.file.content_type,
            size=doc.file.size,
        ),
    )


@router.get("/document-types", response_model=DocumentTypes, openapi_extra=ANY_USER)
async def document_types(
    backends: Backends,
    credential: CurrentCredential,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> DocumentTypes:
    """The types of financial documents that can be asked for."""
    response = await backends.documents.ListDocumentTypes(
        pb.ListDocumentTypesRequest(), metadata=credential.metadata, timeout=TIMEOUT
    )
    types, next_token = page_of(response.types, page_size, page_token)
    return DocumentTypes(
        items=[DocumentTypeOut(id=t.id, title=t.title, description=t.description) for t in types],
        next_page_token=next_token,
    )


@router.post("/documents", status_code=202, response_model=OperationOut, openapi_extra=FINANCE)
async def request_documents(
    body: DocumentsIn, key: IdempotencyKey, backends: Backends, credential: CurrentCredential
) -> OperationOut:
    """Every type asked for, for every account asked for, made in the background as one
    operation (a result per account and type); the PDFs appear in the operation's `files`
    and are mailed."""
    response = await backends.documents.RequestDocuments(
        pb.RequestDocumentsRequest(
            account_ids=body.account_ids,
            types=body.types,
            period=period_message(body.period),
            email=body.email or "",
            idempotency_key=key,
        ),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return operation_out(response.operation)


@router.get("/documents", response_model=DocumentPage, openapi_extra=FINANCE)
async def list_documents(
    backends: Backends,
    credential: CurrentCredential,
    account_id: str = Query(default="", max_length=64),
    document_type: str = Query(default="", alias="type", max_length=32),
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> DocumentPage:
    """The documents made, newest first."""
    response = await backends.documents.ListDocuments(
        pb.ListDocumentsRequest(
            account_id=account_id,
            type=document_type,
            page_size=page_size,
            page_token=page_token,
        ),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return DocumentPage(
        items=[document_out(d) for d in response.documents],
        next_page_token=response.next_page_token,
    )


@router.get(
    "/documents/{document_id}/file",
    response_class=StreamingResponse,
    responses=FILE_RESPONSES,
    openapi_extra=FINANCE,
)
async def download_document(
    document_id: Annotated[str, Path(min_length=1, max_length=64)],
    backends: Backends,
    credential: CurrentCredential,
) -> StreamingResponse:
    """The document's PDF (404 after the retention period)."""
    call = backends.documents.DownloadDocument(
        pb.DownloadDocumentRequest(document_id=document_id),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return await file_response(call)
