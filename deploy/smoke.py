"""The image's smoke import, kept in this one place: the modules each process of the image
starts from. deploy/Dockerfile runs it in each final image (from outside /app, so through
the .pth that makes /app and /app/gen importable), and tests/unit/test_deploy.py runs it
and checks, from the sources, that these modules import nothing the image does not have.

    python -m deploy.smoke              the runtime image: every service, worker, the gateway
    python -m deploy.smoke --devstack   the `dev` image: also the dev sink and the demo loader

Standard library only. A service's `__main__` starts the service when imported, so the list
names the `main` module that it runs (`python -m services.identity` is
`services.identity.main` under `services.kit.runtime`).
"""

from __future__ import annotations

import argparse
import importlib
import sys

# What every process of the runtime image imports: each service (`python -m services.<name>`),
# each worker, the gateway (`python -m gateway`), and the gRPC health check that the compose
# file's healthcheck and the Kubernetes probes' clients use.
RUNTIME_MODULES: tuple[str, ...] = (
    "services.kit.runtime",
    "services.identity.main",
    "services.catalog.main",
    "services.catalog.bulk_worker",
    "services.billing.main",
    "services.documents.main",
    "services.documents.worker",
    "services.tickets.main",
    "services.notifications.main",
    "services.notifications.worker",
    "gateway.app",
    "gateway.__main__",
    "grpc_health.v1.health_pb2",
    "grpc_health.v1.health_pb2_grpc",
    "services.kit.settings",
)

# The development-only processes, in the image's `dev` target only: the message sink
# (`python -m deploy.devsink`) and the demo loader (`python -m demo`).
DEVSTACK_MODULES: tuple[str, ...] = (
    "deploy.devsink",
    "demo.__main__",
)


def modules(*, devstack: bool = False) -> tuple[str, ...]:
    return RUNTIME_MODULES + (DEVSTACK_MODULES if devstack else ())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.smoke", description=__doc__)
    parser.add_argument(
        "--devstack", action="store_true", help="also the dev sink and the demo loader"
    )
    args = parser.parse_args(argv)
    failed = 0
    for name in modules(devstack=args.devstack):
        try:
            importlib.import_module(name)
        except Exception as exc:  # every failure is reported, then the exit code says it
            print(f"smoke import: {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            failed += 1
    if failed:
        print(f"smoke import: {failed} module(s) failed", file=sys.stderr)
        return 1
    print(f"smoke import: {len(modules(devstack=args.devstack))} modules imported")
    return 0


if __name__ == "__main__":
    sys.exit(main())
