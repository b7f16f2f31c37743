"""Billing's gRPC surface: one servicer per proto service, proto ⇄ use case only.

Who may call what is decided here, before any servicer runs: the operator's service, the
company-facing ones (the default), and the few company-facing methods the operator's
systems may call too (catalog's bulk operations). What a caller may do is checked by the
use cases.
"""

from __future__ import annotations

from services.billing.grpc_api.accounts import ACCOUNT_SERVICE, AccountServicer
from services.billing.grpc_api.limits import (
    LIMIT_SERVICE,
    OPERATOR_TOO,
    USAGE_SERVICE,
    SpendingLimitServicer,
    UsageServicer,
)
from services.billing.grpc_api.money import (
    PROMISED_PAYMENT_SERVICE,
    TRANSFER_SERVICE,
    PromisedPaymentServicer,
    TransferServicer,
)
from services.billing.grpc_api.operator import OPERATOR_SERVICE, BillingOperatorServicer
from services.billing.service import BillingCases
from services.kit.grpc_server import AccessPolicy, Registrar, full_methods
from services.kit.known_companies import KnownCompanies
from vm.billing.v1 import (
    accounts_pb2_grpc,
    billing_pb2_grpc,
    limits_pb2_grpc,
    transfers_pb2_grpc,
    usage_pb2_grpc,
)

SERVICE_NAMES = (
    OPERATOR_SERVICE,
    ACCOUNT_SERVICE,
    TRANSFER_SERVICE,
    PROMISED_PAYMENT_SERVICE,
    LIMIT_SERVICE,
    USAGE_SERVICE,
)
ACCESS_POLICY = AccessPolicy(
    operator_services=frozenset({OPERATOR_SERVICE}),
    operator_too_methods=OPERATOR_TOO | {f"/{ACCOUNT_SERVICE}/MoveNumberToAccount"},
    replayable_methods=full_methods(ACCOUNT_SERVICE, "OpenAccount"),
)


def registrars(cases: BillingCases, companies: KnownCompanies) -> list[Registrar]:
    return [
        (
            billing_pb2_grpc.add_BillingOperatorServiceServicer_to_server,
            BillingOperatorServicer(companies, cases),
        ),
        (accounts_pb2_grpc.add_AccountServiceServicer_to_server, AccountServicer(cases)),
        (transfers_pb2_grpc.add_TransferServiceServicer_to_server, TransferServicer(cases)),
        (
            transfers_pb2_grpc.add_PromisedPaymentServiceServicer_to_server,
            PromisedPaymentServicer(cases),
        ),
        (limits_pb2_grpc.add_SpendingLimitServiceServicer_to_server, SpendingLimitServicer(cases)),
        (usage_pb2_grpc.add_UsageServiceServicer_to_server, UsageServicer(cases)),
    ]
