"""Composition root of catalog: `python -m services.catalog`."""

from __future__ import annotations

import asyncio

from services.catalog import consumers
from services.catalog.grpc_api import (
    ACCESS_POLICY,
    SERVICE_NAMES,
    CatalogOperatorServicer,
    HierarchyServicer,
)
from services.catalog.service import HierarchyCases
from services.catalog.store import NodeStore
from services.kit.known_companies import KnownCompanies
from services.kit.runtime import (
    ServiceRuntime,
    caller_access_resolver,
    serve_until_stopped,
    start_service,
)
from services.kit.settings import Settings
from vm.catalog.v1 import catalog_pb2_grpc, hierarchy_pb2_grpc

NAME = "catalog"


async def start(settings: Settings, address: str | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime.create(NAME, settings)
    runtime.caller_access = caller_access_resolver(settings)
    companies = KnownCompanies(runtime.db)
    nodes = NodeStore(runtime.db)
    hierarchy = HierarchyCases(nodes, runtime.transactions, runtime.outbox, runtime.caller_access)
    registrars = [
        (
            catalog_pb2_grpc.add_CatalogOperatorServiceServicer_to_server,
            CatalogOperatorServicer(companies),
        ),
        (hierarchy_pb2_grpc.add_HierarchyServiceServicer_to_server, HierarchyServicer(hierarchy)),
    ]
    await start_service(
        runtime,
        registrars,
        SERVICE_NAMES,
        ACCESS_POLICY,
        consumers.handlers(companies, hierarchy),
        address,
        prepare=nodes.ensure_indexes,
    )
    return runtime


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    await serve_until_stopped(start, settings, stop)
