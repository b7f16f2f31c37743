"""Billing's gRPC servicers: proto ⇄ use case, nothing else."""

from __future__ import annotations

from services.kit.grpc_server import AccessPolicy
from services.kit.known_companies import KnownCompanyLookup
from vm.billing.v1 import billing_pb2 as pb
from vm.billing.v1 import billing_pb2_grpc as pb_grpc

_OPERATOR = pb.DESCRIPTOR.services_by_name["BillingOperatorService"].full_name
ACCESS_POLICY = AccessPolicy(operator_services=frozenset({_OPERATOR}))
SERVICE_NAMES = (_OPERATOR,)


class BillingOperatorServicer(KnownCompanyLookup, pb_grpc.BillingOperatorServiceServicer):
    response_type = pb.GetCompanyResponse
