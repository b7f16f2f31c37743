"""Forgotten password, changing one's own password, and the home screen, through REST."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from pymongo import AsyncMongoClient

from services.identity.domain import FUNCTIONS
from tests.e2e.conftest import NewCompany
from tests.e2e.test_identity_flows import CODE, PASSWORD, bearer, register
from tests.support.kit import outbox_events
from tests.support.system import RunningSystem

pytestmark = pytest.mark.e2e
NEW_PASSWORD = "Brand-New-Passw0rd"
RESET_TEXT = "восстановления пароля"
PASSWORD_CHANGED = "vm.identity.password.changed.v1"


async def reset_messages(api: httpx.AsyncClient, to: str) -> list[dict]:
    response = await api.get("/dev/messages", params={"to": to})
    assert response.status_code == 200
    return [m for m in response.json()["items"] if RESET_TEXT in m["text"]]


async def wait_for_reset_messages(
    api: httpx.AsyncClient, to: str, count: int = 1, timeout: float = 10.0
) -> list[dict]:
    """The codes go out in the background, a moment after the answer."""
    deadline = time.monotonic() + timeout
    while True:
        messages = await reset_messages(api, to)
        if len(messages) >= count or time.monotonic() > deadline:
            return messages
        await asyncio.sleep(0.1)


async def reset_code(api: httpx.AsyncClient, to: str) -> str:
    messages = await wait_for_reset_messages(api, to)
    assert messages, f"no password reset code was sent to {to}"
    return CODE.search(messages[0]["text"]).group(1)


async def start_reset(api: httpx.AsyncClient, login: str) -> str:
    response = await api.post("/api/v1/auth/password-resets", json={"login": login})
    assert response.status_code == 202, response.text
    assert response.json()["expires_at"]
    return response.json()["reset_id"]


async def confirm_reset(
    api: httpx.AsyncClient, reset_id: str, code: str, new_password: str = NEW_PASSWORD
) -> httpx.Response:
    return await api.post(
        f"/api/v1/auth/password-resets/{reset_id}/confirm",
        json={"code": code, "new_password": new_password},
    )


async def login(api: httpx.AsyncClient, login_: str, password: str) -> httpx.Response:
    return await api.post("/api/v1/auth/login", json={"login": login_, "password": password})


async def refresh(api: httpx.AsyncClient, tokens: dict) -> httpx.Response:
    return await api.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})


async def user_id_of(api: httpx.AsyncClient, tokens: dict) -> str:
    return (await api.get("/api/v1/me", headers=bearer(tokens))).json()["user"]["id"]


async def password_events(system: RunningSystem, user_id: str) -> list[dict]:
    """The password.changed events identity wrote into its outbox for this user."""
    client = AsyncMongoClient(system.settings.mongo_url, tz_aware=True)
    try:
        identity = client[system.settings.database_name("identity")]
        events = await outbox_events(identity, {"type": PASSWORD_CHANGED})
    finally:
        await client.close()
    return [e.data for e in events if e.subject == user_id]


async def add_user(api: httpx.AsyncClient, admin: dict, company: NewCompany) -> dict:
    """A user with a login of their own (not a number), made by the global administrator."""
    suffix = company.main_number[2:]
    body = {
        "login": f"user{suffix}",
        "full_name": "Иванова Анна Сергеевна",
        "email": f"user{suffix}@test.example",
        "password": PASSWORD,
        "assignments": [{"role_id": "viewer"}],
    }
    response = await api.post("/api/v1/users", headers=bearer(admin), json=body)
    assert response.status_code == 201, response.text
    return body


# ---------------------------------------------------------------- forgotten password


async def test_reset_by_sms_for_the_main_number_sets_the_password_and_ends_every_session(
    system, api, company
):
    first = await register(api, company)
    second = (await login(api, company.main_number, PASSWORD)).json()
    n = company.main_number
    reset_id = await start_reset(api, f"+7 ({n[1:4]}) {n[4:7]}-{n[7:9]}-{n[9:]}")

    messages = await wait_for_reset_messages(api, company.main_number)
    assert messages[0]["channel"] == "sms"
    assert "Код для восстановления пароля в Виртуальном менеджере" in messages[0]["text"]
    confirmed = await confirm_reset(api, reset_id, await reset_code(api, company.main_number))

    assert confirmed.status_code == 204, confirmed.text
    assert (await login(api, company.main_number, NEW_PASSWORD)).status_code == 200
    assert (await login(api, company.main_number, PASSWORD)).status_code == 401
    for old in (first, second):
        assert (await refresh(api, old)).status_code == 401
        assert (await api.get("/api/v1/me", headers=bearer(old))).status_code == 401
    new_tokens = (await login(api, company.main_number, NEW_PASSWORD)).json()
    user_id = await user_id_of(api, new_tokens)
    assert await password_events(system, user_id) == [
        {"company_id": company.id, "user_id": user_id, "how": "reset"}
    ]


async def test_a_reset_code_works_once(api, company):
    await register(api, company)
    reset_id = await start_reset(api, company.main_number)
    code = await reset_code(api, company.main_number)
    assert (await confirm_reset(api, reset_id, code)).status_code == 204

    again = await confirm_reset(api, reset_id, code, "Yet-Another-Passw0rd")

    assert again.status_code == 409
    assert again.json()["code"] == "not_allowed"
    assert again.json()["reason"] == "reset_expired"
    assert (await login(api, company.main_number, NEW_PASSWORD)).status_code == 200


async def test_reset_by_email_for_a_user_with_a_login_of_their_own(api, company):
    admin = await register(api, company)
    user = await add_user(api, admin, company)
    reset_id = await start_reset(api, user["login"].upper())

    messages = await wait_for_reset_messages(api, user["email"])
    assert messages[0]["channel"] == "email"
    assert messages[0]["subject"] == "Восстановление пароля в Виртуальном менеджере"
    assert user["login"] in messages[0]["text"]
    confirmed = await confirm_reset(api, reset_id, await reset_code(api, user["email"]))

    assert confirmed.status_code == 204, confirmed.text
    assert (await login(api, user["login"], NEW_PASSWORD)).status_code == 200
    # the administrator's password is untouched
    assert (await login(api, company.main_number, PASSWORD)).status_code == 200


async def test_a_wrong_code_is_422_on_the_code_field_and_the_password_stays(api, company):
    await register(api, company)
    reset_id = await start_reset(api, company.main_number)
    code = await reset_code(api, company.main_number)
    wrong = "000000" if code != "000000" else "111111"

    response = await confirm_reset(api, reset_id, wrong)

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_failed"
    assert [e["field"] for e in response.json()["errors"]] == ["code"]
    assert (await login(api, company.main_number, PASSWORD)).status_code == 200


async def test_a_short_new_password_is_422_and_does_not_use_up_an_attempt(api, company):
    await register(api, company)
    reset_id = await start_reset(api, company.main_number)
    code = await reset_code(api, company.main_number)

    for _ in range(6):
        short = await confirm_reset(api, reset_id, code, "short")
        assert short.status_code == 422
        assert [e["field"] for e in short.json()["errors"]] == ["new_password"]

    assert (await confirm_reset(api, reset_id, code)).status_code == 204


async def test_after_five_wrong_codes_the_reset_is_409_even_with_the_right_code(api, company):
    await register(api, company)
    reset_id = await start_reset(api, company.main_number)
    code = await reset_code(api, company.main_number)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert (await confirm_reset(api, reset_id, wrong)).status_code == 422

    response = await confirm_reset(api, reset_id, code)

    assert response.status_code == 409, response.text
    assert response.json()["code"] == "not_allowed"
    assert response.json()["reason"] == "reset_expired"
    assert (await login(api, company.main_number, NEW_PASSWORD)).status_code == 401


async def test_an_unknown_login_still_gets_a_reset_id_and_nothing_is_sent(api, company):
    # The company exists but has not registered: its main number is no login yet.
    known = await start_reset(api, company.main_number)
    unknown = await start_reset(api, "no.such.login")
    assert known != unknown

    await asyncio.sleep(1.0)
    assert await reset_messages(api, company.main_number) == []
    # its codes are wrong like any wrong code: the answer does not tell the login is unknown
    response = await confirm_reset(api, unknown, "123456")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["code"]


async def test_an_unknown_reset_id_is_404(api):
    response = await confirm_reset(api, "pwr_nosuchreset", "123456")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_resets_of_one_login_send_at_most_five_codes_an_hour(api, company):
    await register(api, company)
    for _ in range(6):
        await start_reset(api, company.main_number)

    assert len(await wait_for_reset_messages(api, company.main_number, count=5)) == 5
    await asyncio.sleep(1.0)
    assert len(await reset_messages(api, company.main_number)) == 5


# ---------------------------------------------------------------- own password


async def test_change_password_ends_the_other_sessions_but_not_the_callers(system, api, company):
    mine = await register(api, company)
    other = (await login(api, company.main_number, PASSWORD)).json()

    changed = await api.put(
        "/api/v1/me/password",
        headers=bearer(mine),
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )

    assert changed.status_code == 204, changed.text
    assert (await api.get("/api/v1/me", headers=bearer(mine))).status_code == 200
    assert (await refresh(api, mine)).status_code == 200
    assert (await api.get("/api/v1/me", headers=bearer(other))).status_code == 401
    assert (await refresh(api, other)).status_code == 401
    assert (await login(api, company.main_number, PASSWORD)).status_code == 401
    assert (await login(api, company.main_number, NEW_PASSWORD)).status_code == 200
    user_id = await user_id_of(api, mine)
    assert await password_events(system, user_id) == [
        {"company_id": company.id, "user_id": user_id, "how": "change"}
    ]


async def test_the_callers_session_is_kept_after_a_refresh_rotated_it(api, company):
    mine = await register(api, company)
    rotated = (await refresh(api, mine)).json()

    first = await api.put(
        "/api/v1/me/password",
        headers=bearer(rotated),
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )

    assert first.status_code == 204, first.text
    assert (await refresh(api, rotated)).status_code == 200


async def test_a_wrong_current_password_is_422_on_its_field_not_401(api, company):
    tokens = await register(api, company)

    response = await api.put(
        "/api/v1/me/password",
        headers=bearer(tokens),
        json={"current_password": "Wrong-pass-1", "new_password": NEW_PASSWORD},
    )

    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["current_password"]
    assert (await login(api, company.main_number, PASSWORD)).status_code == 200


@pytest.mark.parametrize("new_password", [PASSWORD, "short", "x" * 129])
async def test_the_new_password_follows_the_policy_and_differs(api, company, new_password):
    tokens = await register(api, company)

    response = await api.put(
        "/api/v1/me/password",
        headers=bearer(tokens),
        json={"current_password": PASSWORD, "new_password": new_password},
    )

    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["new_password"]


async def test_changing_the_password_needs_a_token(api):
    response = await api.put(
        "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 401


# ---------------------------------------------------------------- home screen


async def test_preferences_start_empty_in_russian_and_round_trip(api, company):
    tokens = await register(api, company)

    initial = await api.get("/api/v1/me/preferences", headers=bearer(tokens))
    assert initial.status_code == 200, initial.text
    assert initial.json() == {"pinned": [], "locale": "ru"}

    wanted = {"pinned": ["reports", "tariff_change", "transfers"], "locale": "en"}
    saved = await api.put("/api/v1/me/preferences", headers=bearer(tokens), json=wanted)
    assert saved.status_code == 200, saved.text
    assert saved.json() == wanted

    again = await api.get("/api/v1/me/preferences", headers=bearer(tokens))
    assert again.json() == wanted


async def test_preferences_belong_to_each_user(api, company):
    admin = await register(api, company)
    user = await add_user(api, admin, company)
    await api.put(
        "/api/v1/me/preferences", headers=bearer(admin), json={"pinned": ["sms"], "locale": "en"}
    )

    theirs = (await login(api, user["login"], PASSWORD)).json()
    response = await api.get("/api/v1/me/preferences", headers=bearer(theirs))

    assert response.json() == {"pinned": [], "locale": "ru"}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        # an unknown function: the schema's list refuses it, named as the gateway names
        # a list's item (identity named it pinned.1)
        ({"pinned": ["reports", "teleport"], "locale": "ru"}, ["pinned[1]"]),
        ({"pinned": ["reports", "reports"], "locale": "ru"}, ["pinned.1"]),
        ({"pinned": ["reports"], "locale": "de"}, ["locale"]),
        ({"pinned": list(FUNCTIONS)[:13], "locale": "ru"}, ["pinned"]),
    ],
)
async def test_bad_preferences_are_422_by_field_and_nothing_changes(api, company, body, fields):
    tokens = await register(api, company)

    response = await api.put("/api/v1/me/preferences", headers=bearer(tokens), json=body)

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_failed"
    assert [e["field"] for e in response.json()["errors"]] == fields
    stored = await api.get("/api/v1/me/preferences", headers=bearer(tokens))
    assert stored.json() == {"pinned": [], "locale": "ru"}


async def test_preferences_need_a_token(api):
    assert (await api.get("/api/v1/me/preferences")).status_code == 401
    put = await api.put("/api/v1/me/preferences", json={"pinned": [], "locale": "ru"})
    assert put.status_code == 401
