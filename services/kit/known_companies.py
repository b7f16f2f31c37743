"""The local copy of companies that every service but identity keeps, fed by
`vm.identity.company.created.v1`: a service must know a company exists before the
operator can give it numbers, accounts or tickets, without asking identity each time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.kit.consumer import EventHandler
from services.kit.errors import NotFound
from services.kit.events import Event, read_payload
from vm.common.v1 import common_pb2
from vm.identity.events.v1 import events_pb2

COMPANY_CREATED = "vm.identity.company.created.v1"


class KnownCompanies:
    def __init__(self, db: AsyncDatabase) -> None:
        self._collection = db["known_companies"]

    def handlers(self) -> dict[str, EventHandler]:
        return {COMPANY_CREATED: self.record_company_created}

    async def record_company_created(self, event: Event, session: AsyncClientSession) -> None:
        created = read_payload(event, events_pb2.CompanyCreated)
        await self._collection.update_one(
            {"_id": created.company_id},
            {
                "$setOnInsert": {
                    "name": created.name,
                    "inn": created.inn,
                    "main_number": created.main_number,
                    "known_since": datetime.now(UTC),
                }
            },
            upsert=True,
            session=session,
        )

    async def get(self, company_id: str) -> dict[str, Any]:
        doc = await self._collection.find_one({"_id": company_id})
        if doc is None:
            raise NotFound("this service does not know the company (yet)")
        return doc

    async def message(self, company_id: str) -> common_pb2.KnownCompany:
        doc = await self.get(company_id)
        since = Timestamp()
        since.FromDatetime(doc["known_since"])
        return common_pb2.KnownCompany(
            company_id=doc["_id"], name=doc["name"], inn=doc["inn"], known_since=since
        )


class KnownCompanyLookup:
    """The operator's `GetCompany` of a service: mix into its operator servicer and name
    the response type (each service's proto has its own request/response pair)."""

    response_type: Any

    def __init__(self, companies: KnownCompanies) -> None:
        self._companies = companies

    async def GetCompany(self, request: Any, context: Any) -> Any:
        return self.response_type(company=await self._companies.message(request.company_id))
