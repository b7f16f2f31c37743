"""WebhookService: the company's webhook endpoints and deliveries, proto ⇄ use case."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from services.kit.context import current_caller
from services.notifications.grpc_api.convert import (
    changes_from,
    delivery_message,
    endpoint_message,
    state_from,
)
from services.notifications.service.webhooks import WebhookCases
from vm.notifications.v1 import notifications_pb2 as api
from vm.notifications.v1 import notifications_pb2_grpc as api_grpc

Context: TypeAlias = grpc.aio.ServicerContext


class WebhookServicer(api_grpc.WebhookServiceServicer):
    def __init__(self, cases: WebhookCases) -> None:
        self._cases = cases

    async def CreateEndpoint(
        self, request: api.CreateEndpointRequest, context: Context
    ) -> api.CreateEndpointResponse:
        made = await self._cases.create_endpoint(
            current_caller(), request.url, request.description, request.event_types
        )
        return api.CreateEndpointResponse(
            endpoint=endpoint_message(made.endpoint), secret=made.secret
        )

    async def ListEndpoints(
        self, request: api.ListEndpointsRequest, context: Context
    ) -> api.ListEndpointsResponse:
        found, next_token = await self._cases.list_endpoints(
            current_caller(), request.page_size, request.page_token
        )
        return api.ListEndpointsResponse(
            endpoints=[endpoint_message(e) for e in found], next_page_token=next_token
        )

    async def GetEndpoint(
        self, request: api.GetEndpointRequest, context: Context
    ) -> api.GetEndpointResponse:
        endpoint = await self._cases.get_endpoint(current_caller(), request.endpoint_id)
        return api.GetEndpointResponse(endpoint=endpoint_message(endpoint))

    async def UpdateEndpoint(
        self, request: api.UpdateEndpointRequest, context: Context
    ) -> api.UpdateEndpointResponse:
        endpoint = await self._cases.update_endpoint(
            current_caller(), request.endpoint_id, changes_from(request)
        )
        return api.UpdateEndpointResponse(endpoint=endpoint_message(endpoint))

    async def DeleteEndpoint(
        self, request: api.DeleteEndpointRequest, context: Context
    ) -> api.DeleteEndpointResponse:
        await self._cases.delete_endpoint(current_caller(), request.endpoint_id)
        return api.DeleteEndpointResponse()

    async def RotateSecret(
        self, request: api.RotateSecretRequest, context: Context
    ) -> api.RotateSecretResponse:
        rotated = await self._cases.rotate_secret(current_caller(), request.endpoint_id)
        return api.RotateSecretResponse(
            endpoint=endpoint_message(rotated.endpoint), secret=rotated.secret
        )

    async def ListDeliveries(
        self, request: api.ListDeliveriesRequest, context: Context
    ) -> api.ListDeliveriesResponse:
        found, next_token = await self._cases.list_deliveries(
            current_caller(),
            request.endpoint_id,
            state_from(request.state),
            request.page_size,
            request.page_token,
        )
        return api.ListDeliveriesResponse(
            deliveries=[delivery_message(d) for d in found], next_page_token=next_token
        )

    async def RetryDelivery(
        self, request: api.RetryDeliveryRequest, context: Context
    ) -> api.RetryDeliveryResponse:
        delivery = await self._cases.retry_delivery(
            current_caller(), request.endpoint_id, request.delivery_id
        )
        return api.RetryDeliveryResponse(delivery=delivery_message(delivery))

    async def SendTestEvent(
        self, request: api.SendTestEventRequest, context: Context
    ) -> api.SendTestEventResponse:
        delivery = await self._cases.send_test_event(current_caller(), request.endpoint_id)
        return api.SendTestEventResponse(delivery=delivery_message(delivery))
