"""The gateway's token check: a request with no valid bearer token stops here with 401.

The services verify the token again themselves (zero trust); this check only spares
them traffic that cannot succeed. The verified credential is forwarded as gRPC metadata.

A company's API key (`Bearer vmk_...`) is exchanged at identity for a short-lived access
token, kept for a few seconds (gateway/api_key_tokens.py), and that token is forwarded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.problems import Problem
from services.kit.auth import API_KEY_PREFIX
from services.kit.errors import Unauthenticated
from services.kit.grpc_client import call_metadata

_bearer = HTTPBearer(
    auto_error=False,
    description="The access token from /auth/login, or an API key (vmk_...)",
)


@dataclass(frozen=True)
class Credential:
    authorization: str

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return call_metadata(self.authorization)


async def bearer_credential(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Credential:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem("unauthenticated", "a bearer access token is required")
    if credentials.credentials.startswith(API_KEY_PREFIX):
        return await _api_key_credential(request, credentials.credentials)
    try:
        await request.app.state.backends.verifier.verify(credentials.credentials)
    except Unauthenticated as error:
        raise Problem("unauthenticated", error.message) from error
    return Credential(f"Bearer {credentials.credentials}")


async def _api_key_credential(request: Request, key: str) -> Credential:
    try:
        token = await request.app.state.backends.api_key_tokens.token_for(key)
    except Unauthenticated as error:
        raise Problem("unauthenticated", error.message) from error
    return Credential(f"Bearer {token}")


CurrentCredential = Annotated[Credential, Depends(bearer_credential)]


# What each route needs, in its OpenAPI operation (`x-access`): the authorization tests
# read it from the app, so a new route cannot be added without saying who may call it.
PUBLIC = {"x-access": "public"}
ANY_USER = {"x-access": "any_user"}
# The permission depends on the request (a bulk operation's type needs that type's).
PER_TYPE = {"x-access": "per_type"}


def needs(permission: str) -> dict[str, str]:
    return {"x-access": permission}
