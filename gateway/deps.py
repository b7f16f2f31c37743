"""The routers' typed dependencies, in one place: the backends' gRPC stubs, the caller's
metadata for the calls made on its behalf, and the `Idempotency-Key` of a request that
starts something. A route declares what it uses (`backends: Backends`) instead of reaching
into `request.app.state`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from gateway.backends import Backends as BackendStubs
from gateway.security import CurrentCredential
from services.kit.idempotency import KEY_MAX
from services.kit.replays import METADATA_KEY as REPLAY_METADATA_KEY

__all__ = [
    "BackendStubs",
    "Backends",
    "CallerMetadata",
    "IdempotencyKey",
    "Metadata",
    "OptionalIdempotencyKey",
    "ReplayableMetadata",
    "backends",
    "caller_metadata",
]


async def backends(request: Request) -> BackendStubs:
    """The stubs of every backend service, connected once by the app's lifespan. (Every
    dependency here is a coroutine: FastAPI runs a plain function's in a worker thread, a
    hop per request that cost more than the rest of the dependency.)"""
    backend_stubs: BackendStubs = request.app.state.backends
    return backend_stubs


Backends = Annotated[BackendStubs, Depends(backends)]

Metadata = tuple[tuple[str, str], ...]


async def caller_metadata(credential: CurrentCredential) -> Metadata:
    """The verified credential as gRPC metadata (with the request's id and trace)."""
    return credential.metadata


# The caller's metadata; requires a verified bearer credential (401 without one).
CallerMetadata = Annotated[Metadata, Depends(caller_metadata)]

# Printable ASCII without white space at either end (services/kit/idempotency.py trims a
# key and takes printable characters only; a header carries ASCII).
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$"

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=KEY_MAX,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="new for each request; a repeat with the same body gives the same answer",
    ),
]

OptionalIdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=KEY_MAX,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="optional, new for each request: a repeat with the same key and body "
        "gives the first answer and creates nothing more; with another body 409 "
        "`idempotency_key_reused`, while the first is still running 409 "
        "`idempotency_key_in_use`",
    ),
]


async def replayable_metadata(
    credential: CurrentCredential, key: OptionalIdempotencyKey = None
) -> Metadata:
    """The caller's metadata for a creating call, with the request's Idempotency-Key if it
    has one (the service answers a repeat from its replay journal, services/kit/replays.py)."""
    if key is None:
        return credential.metadata
    return (*credential.metadata, (REPLAY_METADATA_KEY, key))


# The caller's metadata for a call that creates something, honouring an Idempotency-Key.
ReplayableMetadata = Annotated[Metadata, Depends(replayable_metadata)]
