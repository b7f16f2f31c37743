"""NumberOperationService: proto ⇄ use case."""

from __future__ import annotations

import grpc

from services.catalog.domain.numbers import checked_msisdn
from services.catalog.grpc_api.numbers import number_message
from services.catalog.service.operations import OperationCases
from services.kit.context import current_caller
from services.kit.grpc_server import Registrar
from vm.catalog.v1 import number_operations_pb2 as pb
from vm.catalog.v1 import number_operations_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext

NUMBER_OPERATION_SERVICE = pb.DESCRIPTOR.services_by_name["NumberOperationService"].full_name


class NumberOperationServicer(pb_grpc.NumberOperationServiceServicer):
    def __init__(self, operations: OperationCases) -> None:
        self._operations = operations

    async def ChangeTariff(
        self, request: pb.ChangeTariffRequest, context: Context
    ) -> pb.ChangeTariffResponse:
        number = await self._operations.change_tariff(
            current_caller(), request.msisdn, request.tariff_id, dict(request.settings)
        )
        return pb.ChangeTariffResponse(number=number_message(number))

    async def ChangeTariffSettings(
        self, request: pb.ChangeTariffSettingsRequest, context: Context
    ) -> pb.ChangeTariffSettingsResponse:
        number = await self._operations.change_tariff_settings(
            current_caller(), request.msisdn, dict(request.settings)
        )
        return pb.ChangeTariffSettingsResponse(number=number_message(number))

    async def ConnectService(
        self, request: pb.ConnectServiceRequest, context: Context
    ) -> pb.ConnectServiceResponse:
        number = await self._operations.connect_service(
            current_caller(), request.msisdn, request.service_id
        )
        return pb.ConnectServiceResponse(number=number_message(number))

    async def DisconnectService(
        self, request: pb.DisconnectServiceRequest, context: Context
    ) -> pb.DisconnectServiceResponse:
        number = await self._operations.disconnect_service(
            current_caller(), request.msisdn, request.service_id
        )
        return pb.DisconnectServiceResponse(number=number_message(number))

    async def SetBlock(self, request: pb.SetBlockRequest, context: Context) -> pb.SetBlockResponse:
        number = await self._operations.set_block(current_caller(), request.msisdn, request.type)
        return pb.SetBlockResponse(number=number_message(number))

    async def RemoveBlock(
        self, request: pb.RemoveBlockRequest, context: Context
    ) -> pb.RemoveBlockResponse:
        number = await self._operations.remove_block(current_caller(), request.msisdn, request.type)
        return pb.RemoveBlockResponse(number=number_message(number))

    async def SetForwarding(
        self, request: pb.SetForwardingRequest, context: Context
    ) -> pb.SetForwardingResponse:
        number = await self._operations.set_forwarding(
            current_caller(), request.msisdn, request.condition, request.target
        )
        return pb.SetForwardingResponse(number=number_message(number))

    async def RemoveForwarding(
        self, request: pb.RemoveForwardingRequest, context: Context
    ) -> pb.RemoveForwardingResponse:
        number = await self._operations.remove_forwarding(
            current_caller(), request.msisdn, request.condition
        )
        return pb.RemoveForwardingResponse(number=number_message(number))

    async def ReplaceSim(
        self, request: pb.ReplaceSimRequest, context: Context
    ) -> pb.ReplaceSimResponse:
        number = await self._operations.replace_sim(current_caller(), request.msisdn, request.iccid)
        return pb.ReplaceSimResponse(number=number_message(number))

    async def ReplaceNumber(
        self, request: pb.ReplaceNumberRequest, context: Context
    ) -> pb.ReplaceNumberResponse:
        number = await self._operations.replace_number(
            current_caller(), request.msisdn, request.new_msisdn
        )
        return pb.ReplaceNumberResponse(
            number=number_message(number), previous_msisdn=checked_msisdn(request.msisdn)
        )


def operation_registrars(operations: OperationCases) -> list[Registrar]:
    return [
        (
            pb_grpc.add_NumberOperationServiceServicer_to_server,
            NumberOperationServicer(operations),
        )
    ]
