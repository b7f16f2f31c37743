"""Identity's gRPC servicers: proto ⇄ use case, nothing else."""

from __future__ import annotations

from datetime import datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from services.identity.domain import Company, User
from services.identity.service import IdentityService, Tokens
from services.kit.context import current_caller
from services.kit.grpc_server import AccessPolicy
from vm.identity.v1 import identity_pb2 as pb
from vm.identity.v1 import identity_pb2_grpc as pb_grpc

_SERVICE = pb.DESCRIPTOR.services_by_name["IdentityService"].full_name
_OPERATOR = pb.DESCRIPTOR.services_by_name["IdentityOperatorService"].full_name

ACCESS_POLICY = AccessPolicy(
    public_methods=frozenset(
        f"/{_SERVICE}/{method}"
        for method in (
            "StartRegistration",
            "ConfirmRegistration",
            "Login",
            "RefreshSession",
            "GetSigningKeys",
        )
    ),
    operator_services=frozenset({_OPERATOR}),
)
SERVICE_NAMES = (_SERVICE, _OPERATOR)


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def company_message(company: Company) -> pb.Company:
    return pb.Company(
        id=company.id,
        name=company.name,
        inn=company.inn,
        kpp=company.kpp,
        ogrn=company.ogrn,
        contract_number=company.contract_number,
        main_number=company.main_number,
        contact_email=company.contact_email,
        legal_address=company.legal_address,
        registered=company.registered,
        created_at=_timestamp(company.created_at),
    )


def user_message(user: User) -> pb.User:
    return pb.User(
        id=user.id,
        company_id=user.company_id,
        login=user.login,
        full_name=user.full_name,
        email=user.email,
        status=pb.USER_STATUS_ACTIVE if user.status == "active" else pb.USER_STATUS_DEACTIVATED,
        assignments=[
            pb.RoleAssignment(role_id=a.role_id, node_id=a.node_id or "") for a in user.assignments
        ],
        created_at=_timestamp(user.created_at),
    )


def _token_pair(tokens: Tokens) -> pb.TokenPair:
    return pb.TokenPair(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        token_type="Bearer",
    )


class IdentityServicer(pb_grpc.IdentityServiceServicer):
    def __init__(self, service: IdentityService) -> None:
        self._service = service

    async def StartRegistration(
        self, request: pb.StartRegistrationRequest, context: grpc.aio.ServicerContext
    ) -> pb.StartRegistrationResponse:
        registration = await self._service.start_registration(request.main_number, request.email)
        return pb.StartRegistrationResponse(
            registration_id=registration.id, expires_at=_timestamp(registration.expires_at)
        )

    async def ConfirmRegistration(
        self, request: pb.ConfirmRegistrationRequest, context: grpc.aio.ServicerContext
    ) -> pb.ConfirmRegistrationResponse:
        tokens = await self._service.confirm_registration(
            request.registration_id, request.sms_code, request.email_code, request.password
        )
        return pb.ConfirmRegistrationResponse(tokens=_token_pair(tokens))

    async def Login(
        self, request: pb.LoginRequest, context: grpc.aio.ServicerContext
    ) -> pb.LoginResponse:
        tokens = await self._service.login(request.login, request.password)
        return pb.LoginResponse(tokens=_token_pair(tokens))

    async def RefreshSession(
        self, request: pb.RefreshSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.RefreshSessionResponse:
        tokens = await self._service.refresh(request.refresh_token)
        return pb.RefreshSessionResponse(tokens=_token_pair(tokens))

    async def Logout(
        self, request: pb.LogoutRequest, context: grpc.aio.ServicerContext
    ) -> pb.LogoutResponse:
        await self._service.logout(current_caller(), request.refresh_token)
        return pb.LogoutResponse()

    async def GetMe(
        self, request: pb.GetMeRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetMeResponse:
        me = await self._service.me(current_caller())
        return pb.GetMeResponse(
            user=user_message(me.user),
            company=company_message(me.company),
            permissions=me.permissions,
            scopes=[
                pb.Scope(node_id=scope.node_id or "", permissions=sorted(scope.permissions))
                for scope in me.scopes
            ],
        )

    async def GetSigningKeys(
        self, request: pb.GetSigningKeysRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSigningKeysResponse:
        return pb.GetSigningKeysResponse(
            keys=[
                pb.SigningKey(kid=kid, alg="EdDSA", public_key_pem=pem)
                for kid, pem in self._service.signing_keys().items()
            ]
        )


class IdentityOperatorServicer(pb_grpc.IdentityOperatorServiceServicer):
    def __init__(self, service: IdentityService) -> None:
        self._service = service

    async def CreateCompany(
        self, request: pb.CreateCompanyRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateCompanyResponse:
        company = await self._service.create_company(
            name=request.name,
            inn=request.inn,
            kpp=request.kpp,
            ogrn=request.ogrn,
            contract_number=request.contract_number,
            main_number=request.main_number,
            contact_email=request.contact_email,
            legal_address=request.legal_address,
        )
        return pb.CreateCompanyResponse(company=company_message(company))

    async def GetCompany(
        self, request: pb.GetCompanyRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCompanyResponse:
        company = await self._service.get_company(request.company_id)
        return pb.GetCompanyResponse(company=company_message(company))

    async def LookupCompany(
        self, request: pb.LookupCompanyRequest, context: grpc.aio.ServicerContext
    ) -> pb.LookupCompanyResponse:
        company = await self._service.lookup_company(
            inn=request.inn, main_number=request.main_number
        )
        return pb.LookupCompanyResponse(company=company_message(company))
