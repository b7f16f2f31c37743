"""The authorization matrix: every REST route × every kind of caller.

Routes are read from the gateway's OpenAPI, so a new route joins the matrix by itself;
each route says who may call it (`x-access`: public, any_user or a permission), and each
needs a sample request here — a route without one fails `test_every_route_has_a_sample`.

Cells: no token, a garbage token, another company's global administrator, a user of the
company without the permission, a user scoped to another subtree, a user scoped to the
subtree where the object lives, and the company's global administrator. The scoped users
hold SCOPED_ROLE's permissions at one region each; every object the matrix acts on lives
in region A. Denied cells must be problems that show nothing of
the company's data.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pyotp
import pytest

from gateway.app import create_app
from services.identity.domain.access import ALL_PERMISSIONS
from services.kit.authz import COMPANY_LEVEL_PERMISSIONS
from services.kit.settings import Settings
from tests.e2e.conftest import NewCompany, new_company
from tests.e2e.test_catalog_catalogue import shared_catalogue
from tests.e2e.test_catalog_hierarchy import add_node, assignable, root_node
from tests.e2e.test_catalog_numbers import fresh_iccid, fresh_msisdn, give_numbers, number_admin
from tests.e2e.test_identity_flows import PASSWORD as ADMIN_PASSWORD
from tests.e2e.test_identity_flows import bearer, register
from tests.e2e.test_identity_users_roles import PASSWORD, create_user
from tests.support.system import RunningSystem
from vm.catalog.v1 import numbers_pb2

STAFF_PASSWORD = PASSWORD

pytestmark = pytest.mark.e2e

CALLERS = (
    "scoped_here",
    "scoped_elsewhere",
    "no_token",
    "garbage_token",
    "other_company_admin",
    "without_permission",
    "global_admin",
)
PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "errors", "reason"}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    access: str
    params: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


SPEC = create_app(Settings(env="dev")).openapi()


def _routes() -> list[Route]:
    found = []
    for path, operations in SPEC["paths"].items():
        for method, operation in operations.items():
            params = tuple(p["name"] for p in operation.get("parameters", []) if p["in"] == "path")
            found.append(Route(method.upper(), path, operation.get("x-access", ""), params))
    return found


ROUTES = _routes()


@dataclass
class World:
    """Company A (whose objects are asked for) and company B (the other one)."""

    api: httpx.AsyncClient
    company: NewCompany
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    refresh: dict[str, str] = field(default_factory=dict)
    own_ids: set[str] = field(default_factory=set)
    nodes: dict[str, str] = field(default_factory=dict)
    # The operator's catalogue (a tariff and a service), shared by every company.
    catalogue: dict[str, str] = field(default_factory=dict)
    # The running system: the operator gives company A its numbers over gRPC.
    system: RunningSystem | None = None

    async def fresh_user(self, caller: str) -> str:
        user = await create_user(self.api, self.headers["global_admin"], roles=["viewer"])
        self.own_ids.add(user["id"])
        return user["id"]

    async def fresh_node(self, caller: str) -> str:
        """A node in region A, where `scoped_here` holds its role."""
        node = await add_node(
            self.api, self.headers["global_admin"], self.nodes["A"], f"Отдел {secrets.token_hex(3)}"
        )
        self.own_ids.add(node["id"])
        return node["id"]

    async def fresh_number(self, caller: str) -> str:
        """A number of company A in region A, given out by the operator."""
        assert self.system is not None
        (msisdn,) = await give_numbers(
            self.system, self.company.id, [self.nodes["A"]], self.catalogue["tariff_id"]
        )
        self.own_ids.add(msisdn)
        return msisdn

    async def fresh_role(self, caller: str) -> str:
        role = (
            await self.api.post(
                "/api/v1/roles",
                headers=self.headers["global_admin"],
                json={"name": f"Роль {secrets.token_hex(4)}", "permissions": ["numbers.view"]},
            )
        ).json()
        self.own_ids.add(role["id"])
        return role["id"]


Factory = Callable[[World, str], Awaitable[Any]]


def constant(value: Any) -> Factory:
    async def make(world: World, caller: str) -> Any:
        return value

    return make


async def _own_refresh_token(world: World, caller: str) -> dict[str, str]:
    return {"refresh_token": world.refresh.get(caller, "ses_x.not-a-token")}


async def _change_own_password(world: World, caller: str) -> dict[str, str]:
    staff = caller in ("without_permission", "scoped_here", "scoped_elsewhere")
    current = STAFF_PASSWORD if staff else ADMIN_PASSWORD
    return {"current_password": current, "new_password": f"New-{secrets.token_hex(6)}"}


async def _new_node_in_region_a(world: World, caller: str) -> dict[str, str]:
    return {
        "parent_id": world.nodes["A"],
        "name": f"Группа {secrets.token_hex(3)}",
        "kind": "group",
    }


async def _new_user_body(world: World, caller: str) -> dict[str, Any]:
    return {
        "login": f"m.{secrets.token_hex(4)}",
        "full_name": "Матрица",
        "email": "m@x.example",
        "password": PASSWORD,
        "assignments": [{"role_id": "viewer"}],
    }


async def _new_role_body(world: World, caller: str) -> dict[str, Any]:
    return {"name": f"Роль {secrets.token_hex(4)}", "permissions": ["numbers.view"]}


async def _unknown_login(world: World, caller: str) -> dict[str, Any]:
    # A login of its own each time: a login's repeated failures are throttled (429).
    return {"login": f"nobody.{secrets.token_hex(4)}", "password": "whatever-123"}


async def _enrol(world: World, caller: str) -> pyotp.TOTP | None:
    """The caller's TOTP app, enrolment started; None for a caller who cannot enrol."""
    started = await world.api.post("/api/v1/me/2fa", headers=world.headers[caller])
    return pyotp.TOTP(started.json()["secret"]) if started.status_code == 200 else None


async def _code_of_a_new_enrolment(world: World, caller: str) -> dict[str, Any]:
    app = await _enrol(world, caller)
    return {"code": app.now() if app else "000000"}


async def _code_with_two_factor_on(world: World, caller: str) -> dict[str, Any]:
    """Two-factor login on for the caller, and a code not used yet to turn it off."""
    app = await _enrol(world, caller)
    if app is None:
        return {"code": "000000"}
    confirmed = await world.api.post(
        "/api/v1/me/2fa/confirm", headers=world.headers[caller], json={"code": app.now()}
    )
    assert confirmed.status_code == 204, confirmed.text
    return {"code": app.at(time.time() + 30)}  # the next step's: each code is used once


async def _fresh_api_key(world: World, caller: str) -> str:
    created = await world.api.post(
        "/api/v1/api-keys",
        headers=world.headers["global_admin"],
        json={"name": "Матрица", "role_id": "viewer"},
    )
    world.own_ids.add(created.json()["api_key"]["id"])
    return created.json()["api_key"]["id"]


def catalogue_item(name: str) -> Factory:
    """An item of the operator's catalogue: not company A's, the same for every caller."""

    async def item(world: World, caller: str) -> str:
        return world.catalogue[name]

    return item


async def _move_a_fresh_number(world: World, caller: str) -> dict[str, Any]:
    """A fresh number of region A to a fresh node of region A."""
    return {
        "msisdns": [await world.fresh_number(caller)],
        "node_id": await world.fresh_node(caller),
    }


def number_with(method: str, tail: str, body: Factory) -> Factory:
    """A fresh number of region A on which the administrator made a change first (what
    a route then undoes: a connected service, a block, a forwarding)."""

    async def make(world: World, caller: str) -> str:
        msisdn = await world.fresh_number(caller)
        done = await world.api.request(
            method,
            f"/api/v1/numbers/{msisdn}{tail}",
            headers=world.headers["global_admin"],
            json=await body(world, caller),
        )
        assert done.status_code == 200, done.text
        return msisdn

    return make


async def _shared_service_body(world: World, caller: str) -> dict[str, Any]:
    return {"service_id": world.catalogue["service_id"]}


async def _shared_tariff_body(world: World, caller: str) -> dict[str, Any]:
    return {"tariff_id": world.catalogue["tariff_id"], "settings": {"minutes": 100}}


async def _fresh_iccid_body(world: World, caller: str) -> dict[str, Any]:
    return {"iccid": fresh_iccid()}


async def _free_number_body(world: World, caller: str) -> dict[str, Any]:
    """A number the operator put in the free pool just now, for a number replacement."""
    assert world.system is not None
    free = fresh_msisdn()
    await number_admin(
        world.system,
        "AddFreeNumbers",
        numbers_pb2.AddFreeNumbersRequest(
            numbers=[numbers_pb2.FreeNumber(msisdn=free, iccid=fresh_iccid())]
        ),
    )
    return {"new_msisdn": free}


# Path parameters: a fresh object of company A for each call.
PATH_VALUES: dict[str, Factory] = {
    "user_id": World.fresh_user,
    "role_id": World.fresh_role,
    "registration_id": constant("reg_unknown"),
    "reset_id": constant("pwr_unknown"),
    "api_key_id": _fresh_api_key,
    "node_id": World.fresh_node,
    "tariff_id": catalogue_item("tariff_id"),
    "service_id": catalogue_item("service_id"),
    "msisdn": World.fresh_number,
    "type": constant("voluntary"),
    "condition": constant("busy"),
}

# Path parameters that must name an object in a particular state for one route.
ROUTE_PATH_VALUES: dict[str, dict[str, Factory]] = {
    "DELETE /api/v1/numbers/{msisdn}/services/{service_id}": {
        "msisdn": number_with("POST", "/services", _shared_service_body)
    },
    "DELETE /api/v1/numbers/{msisdn}/blocks/{type}": {
        "msisdn": number_with("POST", "/blocks", constant({"type": "voluntary"}))
    },
    "DELETE /api/v1/numbers/{msisdn}/forwarding/{condition}": {
        "msisdn": number_with("PUT", "/forwarding/busy", constant({"target": "+7 495 123-45-67"}))
    },
}

# Bodies by route; routes without a body need no entry.
BODIES: dict[str, Factory] = {
    "POST /api/v1/auth/registrations": constant(
        {"main_number": "79990000000", "email": "nobody@nowhere.example"}
    ),
    "POST /api/v1/auth/registrations/{registration_id}/confirm": constant(
        {"sms_code": "000000", "email_code": "000000", "password": "whatever-123"}
    ),
    "POST /api/v1/auth/login": _unknown_login,
    "POST /api/v1/auth/login/mfa": constant({"mfa_token": "mfa_unknown", "code": "000000"}),
    "POST /api/v1/me/2fa/confirm": _code_of_a_new_enrolment,
    "DELETE /api/v1/me/2fa": _code_with_two_factor_on,
    "POST /api/v1/auth/refresh": constant({"refresh_token": "ses_x.not-a-token"}),
    "POST /api/v1/auth/password-resets": constant({"login": "nobody.here"}),
    "POST /api/v1/auth/password-resets/{reset_id}/confirm": constant(
        {"code": "000000", "new_password": "whatever-123"}
    ),
    "PUT /api/v1/me/password": _change_own_password,
    "PUT /api/v1/me/preferences": constant({"pinned": ["tariff_change"], "locale": "ru"}),
    "POST /api/v1/auth/logout": _own_refresh_token,
    "POST /api/v1/users": _new_user_body,
    "PATCH /api/v1/users/{user_id}": constant({"full_name": "Переименован"}),
    "PUT /api/v1/users/{user_id}/assignments": constant([{"role_id": "viewer"}]),
    "POST /api/v1/roles": _new_role_body,
    "POST /api/v1/api-keys": constant({"name": "Матрица", "role_id": "viewer"}),
    "POST /api/v1/hierarchy/nodes": _new_node_in_region_a,
    "PATCH /api/v1/hierarchy/nodes/{node_id}": constant({"name": "Переименованный отдел"}),
    "PATCH /api/v1/roles/{role_id}": constant({"name": f"Другое имя {secrets.token_hex(3)}"}),
    "PATCH /api/v1/numbers/{msisdn}": constant({"label": "Матрица"}),
    "POST /api/v1/numbers/move": _move_a_fresh_number,
    "PUT /api/v1/numbers/{msisdn}/tariff": _shared_tariff_body,
    "PATCH /api/v1/numbers/{msisdn}/tariff/settings": constant({"settings": {"minutes": 200}}),
    "POST /api/v1/numbers/{msisdn}/services": _shared_service_body,
    "POST /api/v1/numbers/{msisdn}/blocks": constant({"type": "voluntary"}),
    "PUT /api/v1/numbers/{msisdn}/forwarding/{condition}": constant({"target": "+7 495 123-45-67"}),
    "POST /api/v1/numbers/{msisdn}/sim-replacement": _fresh_iccid_body,
    "POST /api/v1/numbers/{msisdn}/number-replacement": _free_number_body,
}


def needs_body(route: Route) -> bool:
    return "requestBody" in SPEC["paths"][route.path][route.method.lower()]


def test_every_route_has_a_sample_and_says_who_may_call_it():
    for route in ROUTES:
        assert route.access, f"{route.key} has no x-access (use PUBLIC, ANY_USER or needs())"
        for param in route.params:
            assert param in PATH_VALUES, f"add a PATH_VALUES factory for {param} ({route.key})"
        if needs_body(route):
            assert route.key in BODIES, f"add a sample body for {route.key} to BODIES"


@pytest.fixture
async def world(api, company, system, identity_channel) -> World:
    admin_tokens = await register(api, company)
    world = World(api=api, company=company, system=system)
    world.headers["global_admin"] = bearer(admin_tokens)
    world.refresh["global_admin"] = admin_tokens["refresh_token"]
    world.headers["no_token"] = {}
    world.headers["garbage_token"] = {"authorization": "Bearer garbage.garbage.garbage"}

    # a user of the company with a role that carries no permission a route asks for
    narrow = (
        await api.post(
            "/api/v1/roles",
            headers=world.headers["global_admin"],
            json={"name": "Узкая роль", "permissions": [UNASKED_PERMISSION]},
        )
    ).json()
    narrow_user = await create_user(api, world.headers["global_admin"], roles=[narrow["id"]])
    login = await api.post(
        "/api/v1/auth/login", json={"login": narrow_user["login"], "password": PASSWORD}
    )
    world.headers["without_permission"] = bearer(login.json())
    world.refresh["without_permission"] = login.json()["refresh_token"]
    world.own_ids |= {narrow["id"], narrow_user["id"]}

    await add_scoped_users(world)
    world.catalogue = await shared_catalogue(system)

    other_tokens = await register(api, await new_company(system, identity_channel))
    world.headers["other_company_admin"] = bearer(other_tokens)
    world.refresh["other_company_admin"] = other_tokens["refresh_token"]
    admin_id = (await api.get("/api/v1/me", headers=world.headers["global_admin"])).json()
    world.own_ids.add(admin_id["user"]["id"])
    return world


SCOPED_ROLE = frozenset(
    {
        "hierarchy.manage",
        "numbers.view",
        "numbers.tariff",
        "numbers.services",
        "numbers.blocks",
        "numbers.forwarding",
        "numbers.sim",
    }
)
# The `without_permission` user's one permission: one that no route asks for.
UNASKED_PERMISSION = min(set(ALL_PERMISSIONS) - {route.access for route in ROUTES})
# Routes whose body names an object of company A: another company gets 404 for them too.
BODY_NAMES_AN_OBJECT = {"POST /api/v1/hierarchy/nodes", "POST /api/v1/numbers/move"}
# A number outside a caller's subtrees does not exist for it: a list shows only the
# subtrees' numbers, and a number elsewhere is not found (404), never "forbidden".
SCOPE_FILTERED_LISTS = {"GET /api/v1/numbers", "GET /api/v1/numbers/export"}
HIDDEN_OUTSIDE_SCOPE = {
    "GET /api/v1/numbers/{msisdn}",
    "PATCH /api/v1/numbers/{msisdn}",
    "POST /api/v1/numbers/move",
    "PUT /api/v1/numbers/{msisdn}/tariff",
    "PATCH /api/v1/numbers/{msisdn}/tariff/settings",
    "POST /api/v1/numbers/{msisdn}/services",
    "DELETE /api/v1/numbers/{msisdn}/services/{service_id}",
    "POST /api/v1/numbers/{msisdn}/blocks",
    "DELETE /api/v1/numbers/{msisdn}/blocks/{type}",
    "PUT /api/v1/numbers/{msisdn}/forwarding/{condition}",
    "DELETE /api/v1/numbers/{msisdn}/forwarding/{condition}",
    "POST /api/v1/numbers/{msisdn}/sim-replacement",
    "POST /api/v1/numbers/{msisdn}/number-replacement",
}
# Routes whose path names the operator's catalogue, which every company reads: another
# company's administrator gets it as well (200), not 404.
SHARED_OBJECT_ROUTES = {"GET /api/v1/tariffs/{tariff_id}", "GET /api/v1/services/{service_id}"}


async def add_scoped_users(world: World) -> None:
    """Regions A and B under the root, and a user holding SCOPED_ROLE at each."""
    admin = world.headers["global_admin"]
    root = await root_node(world.api, admin)
    world.nodes["A"] = (await add_node(world.api, admin, root, "Регион А", "region"))["id"]
    world.nodes["B"] = (await add_node(world.api, admin, root, "Регион Б", "region"))["id"]
    role = (
        await world.api.post(
            "/api/v1/roles",
            headers=admin,
            json={"name": "Иерархия региона", "permissions": sorted(SCOPED_ROLE)},
        )
    ).json()
    world.own_ids |= {role["id"], world.nodes["A"], world.nodes["B"]}
    for caller, region in (("scoped_here", "A"), ("scoped_elsewhere", "B")):
        user = await create_user(world.api, admin)
        await assignable(
            world.api, admin, user["id"], [{"role_id": role["id"], "node_id": world.nodes[region]}]
        )
        login = await world.api.post(
            "/api/v1/auth/login", json={"login": user["login"], "password": PASSWORD}
        )
        world.headers[caller] = bearer(login.json())
        world.refresh[caller] = login.json()["refresh_token"]
        world.own_ids.add(user["id"])


def expected_status(route: Route, caller: str) -> set[int] | None:
    """None: the same as without a token (public routes ignore credentials)."""
    allowed = {200, 201, 202, 204}
    if route.access == "public":
        return None
    if caller in ("no_token", "garbage_token"):
        return {401}
    if caller == "other_company_admin" and route.key not in SHARED_OBJECT_ROUTES:
        return {404} if route.params or route.key in BODY_NAMES_AN_OBJECT else allowed
    if route.access == "any_user" or caller == "global_admin":
        return allowed
    if caller == "without_permission":
        return {403}
    held_here = route.access in SCOPED_ROLE and route.access not in COMPANY_LEVEL_PERMISSIONS
    if held_here and route.key in SCOPE_FILTERED_LISTS:
        return allowed
    if held_here and caller == "scoped_elsewhere" and route.key in HIDDEN_OUTSIDE_SCOPE:
        return {404}
    return allowed if held_here and caller == "scoped_here" else {403}


async def call(world: World, route: Route, caller: str) -> httpx.Response:
    path = route.path
    for param in route.params:
        factory = ROUTE_PATH_VALUES.get(route.key, {}).get(param, PATH_VALUES[param])
        path = path.replace(f"{{{param}}}", str(await factory(world, caller)))
    body = await BODIES[route.key](world, caller) if route.key in BODIES else None
    return await world.api.request(route.method, path, json=body, headers=world.headers[caller])


def assert_leaks_nothing(world: World, response: httpx.Response, route: Route, caller: str):
    body = response.json()
    assert set(body) <= PROBLEM_KEYS, (route.key, caller, body)
    for own_id in world.own_ids:
        assert own_id not in response.text, (route.key, caller, own_id)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.key)
async def test_route_answers_each_caller_as_it_should(world: World, route: Route):
    baseline = None
    for caller in CALLERS:
        response = await call(world, route, caller)
        assert response.status_code < 500, (route.key, caller, response.text)
        expected = expected_status(route, caller)
        if expected is None:
            baseline = baseline or response.status_code
            assert response.status_code == baseline, (route.key, caller, response.text)
            continue
        assert response.status_code in expected, (route.key, caller, response.text)
        if response.status_code >= 400:
            assert_leaks_nothing(world, response, route, caller)
        elif caller == "other_company_admin":
            for own_id in world.own_ids:
                assert own_id not in response.text, (route.key, own_id)
