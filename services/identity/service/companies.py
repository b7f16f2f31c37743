"""The operator's side: companies (tenants)."""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession

from services.identity import domain
from services.identity.domain import Company
from services.identity.service.base import Deps, identity_event
from services.kit.errors import InvalidArgument, NotFound
from services.kit.ids import new_id
from services.kit.phone import normalize_msisdn
from vm.identity.events.v1 import events_pb2


class CompanyCases:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    async def create_company(self, **details: str) -> Company:
        company = domain.new_company(company_id=new_id("cmp"), now=self._deps.clock(), **details)
        event = identity_event(
            "vm.identity.company.created.v1",
            events_pb2.CompanyCreated(
                company_id=company.id,
                name=company.name,
                inn=company.inn,
                main_number=company.main_number,
                contact_email=company.contact_email,
                contract_number=company.contract_number,
            ),
            company_id=company.id,
            subject=company.id,
        )

        async def write(session: AsyncClientSession) -> None:
            await self._deps.stores.companies.insert(company, session)
            await self._deps.outbox.add(session, event)

        await self._deps.transactions.run(write)
        return company

    async def get_company(self, company_id: str) -> Company:
        company = await self._deps.stores.companies.get(company_id)
        if company is None:
            raise NotFound("no such company")
        return company

    async def lookup_company(self, *, inn: str = "", main_number: str = "") -> Company:
        companies = self._deps.stores.companies
        if main_number:
            msisdn = normalize_msisdn(main_number)
            if msisdn is None:
                raise InvalidArgument("not a mobile number", {"main_number": "like 79161234567"})
            company = await companies.by_main_number(msisdn)
        elif inn:
            company = await companies.by_inn(inn.strip())
        else:
            raise InvalidArgument("give an INN or a main number", {"key": "required"})
        if company is None:
            raise NotFound("no such company")
        return company
