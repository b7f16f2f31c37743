"""RabbitMQ: a robust connection, the `vm.events` topic exchange and a confirming publisher.

aio-pika's robust connection restores only the channels and queues still referenced, so
the objects made here are kept on the instances; every publish has a timeout, because a
publish on a lost connection would otherwise wait forever.
"""

from __future__ import annotations

import aio_pika
from aio_pika.abc import (
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustExchange,
    DeliveryMode,
)

from services.kit.events import CONTENT_TYPE

PUBLISH_TIMEOUT_SECONDS = 10.0


async def connect_broker(url: str, name: str) -> AbstractRobustConnection:
    return await aio_pika.connect_robust(url, client_properties={"connection_name": name})


async def declare_events_exchange(
    channel: AbstractRobustChannel, name: str
) -> AbstractRobustExchange:
    return await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)


def event_message(
    message_id: str, event_type: str, body: bytes, content_type: str = CONTENT_TYPE
) -> aio_pika.Message:
    """A persistent message of an encoded CloudEvent (or a batch of them)."""
    return aio_pika.Message(
        body=body,
        content_type=content_type,
        message_id=message_id,
        type=event_type,
        delivery_mode=DeliveryMode.PERSISTENT,
    )


class EventPublisher:
    """Publishes encoded CloudEvents; returns only once the broker has confirmed each."""

    def __init__(self, connection: AbstractRobustConnection, exchange_name: str) -> None:
        self._connection = connection
        self._exchange_name = exchange_name
        self._channel: AbstractRobustChannel | None = None
        self._exchange: AbstractRobustExchange | None = None

    async def start(self) -> None:
        self._channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await declare_events_exchange(self._channel, self._exchange_name)

    async def publish(
        self, message_id: str, event_type: str, body: bytes, *, content_type: str = CONTENT_TYPE
    ) -> None:
        """`message_id`: the event's id, or a batch's own (its events carry theirs)."""
        if self._exchange is None:
            raise RuntimeError("EventPublisher.start() was not awaited")
        message = event_message(message_id, event_type, body, content_type)
        await self._exchange.publish(
            message, routing_key=event_type, mandatory=False, timeout=PUBLISH_TIMEOUT_SECONDS
        )

    @property
    def is_open(self) -> bool:
        return self._channel is not None and not self._channel.is_closed
