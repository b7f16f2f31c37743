"""TrustService (signing keys, caller access) and CompanyService (the operator's)."""

from __future__ import annotations

import grpc

from services.identity.grpc_api.convert import company_message, scopes_message
from services.identity.service import IdentityCases
from services.kit.context import current_caller
from services.kit.errors import PermissionDenied
from vm.identity.v1 import companies_pb2, companies_pb2_grpc, trust_pb2, trust_pb2_grpc

Context = grpc.aio.ServicerContext


class TrustServicer(trust_pb2_grpc.TrustServiceServicer):
    def __init__(self, cases: IdentityCases) -> None:
        self._tokens = cases.deps.tokens
        self._access = cases.access

    async def GetSigningKeys(
        self, request: trust_pb2.GetSigningKeysRequest, context: Context
    ) -> trust_pb2.GetSigningKeysResponse:
        return trust_pb2.GetSigningKeysResponse(
            keys=[
                trust_pb2.SigningKey(kid=kid, alg="EdDSA", public_key_pem=pem)
                for kid, pem in self._tokens.public_keys().items()
            ]
        )

    async def GetCallerAccess(
        self, request: trust_pb2.GetCallerAccessRequest, context: Context
    ) -> trust_pb2.GetCallerAccessResponse:
        access = await self._access.access_of_caller(current_caller())
        return trust_pb2.GetCallerAccessResponse(
            company_id=access.company_id, scopes=scopes_message(access)
        )

    async def IssueRuleToken(
        self, request: trust_pb2.IssueRuleTokenRequest, context: Context
    ) -> trust_pb2.IssueRuleTokenResponse:
        if not current_caller().is_operator:
            raise PermissionDenied("this method is for the operator's systems only")
        issued = await self._access.issue_rule_token(
            request.company_id, request.user_id, request.rule_id
        )
        return trust_pb2.IssueRuleTokenResponse(
            access_token=issued.access_token, expires_in=issued.expires_in
        )


class CompanyServicer(companies_pb2_grpc.CompanyServiceServicer):
    def __init__(self, cases: IdentityCases) -> None:
        self._companies = cases.companies

    async def CreateCompany(
        self, request: companies_pb2.CreateCompanyRequest, context: Context
    ) -> companies_pb2.CreateCompanyResponse:
        company = await self._companies.create_company(
            name=request.name,
            inn=request.inn,
            kpp=request.kpp,
            ogrn=request.ogrn,
            contract_number=request.contract_number,
            main_number=request.main_number,
            contact_email=request.contact_email,
            legal_address=request.legal_address,
        )
        return companies_pb2.CreateCompanyResponse(company=company_message(company))

    async def GetCompany(
        self, request: companies_pb2.GetCompanyRequest, context: Context
    ) -> companies_pb2.GetCompanyResponse:
        company = await self._companies.get_company(request.company_id)
        return companies_pb2.GetCompanyResponse(company=company_message(company))

    async def LookupCompany(
        self, request: companies_pb2.LookupCompanyRequest, context: Context
    ) -> companies_pb2.LookupCompanyResponse:
        company = await self._companies.lookup_company(
            inn=request.inn, main_number=request.main_number
        )
        return companies_pb2.LookupCompanyResponse(company=company_message(company))
