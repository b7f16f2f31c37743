"""Catalog's gRPC surface: one servicer per proto service, proto ⇄ use case only.

Who may call what is decided here, before any servicer runs: the operator's services,
and (the default) a company caller. What a caller may do is checked by the use cases.
"""

from __future__ import annotations

from services.catalog.grpc_api.bulk import (
    BULK_OPERATION_SERVICE,
    OPERATIONS_SERVICE,
    bulk_registrars,
)
from services.catalog.grpc_api.catalogue import (
    ADMIN_SERVICE,
    CATALOG_SERVICE,
    catalogue_registrars,
)
from services.catalog.grpc_api.hierarchy import HierarchyServicer
from services.catalog.grpc_api.numbers import (
    NUMBER_ADMIN_SERVICE,
    NUMBER_SERVICE,
    number_registrars,
)
from services.catalog.grpc_api.operations import NUMBER_OPERATION_SERVICE, operation_registrars
from services.catalog.service import CatalogCases
from services.kit.grpc_server import AccessPolicy, Registrar, full_methods
from services.kit.known_companies import KnownCompanies, KnownCompanyLookup
from vm.catalog.v1 import catalog_pb2, catalog_pb2_grpc, hierarchy_pb2, hierarchy_pb2_grpc

_OPERATOR = catalog_pb2.DESCRIPTOR.services_by_name["CatalogOperatorService"].full_name

_HIERARCHY = hierarchy_pb2.DESCRIPTOR.services_by_name["HierarchyService"].full_name

SERVICE_NAMES = (
    _OPERATOR,
    _HIERARCHY,
    CATALOG_SERVICE,
    ADMIN_SERVICE,
    NUMBER_SERVICE,
    NUMBER_ADMIN_SERVICE,
    NUMBER_OPERATION_SERVICE,
    BULK_OPERATION_SERVICE,
    OPERATIONS_SERVICE,
)
ACCESS_POLICY = AccessPolicy(
    operator_services=frozenset({_OPERATOR, ADMIN_SERVICE, NUMBER_ADMIN_SERVICE}),
    replayable_methods=full_methods(_HIERARCHY, "CreateNode")
    | full_methods(NUMBER_SERVICE, "MoveNumbers")
    | full_methods(
        NUMBER_OPERATION_SERVICE, "ConnectService", "SetBlock", "ReplaceSim", "ReplaceNumber"
    ),
)


class CatalogOperatorServicer(KnownCompanyLookup, catalog_pb2_grpc.CatalogOperatorServiceServicer):
    response_type = catalog_pb2.GetCompanyResponse


def registrars(cases: CatalogCases, companies: KnownCompanies) -> list[Registrar]:
    return [
        (
            catalog_pb2_grpc.add_CatalogOperatorServiceServicer_to_server,
            CatalogOperatorServicer(companies),
        ),
        (
            hierarchy_pb2_grpc.add_HierarchyServiceServicer_to_server,
            HierarchyServicer(cases.hierarchy),
        ),
        *catalogue_registrars(cases.catalogue),
        *number_registrars(cases.numbers),
        *operation_registrars(cases.operations),
        *bulk_registrars(cases.bulk),
    ]
