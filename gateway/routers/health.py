"""`GET /healthz`: 200 when every service answers SERVING, 503 otherwise, same body."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from gateway.deps import Backends
from gateway.security import PUBLIC

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    services: dict[str, str]


@router.get(
    "/healthz", response_model=Health, responses={503: {"model": Health}}, openapi_extra=PUBLIC
)
async def healthz(backends: Backends) -> JSONResponse:
    """200 when every service serves, else 503 with the same body: each service's state."""
    services = await backends.health()
    healthy = all(state == "SERVING" for state in services.values())
    body = Health(status="ok" if healthy else "degraded", services=services)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)
