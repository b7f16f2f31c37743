"""Composition root of identity: `python -m services.identity`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from services.identity.consumers import handlers
from services.identity.grpc_api import ACCESS_POLICY, SERVICE_NAMES, registrars
from services.identity.service import IdentityCases
from services.identity.service.base import Deps
from services.identity.store import Stores
from services.identity.tokens import TokenIssuer
from services.kit.auth import CallerAuthenticator, TokenVerifier
from services.kit.delivery import HttpSmsCentre, SmtpMailSender
from services.kit.runtime import ServiceRuntime, serve_until_stopped
from services.kit.settings import Settings

NAME = "identity"


async def start(settings: Settings, address: str | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime.create(NAME, settings)
    stores = Stores.create(runtime.db)
    tokens = TokenIssuer(
        stores.signing_keys,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.access_token_ttl_seconds,
        key_file=settings.identity_signing_key_file,
    )
    cases = IdentityCases.create(
        Deps(
            stores=stores,
            transactions=runtime.transactions,
            outbox=runtime.outbox,
            tokens=tokens,
            sms=HttpSmsCentre(settings.sms_centre_url),
            mail=SmtpMailSender(settings.smtp_host, settings.smtp_port, settings.mail_from),
            refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
    )

    async def own_keys() -> dict[str, str]:
        return tokens.public_keys()

    verifier = TokenVerifier(own_keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience)

    async def prepare() -> None:
        await stores.ensure_indexes()
        await tokens.load_keys(datetime.now(UTC))

    await runtime.start(
        servicers=registrars(cases),
        service_names=SERVICE_NAMES,
        policy=ACCESS_POLICY,
        authenticator=CallerAuthenticator(verifier, settings.operator_token.get_secret_value()),
        handlers=handlers(cases),
        prepare=prepare,
        address=address,
    )
    return runtime


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    await serve_until_stopped(start, settings, stop)
