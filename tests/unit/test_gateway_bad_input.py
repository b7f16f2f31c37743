"""Bad input is a 422 problem at every depth of the gateway, without a running system."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, TypeAdapter, ValidationError

from gateway.app import create_app
from gateway.json_body import body_fault
from gateway.problems import install_problem_handlers
from gateway.routers.reports import Period, PeriodIn, period_message
from services.kit.settings import Settings


class Thing(BaseModel):
    name: str


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://gateway",
    )


def bare_app() -> FastAPI:
    """The problem handlers alone, without the JSON check in front."""
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things")
    async def make(body: Thing) -> Thing:
        return body

    return app


async def test_fastapis_own_parse_error_is_422_not_500():
    """Without the JSON check in front, FastAPI's 400 still becomes `validation_failed`."""
    async with client_of(bare_app()) as http:
        response = await http.post(
            "/things", content=b'{"name": "\xff"}', headers={"content-type": "application/json"}
        )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_failed"
    assert response.json()["errors"] == [
        {"field": "body", "message": "There was an error parsing the body"}
    ]


async def test_malformed_json_names_the_body_and_the_position():
    async with client_of(bare_app()) as http:
        response = await http.post(
            "/things", content=b'{"name": ', headers={"content-type": "application/json"}
        )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "body"
    assert "position 9" in error["message"], error


@pytest.mark.parametrize(
    ("body", "fault"),
    [
        (b'{"a": "\xff"}', "the body is not UTF-8 text"),
        (b'{"a": "\\ud800"}', "a string holds a lone UTF-16 surrogate, which is not a character"),
        (b'{"\\udfff": 1}', "a string holds a lone UTF-16 surrogate, which is not a character"),
        (b'[["\\ud83d"]]', "a string holds a lone UTF-16 surrogate, which is not a character"),
        (b'{"a": "\\ud83d\\ude00"}', None),
        (b'{"a": "\\\\ud800"}', None),  # an escaped backslash, then the letters "ud800"
        (b"{not json", None),  # malformed JSON: FastAPI reports it with its position
        (b'{"a": "\xd0\xb0"}', None),
    ],
)
def test_body_fault(body, fault):
    assert body_fault(body) == fault


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/roles", b'{"name": "\xff"}'),
        ("/api/v1/auth/password-resets", b'{"login": "\\ud800"}'),
        ("/api/v1/tickets", b"\x80"),
    ],
)
async def test_the_gateway_refuses_such_bodies_before_any_route(path, body):
    async with client_of(create_app(Settings(env="test"))) as http:
        response = await http.post(
            path, content=body, headers={"content-type": "application/json; charset=utf-8"}
        )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_failed"
    assert response.json()["errors"][0]["field"] == "body"
    assert response.headers["x-request-id"]


PERIOD = TypeAdapter(Period)


@pytest.mark.parametrize(
    "value",
    ["__main__", "2026-1", "2026-10-01", "٢٠٢٦-١٠", {"month": "October"}, {"from": "1.10.2026"}],
)
def test_a_period_of_another_shape_is_refused_by_the_model(value):
    with pytest.raises(ValidationError):
        PERIOD.validate_python(value)


def test_a_period_in_shape_becomes_the_message():
    assert period_message(PERIOD.validate_python("2026-10")).month == "2026-10"
    dates = PERIOD.validate_python({"from": "2026-01-01", "to": "2026-03-31"})
    assert isinstance(dates, PeriodIn)
    message = period_message(dates)
    assert (getattr(message, "from"), message.to, message.month) == ("2026-01-01", "2026-03-31", "")
