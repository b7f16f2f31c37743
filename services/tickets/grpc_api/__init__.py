"""Tickets' gRPC surface: one servicer per proto service, proto ⇄ use case only.

Who may call what is decided here, before any servicer runs: the operator's support desk
(TicketsOperatorService), and (the default) a company caller (TicketService). What a
caller may do is checked by the use cases.
"""

from __future__ import annotations

from services.kit.grpc_server import AccessPolicy, Registrar, full_methods
from services.kit.known_companies import KnownCompanies
from services.tickets.grpc_api.company import TicketServicer
from services.tickets.grpc_api.desk import TicketsOperatorServicer
from services.tickets.service import TicketCases
from vm.tickets.v1 import tickets_pb2 as pb
from vm.tickets.v1 import tickets_pb2_grpc as pb_grpc

_OPERATOR = pb.DESCRIPTOR.services_by_name["TicketsOperatorService"].full_name
_COMPANY = pb.DESCRIPTOR.services_by_name["TicketService"].full_name

SERVICE_NAMES = (_OPERATOR, _COMPANY)
ACCESS_POLICY = AccessPolicy(
    operator_services=frozenset({_OPERATOR}),
    replayable_methods=full_methods(_COMPANY, "CreateTicket", "AddComment", "AddAttachment"),
)


def registrars(cases: TicketCases, companies: KnownCompanies) -> list[Registrar]:
    return [
        (
            pb_grpc.add_TicketsOperatorServiceServicer_to_server,
            TicketsOperatorServicer(companies, cases.desk),
        ),
        (pb_grpc.add_TicketServiceServicer_to_server, TicketServicer(cases.company)),
    ]
