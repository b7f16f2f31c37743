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

__all__ = [
    "BackendStubs",
    "Backends",
    "CallerMetadata",
    "IdempotencyKey",
    "Metadata",
    "backends",
    "caller_metadata",
]


def backends(request: Request) -> BackendStubs:
    """The stubs of every backend service, connected once by the app's lifespan."""
    backend_stubs: BackendStubs = request.app.state.backends
    return backend_stubs


Backends = Annotated[BackendStubs, Depends(backends)]

Metadata = tuple[tuple[str, str], ...]


def caller_metadata(credential: CurrentCredential) -> Metadata:
    """The verified credential as gRPC metadata (with the request's id and trace)."""
    return credential.metadata


# The caller's metadata; requires a verified bearer credential (401 without one).
CallerMetadata = Annotated[Metadata, Depends(caller_metadata)]

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        # printable ASCII without white space at either end (services/kit/idempotency.py
        # trims it and takes printable characters only; a header carries ASCII)
        pattern=r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$",
        description="new for each request; a repeat with the same body gives the same answer",
    ),
]
