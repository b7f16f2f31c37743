"""TariffCatalogService (company callers read) and TariffAdminService (the operator
defines): proto ⇄ use case."""

from __future__ import annotations

import grpc

from services.catalog.domain import catalogue as domain
from services.catalog.domain.catalogue import Service, SettingDefinition, Tariff
from services.catalog.service.catalogue import CatalogueCases
from services.kit.context import current_caller
from services.kit.grpc_server import Registrar
from vm.catalog.v1 import tariffs_pb2 as pb
from vm.catalog.v1 import tariffs_pb2_grpc as pb_grpc
from vm.common.v1 import common_pb2

Context = grpc.aio.ServicerContext

SETTING_TYPES = {
    pb.SETTING_TYPE_BOOL: domain.BOOL,
    pb.SETTING_TYPE_INT: domain.INT,
    pb.SETTING_TYPE_CHOICE: domain.CHOICE,
}
SETTING_TYPE_VALUES = {name: value for value, name in SETTING_TYPES.items()}


def money(kopecks: int) -> common_pb2.Money:
    return common_pb2.Money(amount=kopecks, currency=domain.CURRENCY)


def setting_message(setting: SettingDefinition) -> pb.SettingDefinition:
    return pb.SettingDefinition(
        key=setting.key,
        title=setting.title,
        type=SETTING_TYPE_VALUES.get(setting.type, pb.SETTING_TYPE_UNSPECIFIED),
        choices=setting.choices,
        min=setting.min,
        max=setting.max,
        default_value=setting.default,
    )


def tariff_message(tariff: Tariff) -> pb.Tariff:
    return pb.Tariff(
        id=tariff.id,
        name=tariff.name,
        description=tariff.description,
        monthly_fee=money(tariff.monthly_fee),
        settings=[setting_message(s) for s in tariff.settings],
        available=tariff.available,
    )


def service_message(service: Service) -> pb.Service:
    return pb.Service(
        id=service.id,
        name=service.name,
        description=service.description,
        monthly_price=money(service.monthly_price),
        requires=service.requires,
        excludes=service.excludes,
        tariffs=service.tariffs,
        category=service.category,
        available=service.available,
    )


def tariff_from(message: pb.Tariff) -> Tariff:
    return Tariff(
        id=message.id,
        name=message.name,
        description=message.description,
        monthly_fee=message.monthly_fee.amount,
        settings=tuple(
            SettingDefinition(
                key=s.key,
                title=s.title,
                type=SETTING_TYPES.get(s.type, ""),
                default=s.default_value,
                choices=tuple(s.choices),
                min=s.min,
                max=s.max,
            )
            for s in message.settings
        ),
        available=message.available,
    )


def service_from(message: pb.Service) -> Service:
    return Service(
        id=message.id,
        name=message.name,
        description=message.description,
        monthly_price=message.monthly_price.amount,
        requires=tuple(message.requires),
        excludes=tuple(message.excludes),
        tariffs=tuple(message.tariffs),
        category=message.category,
        available=message.available,
    )


class TariffCatalogServicer(pb_grpc.TariffCatalogServiceServicer):
    def __init__(self, catalogue: CatalogueCases) -> None:
        self._catalogue = catalogue

    async def ListTariffs(
        self, request: pb.ListTariffsRequest, context: Context
    ) -> pb.ListTariffsResponse:
        tariffs = await self._catalogue.tariffs(current_caller())
        return pb.ListTariffsResponse(tariffs=[tariff_message(t) for t in tariffs])

    async def GetTariff(
        self, request: pb.GetTariffRequest, context: Context
    ) -> pb.GetTariffResponse:
        tariff = await self._catalogue.tariff(current_caller(), request.tariff_id)
        return pb.GetTariffResponse(tariff=tariff_message(tariff))

    async def ListServices(
        self, request: pb.ListServicesRequest, context: Context
    ) -> pb.ListServicesResponse:
        services = await self._catalogue.services(current_caller(), request.tariff_id or None)
        return pb.ListServicesResponse(services=[service_message(s) for s in services])

    async def GetService(
        self, request: pb.GetServiceRequest, context: Context
    ) -> pb.GetServiceResponse:
        service = await self._catalogue.service(current_caller(), request.service_id)
        return pb.GetServiceResponse(service=service_message(service))


class TariffAdminServicer(pb_grpc.TariffAdminServiceServicer):
    def __init__(self, catalogue: CatalogueCases) -> None:
        self._catalogue = catalogue

    async def DefineTariff(
        self, request: pb.DefineTariffRequest, context: Context
    ) -> pb.DefineTariffResponse:
        tariff = await self._catalogue.define_tariff(
            current_caller(),
            tariff_from(request.tariff),
            currency=request.tariff.monthly_fee.currency,
        )
        return pb.DefineTariffResponse(tariff=tariff_message(tariff))

    async def DefineService(
        self, request: pb.DefineServiceRequest, context: Context
    ) -> pb.DefineServiceResponse:
        service = await self._catalogue.define_service(
            current_caller(),
            service_from(request.service),
            currency=request.service.monthly_price.currency,
        )
        return pb.DefineServiceResponse(service=service_message(service))


CATALOG_SERVICE = pb.DESCRIPTOR.services_by_name["TariffCatalogService"].full_name
# Operator credentials only (grpc_api/__init__.py's ACCESS_POLICY).
ADMIN_SERVICE = pb.DESCRIPTOR.services_by_name["TariffAdminService"].full_name


def catalogue_registrars(catalogue: CatalogueCases) -> list[Registrar]:
    return [
        (pb_grpc.add_TariffCatalogServiceServicer_to_server, TariffCatalogServicer(catalogue)),
        (pb_grpc.add_TariffAdminServiceServicer_to_server, TariffAdminServicer(catalogue)),
    ]
