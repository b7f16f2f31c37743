"""Operations on one number (catalog's NumberOperationService): tariff and its settings,
services, blocks, forwarding, SIM replacement and number replacement.

Each answers when the network confirmed the change, with the number's card as it is now.
When the network does not confirm, the answer is 503 `unavailable` with reason
`provisioning_failed` and the number is as it was: the request was valid and allowed, so
it is a temporary failure the caller may retry, not a rule that forbids it (409).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from google.protobuf.message import Message
from pydantic import BaseModel, Field

from gateway.deps import Backends, BackendStubs, Metadata, ReplayableMetadata
from gateway.fields import ICCID_PATTERN, NOT_BLANK, PHONE_PATTERN, BlockType
from gateway.fields import Msisdn as MsisdnField
from gateway.routers.numbers import Msisdn, NumberOut, number_out
from gateway.security import CurrentCredential, needs
from vm.catalog.v1 import number_operations_pb2 as pb

router = APIRouter(prefix="/api/v1/numbers", tags=["number operations"])
# The network may take a while to confirm; catalog's transaction deadline bounds it too.
TIMEOUT = 30.0
TARIFF = needs("numbers.tariff")
SERVICES = needs("numbers.services")
BLOCKS = needs("numbers.blocks")
FORWARDING = needs("numbers.forwarding")
SIM = needs("numbers.sim")

SettingValue = bool | int | str
Settings = dict[Annotated[str, Field(max_length=64)], SettingValue]
ServiceId = Annotated[str, Path(min_length=1, max_length=64)]
# A system block (financial, limit, administrative) is refused by catalog: 409 with the reason.
BlockTypePath = Annotated[BlockType, Path(alias="type", examples=["voluntary"])]
Condition = Literal["unconditional", "busy", "no_reply", "unreachable"]


class TariffIn(BaseModel):
    tariff_id: str = Field(min_length=1, max_length=64, pattern=NOT_BLANK)
    settings: Settings | None = Field(
        default=None,
        max_length=20,
        description="values of the tariff's settings; the rest take their defaults",
        examples=[{"minutes": 300, "roaming": False}],
    )


class TariffSettingsIn(BaseModel):
    settings: Settings = Field(
        min_length=1, max_length=20, description="the settings to change; the others stay"
    )


class ServiceIn(BaseModel):
    service_id: str = Field(min_length=1, max_length=64, pattern=NOT_BLANK)


class BlockIn(BaseModel):
    type: BlockType = Field(
        description="voluntary or lost_stolen (financial, limit and administrative are "
        "the system's: 409)",
    )


class ForwardingIn(BaseModel):
    target: str = Field(
        min_length=1,
        max_length=32,
        pattern=PHONE_PATTERN,
        description="any phone number (+ and the country code, or a Russian one of 10 digits)",
        examples=["+7 495 123-45-67"],
    )


class SimIn(BaseModel):
    iccid: str = Field(
        max_length=40,
        pattern=ICCID_PATTERN,
        description="19 or 20 digits starting with 89; the last is a Luhn check digit "
        "(catalog checks it: 422 when it does not match)",
        examples=["8970199123456789012"],
    )


class NumberReplacementIn(BaseModel):
    new_msisdn: MsisdnField | None = Field(
        default=None, description="a number of the free pool; none: any free one"
    )


class NumberReplacementOut(NumberOut):
    previous_msisdn: str


def _text(value: SettingValue) -> str:
    """Settings travel as text; catalog checks them against the tariff's definitions."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _texts(settings: Settings | None) -> dict[str, str]:
    return {key: _text(value) for key, value in (settings or {}).items()}


async def _number_after(
    backends: BackendStubs, metadata: Metadata, method: str, message: Message
) -> NumberOut:
    """Calls the operation and answers with the number as it now is."""
    call = getattr(backends.number_operations, method)
    response = await call(message, metadata=metadata, timeout=TIMEOUT)
    return number_out(response.number)


@router.put("/{msisdn}/tariff", response_model=NumberOut, openapi_extra=TARIFF)
async def change_tariff(
    msisdn: Msisdn, body: TariffIn, backends: Backends, credential: CurrentCredential
) -> NumberOut:
    """Another tariff of the catalogue (its settings as given, the rest by default);
    refused when a connected service is not allowed on it."""
    return await _number_after(
        backends,
        credential.metadata,
        "ChangeTariff",
        pb.ChangeTariffRequest(
            msisdn=msisdn, tariff_id=body.tariff_id, settings=_texts(body.settings)
        ),
    )


@router.patch("/{msisdn}/tariff/settings", response_model=NumberOut, openapi_extra=TARIFF)
async def change_tariff_settings(
    msisdn: Msisdn, body: TariffSettingsIn, backends: Backends, credential: CurrentCredential
) -> NumberOut:
    """Some settings of the number's tariff; the others stay as they are."""
    return await _number_after(
        backends,
        credential.metadata,
        "ChangeTariffSettings",
        pb.ChangeTariffSettingsRequest(msisdn=msisdn, settings=_texts(body.settings)),
    )


@router.post("/{msisdn}/services", response_model=NumberOut, openapi_extra=SERVICES)
async def connect_service(
    msisdn: Msisdn, body: ServiceIn, backends: Backends, metadata: ReplayableMetadata
) -> NumberOut:
    """Connects a service, checked against the catalogue's compatibility rules."""
    return await _number_after(
        backends,
        metadata,
        "ConnectService",
        pb.ConnectServiceRequest(msisdn=msisdn, service_id=body.service_id),
    )


@router.delete("/{msisdn}/services/{service_id}", response_model=NumberOut, openapi_extra=SERVICES)
async def disconnect_service(
    msisdn: Msisdn, service_id: ServiceId, backends: Backends, credential: CurrentCredential
) -> NumberOut:
    """Disconnects a service (refused while a connected service needs it)."""
    return await _number_after(
        backends,
        credential.metadata,
        "DisconnectService",
        pb.DisconnectServiceRequest(msisdn=msisdn, service_id=service_id),
    )


@router.post("/{msisdn}/blocks", response_model=NumberOut, openapi_extra=BLOCKS)
async def set_block(
    msisdn: Msisdn, body: BlockIn, backends: Backends, metadata: ReplayableMetadata
) -> NumberOut:
    """A voluntary or lost/stolen block; the number is blocked while any block is set."""
    return await _number_after(
        backends, metadata, "SetBlock", pb.SetBlockRequest(msisdn=msisdn, type=body.type)
    )


@router.delete("/{msisdn}/blocks/{type}", response_model=NumberOut, openapi_extra=BLOCKS)
async def remove_block(
    msisdn: Msisdn,
    block_type: BlockTypePath,
    backends: Backends,
    credential: CurrentCredential,
) -> NumberOut:
    """Removes a voluntary or lost/stolen block."""
    return await _number_after(
        backends,
        credential.metadata,
        "RemoveBlock",
        pb.RemoveBlockRequest(msisdn=msisdn, type=block_type),
    )


@router.put("/{msisdn}/forwarding/{condition}", response_model=NumberOut, openapi_extra=FORWARDING)
async def set_forwarding(
    msisdn: Msisdn,
    condition: Condition,
    body: ForwardingIn,
    backends: Backends,
    credential: CurrentCredential,
) -> NumberOut:
    """Forwards calls on the condition to the target (any phone number but this one)."""
    return await _number_after(
        backends,
        credential.metadata,
        "SetForwarding",
        pb.SetForwardingRequest(msisdn=msisdn, condition=condition, target=body.target),
    )


@router.delete(
    "/{msisdn}/forwarding/{condition}", response_model=NumberOut, openapi_extra=FORWARDING
)
async def remove_forwarding(
    msisdn: Msisdn, condition: Condition, backends: Backends, credential: CurrentCredential
) -> NumberOut:
    """Removes the forwarding for the condition."""
    return await _number_after(
        backends,
        credential.metadata,
        "RemoveForwarding",
        pb.RemoveForwardingRequest(msisdn=msisdn, condition=condition),
    )


@router.post("/{msisdn}/sim-replacement", response_model=NumberOut, openapi_extra=SIM)
async def replace_sim(
    msisdn: Msisdn, body: SimIn, backends: Backends, metadata: ReplayableMetadata
) -> NumberOut:
    """The number moves to a new SIM card (ICCID Luhn-checked, not in use anywhere)."""
    return await _number_after(
        backends, metadata, "ReplaceSim", pb.ReplaceSimRequest(msisdn=msisdn, iccid=body.iccid)
    )


@router.post("/{msisdn}/number-replacement", response_model=NumberReplacementOut, openapi_extra=SIM)
async def replace_number(
    msisdn: Msisdn, body: NumberReplacementIn, backends: Backends, metadata: ReplayableMetadata
) -> NumberReplacementOut:
    """A free number of the pool takes the card (SIM, node, tariff, services, blocks,
    forwarding, notes); the old number leaves the company and is retired."""
    response = await backends.number_operations.ReplaceNumber(
        pb.ReplaceNumberRequest(msisdn=msisdn, new_msisdn=body.new_msisdn or ""),
        metadata=metadata,
        timeout=TIMEOUT,
    )
    card = number_out(response.number)
    return NumberReplacementOut(**card.model_dump(), previous_msisdn=response.previous_msisdn)
