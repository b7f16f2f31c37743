"""NumberService and NumberAdminService: proto ⇄ use case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from services.catalog.domain.numbers import ACTIVE, BLOCKED, NewNumber, Number, checked_filter
from services.catalog.domain.numbers import NumberFilter as Filter
from services.catalog.service.numbers import NumberCases
from services.kit.context import current_caller
from services.kit.grpc_server import Registrar
from vm.catalog.v1 import numbers_pb2 as pb
from vm.catalog.v1 import numbers_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext

NUMBER_SERVICE = pb.DESCRIPTOR.services_by_name["NumberService"].full_name
NUMBER_ADMIN_SERVICE = pb.DESCRIPTOR.services_by_name["NumberAdminService"].full_name

STATUS_VALUES = {ACTIVE: pb.NUMBER_STATUS_ACTIVE, BLOCKED: pb.NUMBER_STATUS_BLOCKED}
STATUS_NAMES = {value: name for name, value in STATUS_VALUES.items()}


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def number_message(number: Number) -> pb.Number:
    return pb.Number(
        msisdn=number.msisdn,
        iccid=number.iccid,
        status=STATUS_VALUES.get(number.status, pb.NUMBER_STATUS_UNSPECIFIED),
        node_id=number.node_id,
        tariff=pb.TariffChoice(
            id=number.tariff.id, name=number.tariff.name, settings=dict(number.tariff.settings)
        ),
        services=[
            pb.ConnectedService(id=s.id, name=s.name, connected_at=_timestamp(s.connected_at))
            for s in number.services
        ],
        blocks=[pb.Block(type=b.type, set_at=_timestamp(b.set_at)) for b in number.blocks],
        forwarding=[
            pb.Forwarding(condition=f.condition, target=f.target) for f in number.forwarding
        ],
        account_id=number.account_id,
        label=number.label,
        comment=number.comment,
        cost_center=number.cost_center,
        added_at=_timestamp(number.added_at),
    )


def filter_from(message: pb.NumberFilter) -> Filter:
    return checked_filter(
        node_id=message.node_id,
        status=STATUS_NAMES.get(message.status, ""),
        tariff_id=message.tariff_id,
        service_id=message.service_id,
        query=message.query,
    )


class NumberServicer(pb_grpc.NumberServiceServicer):
    def __init__(self, numbers: NumberCases) -> None:
        self._numbers = numbers

    async def ListNumbers(
        self, request: pb.ListNumbersRequest, context: Context
    ) -> pb.ListNumbersResponse:
        found, next_token = await self._numbers.list_numbers(
            current_caller(), filter_from(request.filter), request.page_size, request.page_token
        )
        return pb.ListNumbersResponse(
            numbers=[number_message(n) for n in found], next_page_token=next_token
        )

    async def GetNumber(
        self, request: pb.GetNumberRequest, context: Context
    ) -> pb.GetNumberResponse:
        number = await self._numbers.get_number(current_caller(), request.msisdn)
        return pb.GetNumberResponse(number=number_message(number))

    async def UpdateNumber(
        self, request: pb.UpdateNumberRequest, context: Context
    ) -> pb.UpdateNumberResponse:
        number = await self._numbers.update_number(
            current_caller(),
            request.msisdn,
            label=request.label if request.HasField("label") else None,
            comment=request.comment if request.HasField("comment") else None,
            cost_center=request.cost_center if request.HasField("cost_center") else None,
        )
        return pb.UpdateNumberResponse(number=number_message(number))

    async def MoveNumbers(
        self, request: pb.MoveNumbersRequest, context: Context
    ) -> pb.MoveNumbersResponse:
        moved = await self._numbers.move_numbers(
            current_caller(), list(request.msisdns), request.node_id
        )
        return pb.MoveNumbersResponse(moved=moved)

    async def ExportNumbers(
        self, request: pb.ExportNumbersRequest, context: Context
    ) -> AsyncIterator[pb.ExportNumbersResponse]:
        pages = self._numbers.export_numbers(current_caller(), filter_from(request.filter))
        async for page in pages:
            yield pb.ExportNumbersResponse(numbers=[number_message(n) for n in page])


class NumberAdminServicer(pb_grpc.NumberAdminServiceServicer):
    def __init__(self, numbers: NumberCases) -> None:
        self._numbers = numbers

    async def AddNumbers(
        self, request: pb.AddNumbersRequest, context: Context
    ) -> pb.AddNumbersResponse:
        added = await self._numbers.add_numbers(
            current_caller(),
            request.company_id,
            [NewNumber(n.msisdn, n.iccid, n.tariff_id, n.node_id) for n in request.numbers],
        )
        return pb.AddNumbersResponse(added=added)

    async def AddFreeNumbers(
        self, request: pb.AddFreeNumbersRequest, context: Context
    ) -> pb.AddFreeNumbersResponse:
        added = await self._numbers.add_free_numbers(
            current_caller(), [NewNumber(n.msisdn, n.iccid) for n in request.numbers]
        )
        return pb.AddFreeNumbersResponse(added=added)


def number_registrars(numbers: NumberCases) -> list[Registrar]:
    return [
        (pb_grpc.add_NumberServiceServicer_to_server, NumberServicer(numbers)),
        (pb_grpc.add_NumberAdminServiceServicer_to_server, NumberAdminServicer(numbers)),
    ]
