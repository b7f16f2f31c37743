""" "My settings": change one's own password, the home screen's pinned functions and language
(identity's ProfileService)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from gateway.deps import Backends
from gateway.fields import NewPassword
from gateway.security import ANY_USER, CurrentCredential
from services.identity.domain.preferences import FUNCTIONS, LOCALES, MAX_PINNED
from vm.identity.v1 import profile_pb2 as pb
from vm.identity.v1 import resources_pb2

router = APIRouter(prefix="/api/v1/me", tags=["settings"])
TIMEOUT = 10.0


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: NewPassword


# A function of the home screen (identity's FUNCTIONS).
if TYPE_CHECKING:  # a closed list known at run time; to the type checker, a string
    PinnableFunction = str
else:
    PinnableFunction = Literal[tuple(FUNCTIONS)]


class PreferencesIn(BaseModel):
    # identity's rules: known functions, each once, at most MAX_PINNED; a known locale.
    pinned: list[PinnableFunction] = Field(
        max_length=MAX_PINNED,
        json_schema_extra={"uniqueItems": True},  # identity refuses a function twice
        examples=[["reports", "tariff_change"]],
    )
    locale: Literal["", *LOCALES] = Field(  # type: ignore[valid-type]
        description="empty: the default (ru)", examples=["ru"]
    )


class PreferencesOut(BaseModel):
    pinned: list[str]
    locale: str


def _preferences_out(preferences: resources_pb2.Preferences) -> PreferencesOut:
    return PreferencesOut(pinned=list(preferences.pinned), locale=preferences.locale)


@router.put("/password", status_code=204, response_class=Response, openapi_extra=ANY_USER)
async def change_password(
    body: PasswordChangeIn, backends: Backends, credential: CurrentCredential
) -> Response:
    """Change your own password; every other session of yours ends, this one stays."""
    await backends.profile.ChangePassword(
        pb.ChangePasswordRequest(
            current_password=body.current_password, new_password=body.new_password
        ),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return Response(status_code=204)


@router.get("/preferences", response_model=PreferencesOut, openapi_extra=ANY_USER)
async def get_preferences(backends: Backends, credential: CurrentCredential) -> PreferencesOut:
    """Your home screen: the pinned functions in order, and the language."""
    response = await backends.profile.GetPreferences(
        pb.GetPreferencesRequest(), metadata=credential.metadata, timeout=TIMEOUT
    )
    return _preferences_out(response.preferences)


@router.put("/preferences", response_model=PreferencesOut, openapi_extra=ANY_USER)
async def update_preferences(
    body: PreferencesIn, backends: Backends, credential: CurrentCredential
) -> PreferencesOut:
    """Replace your home screen's pinned functions (at most 12) and language (ru or en)."""
    response = await backends.profile.UpdatePreferences(
        pb.UpdatePreferencesRequest(
            preferences=resources_pb2.Preferences(pinned=body.pinned, locale=body.locale)
        ),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return _preferences_out(response.preferences)
