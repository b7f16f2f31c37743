"""FormService: proto ⇄ use case."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from services.documents.grpc_api.files import from_bytes
from services.documents.render.pdf import CONTENT_TYPE
from services.documents.service.forms import FormCases
from services.kit.context import current_caller
from vm.documents.v1 import forms_pb2 as pb
from vm.documents.v1 import forms_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext

FORM_SERVICE = pb.DESCRIPTOR.services_by_name["FormService"].full_name


class FormServicer(pb_grpc.FormServiceServicer):
    def __init__(self, forms: FormCases) -> None:
        self._forms = forms

    async def ListForms(
        self, request: pb.ListFormsRequest, context: Context
    ) -> pb.ListFormsResponse:
        found = await self._forms.list_forms(current_caller())
        return pb.ListFormsResponse(
            forms=[pb.Form(id=f.id, title=f.title, file_name=f.file_name) for f in found]
        )

    async def DownloadForm(
        self, request: pb.DownloadFormRequest, context: Context
    ) -> AsyncIterator[pb.DownloadFormResponse]:
        template, content = await self._forms.form_file(
            current_caller(), request.form_id, request.prefill
        )
        async for message in from_bytes(
            template.file_name, CONTENT_TYPE, content, pb.DownloadFormResponse
        ):
            yield message
