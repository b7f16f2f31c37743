"""Identity's gRPC surface: one servicer per proto service, proto ⇄ use case only.

Who may call what is decided here, before any servicer runs: the public methods, the
operator's service, and (the default) a company user's token. What a user may do is
then checked by the use cases themselves.
"""

from __future__ import annotations

from services.identity.grpc_api.api_keys import ApiKeyServicer
from services.identity.grpc_api.audit import AuditServicer
from services.identity.grpc_api.auth import AuthServicer
from services.identity.grpc_api.directory import DIRECTORY_SERVICE, directory_registrar
from services.identity.grpc_api.profile import ProfileServicer
from services.identity.grpc_api.roles import RoleServicer
from services.identity.grpc_api.trust import CompanyServicer, TrustServicer
from services.identity.grpc_api.users import UserServicer
from services.identity.service import IdentityCases
from services.kit.grpc_server import AccessPolicy, Registrar, full_methods
from vm.identity.v1 import (
    api_keys_pb2,
    api_keys_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    auth_pb2,
    auth_pb2_grpc,
    companies_pb2,
    companies_pb2_grpc,
    profile_pb2,
    profile_pb2_grpc,
    roles_pb2,
    roles_pb2_grpc,
    trust_pb2,
    trust_pb2_grpc,
    users_pb2,
    users_pb2_grpc,
)

_AUTH = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name
_TRUST = trust_pb2.DESCRIPTOR.services_by_name["TrustService"].full_name
_COMPANIES = companies_pb2.DESCRIPTOR.services_by_name["CompanyService"].full_name
_API_KEYS = api_keys_pb2.DESCRIPTOR.services_by_name["ApiKeyService"].full_name
_USERS = users_pb2.DESCRIPTOR.services_by_name["UserService"].full_name
_ROLES = roles_pb2.DESCRIPTOR.services_by_name["RoleService"].full_name

SERVICE_NAMES = (
    _AUTH,
    profile_pb2.DESCRIPTOR.services_by_name["ProfileService"].full_name,
    _USERS,
    _ROLES,
    _TRUST,
    _COMPANIES,
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name,
    _API_KEYS,
    DIRECTORY_SERVICE,
)

ACCESS_POLICY = AccessPolicy(
    public_methods=frozenset(
        {
            *(
                f"/{_AUTH}/{method}"
                for method in (
                    "StartRegistration",
                    "ConfirmRegistration",
                    "Login",
                    "CompleteMfaLogin",
                    "RefreshSession",
                    "StartPasswordReset",
                    "ConfirmPasswordReset",
                )
            ),
            f"/{_TRUST}/GetSigningKeys",
            # The key itself is the credential.
            f"/{_API_KEYS}/ExchangeApiKey",
        }
    ),
    operator_services=frozenset({_COMPANIES, DIRECTORY_SERVICE}),
    # Only the operator, in fact: the servicer refuses everyone else.
    operator_too_methods=full_methods(_TRUST, "IssueRuleToken"),
    replayable_methods=full_methods(_USERS, "CreateUser")
    | full_methods(_ROLES, "CreateRole")
    | full_methods(_API_KEYS, "CreateApiKey"),
)


def registrars(cases: IdentityCases) -> list[Registrar]:
    return [
        (auth_pb2_grpc.add_AuthServiceServicer_to_server, AuthServicer(cases)),
        (profile_pb2_grpc.add_ProfileServiceServicer_to_server, ProfileServicer(cases)),
        (users_pb2_grpc.add_UserServiceServicer_to_server, UserServicer(cases)),
        (roles_pb2_grpc.add_RoleServiceServicer_to_server, RoleServicer(cases)),
        (trust_pb2_grpc.add_TrustServiceServicer_to_server, TrustServicer(cases)),
        (companies_pb2_grpc.add_CompanyServiceServicer_to_server, CompanyServicer(cases)),
        (audit_pb2_grpc.add_AuditServiceServicer_to_server, AuditServicer(cases)),
        (api_keys_pb2_grpc.add_ApiKeyServiceServicer_to_server, ApiKeyServicer(cases)),
        directory_registrar(cases),
    ]
