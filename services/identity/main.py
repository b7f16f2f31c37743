"""Composition root of identity: `python -m services.identity`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from services.identity.grpc_api import (
    ACCESS_POLICY,
    SERVICE_NAMES,
    IdentityOperatorServicer,
    IdentityServicer,
)
from services.identity.service import IdentityService
from services.identity.store import IdentityStore
from services.identity.tokens import TokenIssuer
from services.kit.auth import CallerAuthenticator, TokenVerifier
from services.kit.delivery import HttpSmsCentre, SmtpMailSender
from services.kit.runtime import ServiceRuntime, serve_until_stopped
from services.kit.settings import Settings
from vm.identity.v1 import identity_pb2_grpc

NAME = "identity"


async def start(settings: Settings, address: str | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime.create(NAME, settings)
    store = IdentityStore(runtime.db)
    tokens = TokenIssuer(
        store,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.access_token_ttl_seconds,
        key_file=settings.identity_signing_key_file,
    )
    service = IdentityService(
        store=store,
        transactions=runtime.transactions,
        outbox=runtime.outbox,
        tokens=tokens,
        sms=HttpSmsCentre(settings.sms_centre_url),
        mail=SmtpMailSender(settings.smtp_host, settings.smtp_port, settings.mail_from),
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
    )

    async def own_keys() -> dict[str, str]:
        return tokens.public_keys()

    verifier = TokenVerifier(own_keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience)

    async def prepare() -> None:
        await store.ensure_indexes()
        await tokens.load_keys(datetime.now(UTC))

    await runtime.start(
        servicers=[
            (identity_pb2_grpc.add_IdentityServiceServicer_to_server, IdentityServicer(service)),
            (
                identity_pb2_grpc.add_IdentityOperatorServiceServicer_to_server,
                IdentityOperatorServicer(service),
            ),
        ],
        service_names=SERVICE_NAMES,
        policy=ACCESS_POLICY,
        authenticator=CallerAuthenticator(verifier, settings.operator_token.get_secret_value()),
        prepare=prepare,
        address=address,
    )
    return runtime


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    await serve_until_stopped(start, settings, stop)
