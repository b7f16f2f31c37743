"""The operator's tariff and service catalogue (catalog's TariffCatalogService).

Every company sees the same catalogue; any user of a company may read it."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from gateway.deps import Backends
from gateway.paging import PageSize, PageToken, page_of
from gateway.security import ANY_USER, CurrentCredential
from vm.catalog.v1 import tariffs_pb2 as pb
from vm.common.v1 import common_pb2

router = APIRouter(prefix="/api/v1", tags=["catalogue"])
TIMEOUT = 10.0
ITEM_ID = r"^[a-z0-9_]{1,64}$"

SETTING_TYPES = {
    pb.SETTING_TYPE_BOOL: "bool",
    pb.SETTING_TYPE_INT: "int",
    pb.SETTING_TYPE_CHOICE: "choice",
}


class MoneyOut(BaseModel):
    amount: int = Field(description="kopecks")
    currency: str = Field(examples=["RUB"])


class SettingOut(BaseModel):
    key: str = Field(examples=["minutes"])
    title: str = Field(examples=["Пакет минут"])
    type: str = Field(description="bool, int or choice")
    default: bool | int | str = Field(description="typed as the setting: true, 300, «10gb»")
    min: int | None = Field(default=None, description="int settings only")
    max: int | None = Field(default=None, description="int settings only")
    choices: list[str] | None = Field(default=None, description="choice settings only")


class TariffOut(BaseModel):
    id: str = Field(examples=["tariff_biznes_start"])
    name: str = Field(examples=["Бизнес Старт"])
    description: str
    monthly_fee: MoneyOut
    settings: list[SettingOut]
    available: bool = Field(description="false: no longer offered (numbers on it keep it)")


class TariffList(BaseModel):
    items: list[TariffOut]
    next_page_token: str = Field(description="empty after the last page")


class ServiceOut(BaseModel):
    id: str = Field(examples=["roaming_unlimited"])
    name: str = Field(examples=["Безлимит в роуминге"])
    description: str
    monthly_price: MoneyOut
    requires: list[str] = Field(description="services that must be connected first")
    excludes: list[str] = Field(description="services it cannot be connected together with")
    tariffs: list[str] = Field(description="the tariffs it may be connected on; empty: every one")
    category: str = Field(description="internet, roaming, calls, messaging, security, other")
    available: bool


class ServiceList(BaseModel):
    items: list[ServiceOut]
    next_page_token: str = Field(description="empty after the last page")


def money_out(money: common_pb2.Money) -> MoneyOut:
    return MoneyOut(amount=money.amount, currency=money.currency)


def setting_out(setting: pb.SettingDefinition) -> SettingOut:
    kind = SETTING_TYPES.get(setting.type, "choice")
    default: bool | int | str = setting.default_value
    if kind == "bool":
        default = setting.default_value == "true"
    elif kind == "int":
        default = int(setting.default_value)
    return SettingOut(
        key=setting.key,
        title=setting.title,
        type=kind,
        default=default,
        min=setting.min if kind == "int" else None,
        max=setting.max if kind == "int" else None,
        choices=list(setting.choices) if kind == "choice" else None,
    )


def tariff_out(tariff: pb.Tariff) -> TariffOut:
    return TariffOut(
        id=tariff.id,
        name=tariff.name,
        description=tariff.description,
        monthly_fee=money_out(tariff.monthly_fee),
        settings=[setting_out(s) for s in tariff.settings],
        available=tariff.available,
    )


def service_out(service: pb.Service) -> ServiceOut:
    return ServiceOut(
        id=service.id,
        name=service.name,
        description=service.description,
        monthly_price=money_out(service.monthly_price),
        requires=list(service.requires),
        excludes=list(service.excludes),
        tariffs=list(service.tariffs),
        category=service.category,
        available=service.available,
    )


@router.get("/tariffs", response_model=TariffList, openapi_extra=ANY_USER)
async def list_tariffs(
    backends: Backends,
    credential: CurrentCredential,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> TariffList:
    """Every tariff, cheapest first, with the settings a company configures per number."""
    response = await backends.catalogue.ListTariffs(
        pb.ListTariffsRequest(), metadata=credential.metadata, timeout=TIMEOUT
    )
    items, next_token = page_of(response.tariffs, page_size, page_token)
    return TariffList(items=[tariff_out(t) for t in items], next_page_token=next_token)


@router.get("/tariffs/{tariff_id}", response_model=TariffOut, openapi_extra=ANY_USER)
async def get_tariff(
    tariff_id: str, backends: Backends, credential: CurrentCredential
) -> TariffOut:
    """One tariff of the operator's catalogue with its configurable settings."""
    response = await backends.catalogue.GetTariff(
        pb.GetTariffRequest(tariff_id=tariff_id), metadata=credential.metadata, timeout=TIMEOUT
    )
    return tariff_out(response.tariff)


@router.get("/services", response_model=ServiceList, openapi_extra=ANY_USER)
async def list_services(
    backends: Backends,
    credential: CurrentCredential,
    tariff_id: str | None = Query(
        default=None,
        pattern=ITEM_ID,
        description="only the services offered now that may be connected on this tariff",
    ),
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> ServiceList:
    """Every service with its price and compatibility rules (by category, then name)."""
    response = await backends.catalogue.ListServices(
        pb.ListServicesRequest(tariff_id=tariff_id or ""),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    items, next_token = page_of(response.services, page_size, page_token)
    return ServiceList(items=[service_out(s) for s in items], next_page_token=next_token)


@router.get("/services/{service_id}", response_model=ServiceOut, openapi_extra=ANY_USER)
async def get_service(
    service_id: str, backends: Backends, credential: CurrentCredential
) -> ServiceOut:
    """One service of the operator's catalogue with its price and compatibility rules."""
    response = await backends.catalogue.GetService(
        pb.GetServiceRequest(service_id=service_id), metadata=credential.metadata, timeout=TIMEOUT
    )
    return service_out(response.service)
