"""Documents's gRPC servicers: proto ⇄ use case, nothing else."""

from __future__ import annotations

import grpc

from services.kit.grpc_server import AccessPolicy
from services.kit.known_companies import KnownCompanies
from vm.documents.v1 import documents_pb2 as pb
from vm.documents.v1 import documents_pb2_grpc as pb_grpc

_OPERATOR = pb.DESCRIPTOR.services_by_name["DocumentsOperatorService"].full_name
ACCESS_POLICY = AccessPolicy(operator_services=frozenset({_OPERATOR}))
SERVICE_NAMES = (_OPERATOR,)


class DocumentsOperatorServicer(pb_grpc.DocumentsOperatorServiceServicer):
    def __init__(self, companies: KnownCompanies) -> None:
        self._companies = companies

    async def GetCompany(
        self, request: pb.GetCompanyRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCompanyResponse:
        return pb.GetCompanyResponse(company=await self._companies.message(request.company_id))
