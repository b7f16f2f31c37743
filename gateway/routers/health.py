"""Health of the gateway and the system behind it.

- `GET /healthz`: the whole system's state for people and the smoke tests: 200 when every
  service answers SERVING, else 503 with the same body (each service's state). Not a probe:
  a service that is down must not take the gateway out of its Service.
- `GET /readyz`: the gateway's own readiness, for its readinessProbe: 200 once it has
  started and made its channels to the services, whatever they answer (a call to a service
  that is down answers 503 problem+json for that route only); 503 before and while it stops.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from gateway.deps import Backends
from gateway.security import PUBLIC

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    services: dict[str, str]


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]


@router.get(
    "/healthz", response_model=Health, responses={503: {"model": Health}}, openapi_extra=PUBLIC
)
async def healthz(backends: Backends) -> JSONResponse:
    """200 when every service serves, else 503 with the same body: each service's state."""
    services = await backends.health()
    healthy = all(state == "SERVING" for state in services.values())
    body = Health(status="ok" if healthy else "degraded", services=services)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness}},
    openapi_extra=PUBLIC,
)
async def readyz(request: Request) -> JSONResponse:
    """The gateway's own readiness: 200 while it can take requests (started, its channels to
    the services made), whether or not each service answers; 503 otherwise."""
    ready = getattr(request.app.state, "ready", False)
    body = Readiness(status="ready" if ready else "not_ready")
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
