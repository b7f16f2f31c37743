"""Application-form templates («Бланки заявлений», documents' FormService): the list and
each form as PDF, prefilled with the company's details on request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from gateway.deps import Backends
from gateway.paging import PageSize, PageToken, page_of
from gateway.routers.files import FILE_RESPONSES, file_response
from gateway.security import ANY_USER, CurrentCredential
from vm.documents.v1 import forms_pb2 as pb

router = APIRouter(prefix="/api/v1/forms", tags=["forms"])
TIMEOUT = 30.0


class FormOut(BaseModel):
    id: str
    title: str
    file_name: str
    url: str


class FormList(BaseModel):
    items: list[FormOut]
    next_page_token: str = Field(description="empty after the last page")


@router.get("", response_model=FormList, openapi_extra=ANY_USER)
async def list_forms(
    backends: Backends,
    credential: CurrentCredential,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> FormList:
    """The application-form templates the operator offers."""
    response = await backends.forms.ListForms(
        pb.ListFormsRequest(), metadata=credential.metadata, timeout=TIMEOUT
    )
    forms, next_token = page_of(response.forms, page_size, page_token)
    return FormList(
        items=[
            FormOut(id=f.id, title=f.title, file_name=f.file_name, url=f"/api/v1/forms/{f.id}/file")
            for f in forms
        ],
        next_page_token=next_token,
    )


@router.get(
    "/{form_id}/file",
    response_class=StreamingResponse,
    responses=FILE_RESPONSES,
    openapi_extra=ANY_USER,
)
async def download_form(
    form_id: Annotated[str, Path(min_length=1, max_length=64)],
    backends: Backends,
    credential: CurrentCredential,
    prefill: bool = Query(default=False, description="print the company's details in"),
) -> StreamingResponse:
    """The form as PDF."""
    call = backends.forms.DownloadForm(
        pb.DownloadFormRequest(form_id=form_id, prefill=prefill),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return await file_response(call)
