"""The demo's webhook endpoint: Ромашка's events go to the development sink's receiver, so
that `make run` shows deliveries (`GET /dev/webhooks?name=romashka`) as soon as something
happens — a number blocked in the console, a transfer, a report made."""

from __future__ import annotations

from services.kit.grpc_client import open_channel
from vm.notifications.v1 import notifications_pb2, notifications_pb2_grpc

Metadata = tuple[tuple[str, str], ...]
RECEIVER_NAME = "romashka"
DESCRIPTION = "Демо: приёмник вебхуков (dev sink)"


def receiver_url(devsink_url: str) -> str:
    return f"{devsink_url}/webhooks/{RECEIVER_NAME}"


async def ensure_webhook(notifications_addr: str, admin: Metadata, devsink_url: str) -> str:
    """One endpoint taking every event, made once (a second `make run` finds it)."""
    url = receiver_url(devsink_url)
    async with open_channel(notifications_addr) as channel:
        stub = notifications_pb2_grpc.WebhookServiceStub(channel)
        listed = await stub.ListEndpoints(
            notifications_pb2.ListEndpointsRequest(page_size=100), metadata=admin, timeout=30
        )
        if any(e.url == url for e in listed.endpoints):
            return f"webhooks: already sent to {url}"
        await stub.CreateEndpoint(
            notifications_pb2.CreateEndpointRequest(
                url=url, description=DESCRIPTION, event_types=["*"]
            ),
            metadata=admin,
            timeout=30,
        )
    return f"webhooks: every event of the company is sent to {url}"
