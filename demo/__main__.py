"""`python -m demo` (`make demo`): load the demo data into a running system, with progress,
and print the URLs and demo logins. `make run` does the same once every process is up."""

from __future__ import annotations

import asyncio

from rich.console import Console

from demo.terminal import load_with_progress, print_banner, wait_until_healthy
from services.kit.settings import get_settings


async def main() -> None:
    settings = get_settings()
    console = Console(highlight=False)
    await wait_until_healthy(
        f"http://{settings.gateway_host}:{settings.gateway_port}", within_seconds=180
    )
    report = await load_with_progress(settings, console)
    print_banner(console, settings, report, running=False)


if __name__ == "__main__":
    asyncio.run(main())
