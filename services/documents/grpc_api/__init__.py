"""Documents' gRPC surface: one servicer per proto service, proto ⇄ use case only.

Who may call what is decided here, before any servicer runs: the operator's service, and
(the default) a company caller. What a caller may do is checked by the use cases.
"""

from __future__ import annotations

from services.documents.grpc_api.documents import DOCUMENT_SERVICE, DocumentServicer
from services.documents.grpc_api.forms import FORM_SERVICE, FormServicer
from services.documents.grpc_api.journal import (
    JOURNAL_SERVICE,
    OPERATIONS_SERVICE,
    journal_registrars,
)
from services.documents.grpc_api.reports import REPORT_SERVICE, ReportServicer
from services.documents.service import DocumentsCases
from services.kit.grpc_server import AccessPolicy, Registrar
from services.kit.known_companies import KnownCompanies, KnownCompanyLookup
from vm.documents.v1 import documents_pb2 as pb
from vm.documents.v1 import documents_pb2_grpc as pb_grpc
from vm.documents.v1 import forms_pb2_grpc, reports_pb2_grpc

_OPERATOR = pb.DESCRIPTOR.services_by_name["DocumentsOperatorService"].full_name
ACCESS_POLICY = AccessPolicy(operator_services=frozenset({_OPERATOR}))
SERVICE_NAMES = (
    _OPERATOR,
    OPERATIONS_SERVICE,
    JOURNAL_SERVICE,
    FORM_SERVICE,
    REPORT_SERVICE,
    DOCUMENT_SERVICE,
)


class DocumentsOperatorServicer(KnownCompanyLookup, pb_grpc.DocumentsOperatorServiceServicer):
    response_type = pb.GetCompanyResponse


def registrars(cases: DocumentsCases, companies: KnownCompanies) -> list[Registrar]:
    return [
        (
            pb_grpc.add_DocumentsOperatorServiceServicer_to_server,
            DocumentsOperatorServicer(companies),
        ),
        *journal_registrars(cases.journal),
        (forms_pb2_grpc.add_FormServiceServicer_to_server, FormServicer(cases.forms)),
        (reports_pb2_grpc.add_ReportServiceServicer_to_server, ReportServicer(cases.reports)),
        (pb_grpc.add_DocumentServiceServicer_to_server, DocumentServicer(cases.documents)),
    ]
