"""`python -m gateway`: the REST gateway on VM_GATEWAY_HOST:VM_GATEWAY_PORT."""

from __future__ import annotations

import uvicorn

from gateway.app import create_app
from services.kit.logs import configure_logging
from services.kit.settings import get_settings
from services.kit.tracing import configure_tracing


def main() -> None:
    settings = get_settings()
    configure_logging("gateway", settings.log_level)
    configure_tracing("gateway")
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        # X-Forwarded-For/-Proto only from the proxies VM_FORWARDED_ALLOW_IPS names.
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        # Named, not "auto": a missing package fails the start instead of a slower gateway.
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
