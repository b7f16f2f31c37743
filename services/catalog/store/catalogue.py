"""The operator's catalogue: tariffs and services ⇄ MongoDB documents.

The catalogue belongs to the operator and is shared by every company, so these queries
name no company. It is small (tens of items) and read whole: the compatibility rules need
all of it at once.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.catalog.domain.catalogue import Catalogue, Service, SettingDefinition, Tariff

Doc = dict[str, Any]


def _tariff_doc(tariff: Tariff) -> Doc:
    return {
        "_id": tariff.id,
        "name": tariff.name,
        "description": tariff.description,
        "monthly_fee": tariff.monthly_fee,
        "settings": [
            {
                "key": s.key,
                "title": s.title,
                "type": s.type,
                "default": s.default,
                "choices": list(s.choices),
                "min": s.min,
                "max": s.max,
            }
            for s in tariff.settings
        ],
        "available": tariff.available,
    }


def _tariff(doc: Doc) -> Tariff:
    return Tariff(
        id=doc["_id"],
        name=doc["name"],
        description=doc["description"],
        monthly_fee=doc["monthly_fee"],
        settings=tuple(
            SettingDefinition(
                key=s["key"],
                title=s["title"],
                type=s["type"],
                default=s["default"],
                choices=tuple(s["choices"]),
                min=s["min"],
                max=s["max"],
            )
            for s in doc["settings"]
        ),
        available=doc["available"],
    )


def _service_doc(service: Service) -> Doc:
    return {
        "_id": service.id,
        "name": service.name,
        "description": service.description,
        "monthly_price": service.monthly_price,
        "requires": list(service.requires),
        "excludes": list(service.excludes),
        "tariffs": list(service.tariffs),
        "category": service.category,
        "available": service.available,
    }


def _service(doc: Doc) -> Service:
    return Service(
        id=doc["_id"],
        name=doc["name"],
        description=doc["description"],
        monthly_price=doc["monthly_price"],
        requires=tuple(doc["requires"]),
        excludes=tuple(doc["excludes"]),
        tariffs=tuple(doc["tariffs"]),
        category=doc["category"],
        available=doc["available"],
    )


class CatalogueStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._tariffs = db["tariffs"]
        self._services = db["services"]

    async def ensure_indexes(self) -> None:
        """Items are found by id (`_id`) or read whole: nothing more to index."""

    async def catalogue(self, session: AsyncClientSession | None = None) -> Catalogue:
        tariffs = await self._tariffs.find({}, session=session).to_list()
        services = await self._services.find({}, session=session).to_list()
        return Catalogue.of(map(_tariff, tariffs), map(_service, services))

    async def tariff(self, tariff_id: str) -> Tariff | None:
        doc = await self._tariffs.find_one({"_id": tariff_id})
        return _tariff(doc) if doc else None

    async def service(self, service_id: str) -> Service | None:
        doc = await self._services.find_one({"_id": service_id})
        return _service(doc) if doc else None

    async def save_tariff(self, tariff: Tariff, session: AsyncClientSession) -> None:
        """Creates or replaces the tariff with this id."""
        await self._tariffs.replace_one(
            {"_id": tariff.id}, _tariff_doc(tariff), upsert=True, session=session
        )

    async def save_service(self, service: Service, session: AsyncClientSession) -> None:
        """Creates or replaces the service with this id."""
        await self._services.replace_one(
            {"_id": service.id}, _service_doc(service), upsert=True, session=session
        )
