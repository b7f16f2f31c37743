"""Registration, login, refresh, logout and /me through the REST gateway."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.e2e.conftest import NewCompany

pytestmark = pytest.mark.e2e
PASSWORD = "Correct-Horse-7"
CODE = re.compile(r"\b(\d{6})\b")


async def latest_code(api: httpx.AsyncClient, to: str) -> str:
    response = await api.get("/dev/messages", params={"to": to})
    assert response.status_code == 200
    for message in response.json()["items"]:
        if match := CODE.search(message["text"]):
            return match.group(1)
    raise AssertionError(f"no code was sent to {to}")


async def register(api: httpx.AsyncClient, company: NewCompany, password: str = PASSWORD) -> dict:
    started = await api.post(
        "/api/v1/auth/registrations",
        json={"main_number": company.main_number, "email": company.contact_email},
    )
    assert started.status_code == 202, started.text
    registration_id = started.json()["registration_id"]
    confirmed = await api.post(
        f"/api/v1/auth/registrations/{registration_id}/confirm",
        json={
            "sms_code": await latest_code(api, company.main_number),
            "email_code": await latest_code(api, company.contact_email),
            "password": password,
        },
    )
    assert confirmed.status_code == 200, confirmed.text
    return confirmed.json()


def bearer(tokens: dict) -> dict[str, str]:
    return {"authorization": f"Bearer {tokens['access_token']}"}


async def test_registration_with_codes_from_sms_and_email_then_me(api, company):
    tokens = await register(api, company)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] > 0

    me = await api.get("/api/v1/me", headers=bearer(tokens))

    assert me.status_code == 200, me.text
    body = me.json()
    assert body["company"]["id"] == company.id
    assert body["user"]["login"] == company.main_number
    assert body["user"]["assignments"] == [{"role_id": "global_admin", "node_id": None}]
    assert "finance.transfer" in body["permissions"] and "users.manage" in body["permissions"]
    assert body["scopes"][0]["node_id"] is None


async def test_sms_code_goes_to_the_main_number_and_email_code_to_the_contact(api, company):
    await api.post(
        "/api/v1/auth/registrations",
        json={"main_number": company.main_number, "email": company.contact_email},
    )
    sms = (await api.get("/dev/messages", params={"to": company.main_number})).json()["items"]
    mail = (await api.get("/dev/messages", params={"to": company.contact_email})).json()["items"]
    assert sms[0]["channel"] == "sms" and CODE.search(sms[0]["text"])
    assert mail[0]["channel"] == "email" and "Регистрация" in mail[0]["subject"]
    assert CODE.search(sms[0]["text"]).group(1) != CODE.search(mail[0]["text"]).group(1)


async def test_login_accepts_the_main_number_in_any_usual_form(api, company):
    await register(api, company)
    n = company.main_number
    pretty = f"+7 ({n[1:4]}) {n[4:7]}-{n[7:9]}-{n[9:]}"

    response = await api.post("/api/v1/auth/login", json={"login": pretty, "password": PASSWORD})

    assert response.status_code == 200, response.text
    assert (await api.get("/api/v1/me", headers=bearer(response.json()))).status_code == 200


async def test_wrong_password_is_401_problem(api, company):
    await register(api, company)
    response = await api.post(
        "/api/v1/auth/login", json={"login": company.main_number, "password": "Wrong-pass-1"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unauthenticated"


async def test_refresh_rotates_and_a_reused_refresh_token_ends_the_session(api, company):
    first = await register(api, company)

    second = await api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    assert second.json()["refresh_token"] != first["refresh_token"]

    reused = await api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    # the reuse revoked the whole family, the rotated token included
    after = await api.post(
        "/api/v1/auth/refresh", json={"refresh_token": second.json()["refresh_token"]}
    )
    assert after.status_code == 401


async def test_logout_revokes_the_refresh_token(api, company):
    tokens = await register(api, company)

    out = await api.post(
        "/api/v1/auth/logout",
        headers=bearer(tokens),
        json={"refresh_token": tokens["refresh_token"]},
    )

    assert out.status_code == 204
    again = await api.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401


async def test_wrong_codes_are_422_and_nothing_is_created(api, company):
    started = await api.post(
        "/api/v1/auth/registrations",
        json={"main_number": company.main_number, "email": company.contact_email},
    )
    registration_id = started.json()["registration_id"]
    wrong = await api.post(
        f"/api/v1/auth/registrations/{registration_id}/confirm",
        json={"sms_code": "000000", "email_code": "000000", "password": PASSWORD},
    )
    assert wrong.status_code == 422
    assert {e["field"] for e in wrong.json()["errors"]} == {"sms_code", "email_code"}
    login = await api.post(
        "/api/v1/auth/login", json={"login": company.main_number, "password": PASSWORD}
    )
    assert login.status_code == 401


async def test_registration_twice_is_refused_once_registered(api, company):
    await register(api, company)
    with pytest.raises(AssertionError):
        # no code is sent for a company that is already registered
        await register(api, company, password="Another-pass-9")


async def test_short_password_is_422_with_the_field(api, company):
    started = await api.post(
        "/api/v1/auth/registrations",
        json={"main_number": company.main_number, "email": company.contact_email},
    )
    response = await api.post(
        f"/api/v1/auth/registrations/{started.json()['registration_id']}/confirm",
        json={
            "sms_code": await latest_code(api, company.main_number),
            "email_code": await latest_code(api, company.contact_email),
            "password": "short",
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "password", "message": "use 8 to 128 characters"}
    ]
