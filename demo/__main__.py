"""`python -m demo` (`make demo`): load the demo data into the running system.

With `--then-wait` (the `demo` process of `make run`) it first waits until the gateway
says every service is healthy, prints the URLs and demo logins, and then stays idle so
that honcho keeps the other processes running.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time

import httpx
from rich.console import Console
from rich.table import Table

from demo.data import COMPANIES, DEMO_PASSWORD, ROMASHKA_MANAGER, ROMASHKA_STAFF
from demo.load import load_demo
from services.kit.settings import Settings, get_settings

console = Console(highlight=False, width=110)


async def wait_until_healthy(gateway: str, within_seconds: float) -> None:
    deadline = time.monotonic() + within_seconds
    last = "no answer"
    async with httpx.AsyncClient(timeout=3) as client:
        while time.monotonic() < deadline:
            try:
                response = await client.get(f"{gateway}/healthz")
                if response.status_code == 200:
                    return
                last = str(response.json().get("services"))
            except httpx.HTTPError as error:
                last = type(error).__name__
            await asyncio.sleep(1)
    raise SystemExit(f"the system did not become healthy in {within_seconds:.0f}s: {last}")


def print_banner(settings: Settings, report: list[str], *, running: bool) -> None:
    gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
    console.rule("[bold green]Виртуальный менеджер is running")
    for line in report:
        console.print(f"  demo data: {line}")
    urls = Table(show_header=False, box=None)
    urls.add_row("REST gateway", f"{gateway}/api/v1")
    urls.add_row("API docs (OpenAPI)", f"{gateway}/docs")
    urls.add_row("health", f"{gateway}/healthz")
    urls.add_row("SMS and e-mails sent", f"{gateway}/dev/messages?to=<number or e-mail>")
    console.print(urls)
    logins = Table(title="Demo logins", show_lines=False)
    logins.add_column("company")
    logins.add_column("login")
    logins.add_column("password")
    for company in COMPANIES:
        password = DEMO_PASSWORD if company.registers else "not registered yet: try registration"
        logins.add_row(company.name, company.main_number, password)
    for staff in (*ROMASHKA_STAFF, ROMASHKA_MANAGER):
        logins.add_row(f"{COMPANIES[0].name} — {staff.role_id}", staff.login, DEMO_PASSWORD)
    console.print(logins)
    console.print(
        f"  try: curl -s {gateway}/api/v1/auth/login -H 'content-type: application/json' "
        f'-d \'{{"login": "79161234567", "password": "{DEMO_PASSWORD}"}}\''
    )
    if running:
        console.rule("Ctrl-C stops everything")


async def main(then_wait: bool) -> None:
    settings = get_settings()
    gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
    await wait_until_healthy(gateway, within_seconds=180)
    report = await load_demo(settings)
    print_banner(settings, report, running=then_wait)
    if then_wait:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--then-wait", action="store_true")
    asyncio.run(main(parser.parse_args().then_wait))
