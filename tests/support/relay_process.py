"""An outbox relay in a process of its own, for tests that kill it mid-stream.

    python -m tests.support.relay_process DATABASE [--batch-size N] [--lease-seconds S]

Settings (MongoDB URL, broker URL and prefix) come from the `VM_*` environment like any
service process. It prints one line, "relaying", once it is connected, then runs the
real `OutboxRelay` until it is stopped or killed.
"""

from __future__ import annotations

import argparse
import asyncio

from services.kit.broker import EventPublisher, connect_broker
from services.kit.mongo import connect_mongo
from services.kit.outbox import OutboxRelay
from services.kit.settings import Settings


async def relay(database: str, batch_size: int, lease_seconds: float) -> None:
    settings = Settings()
    mongo = connect_mongo(settings.mongo_url, app_name="relay-process")
    broker = await connect_broker(settings.amqp_url, name="relay-process")
    publisher = EventPublisher(broker, settings.events_exchange)
    await publisher.start()
    outbox_relay = OutboxRelay(
        mongo.get_database(database),
        publisher,
        batch_size=batch_size,
        idle_poll_seconds=0.05,
        lease_seconds=lease_seconds,
    )
    print("relaying", flush=True)
    try:
        await outbox_relay.run()
    finally:
        await broker.close()
        await mongo.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("database")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--lease-seconds", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(relay(args.database, args.batch_size, args.lease_seconds))


if __name__ == "__main__":
    main()
