"""Tickets's gRPC servicers: proto ⇄ use case, nothing else."""

from __future__ import annotations

from services.kit.grpc_server import AccessPolicy
from services.kit.known_companies import KnownCompanyLookup
from vm.tickets.v1 import tickets_pb2 as pb
from vm.tickets.v1 import tickets_pb2_grpc as pb_grpc

_OPERATOR = pb.DESCRIPTOR.services_by_name["TicketsOperatorService"].full_name
ACCESS_POLICY = AccessPolicy(operator_services=frozenset({_OPERATOR}))
SERVICE_NAMES = (_OPERATOR,)


class TicketsOperatorServicer(KnownCompanyLookup, pb_grpc.TicketsOperatorServiceServicer):
    response_type = pb.GetCompanyResponse
