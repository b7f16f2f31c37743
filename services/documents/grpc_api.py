"""Documents's gRPC servicers: proto ⇄ use case, nothing else."""

from __future__ import annotations

from services.kit.grpc_server import AccessPolicy
from services.kit.known_companies import KnownCompanyLookup
from vm.documents.v1 import documents_pb2 as pb
from vm.documents.v1 import documents_pb2_grpc as pb_grpc

_OPERATOR = pb.DESCRIPTOR.services_by_name["DocumentsOperatorService"].full_name
ACCESS_POLICY = AccessPolicy(operator_services=frozenset({_OPERATOR}))
SERVICE_NAMES = (_OPERATOR,)


class DocumentsOperatorServicer(KnownCompanyLookup, pb_grpc.DocumentsOperatorServiceServicer):
    response_type = pb.GetCompanyResponse
