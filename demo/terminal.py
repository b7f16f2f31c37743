"""The demo as a person sees it in a terminal: a wait for the system, the loader's
progress bars, and the banner with the URLs and demo logins."""

from __future__ import annotations

import asyncio
import time

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from demo.data import COMPANIES, DEMO_PASSWORD, ROMASHKA_MANAGER, ROMASHKA_STAFF
from demo.load import load_demo
from demo.progress import Steps
from services.kit.settings import Settings


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
            await asyncio.sleep(0.5)
    raise SystemExit(f"the system did not become healthy in {within_seconds:.0f}s: {last}")


async def load_with_progress(settings: Settings, console: Console) -> list[str]:
    """The demo data, loaded with a progress bar per step; the report lines."""
    started = time.monotonic()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        report = await load_demo(settings, steps=Steps(progress))
    console.print(f"demo data loaded in {time.monotonic() - started:.1f} s")
    return report


def print_banner(console: Console, settings: Settings, report: list[str], *, running: bool) -> None:
    gateway = f"http://{settings.gateway_host}:{settings.gateway_port}"
    console.rule("[bold green]Виртуальный менеджер is running")
    for line in report:
        console.print(f"  demo data: {line}")
    urls = Table(show_header=False, box=None)
    urls.add_row("[bold]Web console (личный кабинет)", f"[bold]{gateway}/")
    urls.add_row("REST gateway", f"{gateway}/api/v1")
    urls.add_row("API docs (OpenAPI)", f"{gateway}/docs")
    urls.add_row("health", f"{gateway}/healthz")
    urls.add_row("SMS and e-mails sent", f"{gateway}/dev/messages?to=<number or e-mail>")
    urls.add_row(f"{COMPANIES[0].name}'s webhook deliveries", f"{gateway}/dev/webhooks")
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
