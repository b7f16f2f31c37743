"""Identity's costs through the gateway: logging in, and a call under a custom role.

- `login`: `POST /api/v1/auth/login` at N keep-alive connections, each connection logging
  in again and again as its own user (N users created through `POST /api/v1/users` by the
  demo company's administrator) with the right password. Successes only: identity
  throttles failures (per login and per client address, and every connection comes from
  127.0.0.1), and one login per connection never has two attempts on it at once. Beside
  it, the argon2id hash and verify times of identity's own `PASSWORDS`, in one thread of
  this process before the system starts, and their parameters: verifying the password is
  most of a login's CPU, and it bounds logins/s at cores ÷ verify time.
- `authorized`: `GET /api/v1/users?page_size=10` by a user who is no administrator and
  whose one role is a custom role with `users.manage`: on every call identity loads the
  user, checks the session and loads the company's custom roles to decide. Then one
  authorized number-level call by a user scoped to a subtree: two new nodes (a branch and
  its department, `POST /api/v1/hierarchy/nodes`) with `SCOPED_NUMBERS` numbers the
  operator gives the department, a user whose one role is `department_manager` at the
  branch; `GET /api/v1/numbers/{msisdn}` (the card of one of them) and a page of
  `GET /api/v1/numbers` as that user — catalog asks identity for the caller's access and
  puts the subtree into the query; a number outside the subtree is checked to be 404.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import statistics
import time
from typing import Any

import httpx

from bench.procs import CpuMeter, wait_until_quiet
from bench.web import (
    LoadOptions,
    check_json,
    demo_admin_token,
    measure,
    system_processes,
    whole_system,
)
from tests.support.servers import MongoServer
from tests.support.system import RunningSystem

PASSWORD = "Bench-Passw0rd!"  # of every user the benchmarks create
ARGON2_RUNS = 20
LIST_USERS = "/api/v1/users?page_size=10"
SCOPED_NUMBERS = 100
SCOPED_FIRST_MSISDN = 79260000000  # the scoped user's numbers: 7926000xxxx
SCOPED_PAGE = "/api/v1/numbers?page_size=50"


def argon2_times(runs: int, quiet_wait: float) -> dict[str, Any]:
    """Median time of identity's `PASSWORDS.hash` and `.verify` (one thread, `runs` each),
    and the parameters they use. Imported here: it needs identity's generated code."""
    from services.identity.service.base import PASSWORDS

    password = secrets.token_urlsafe(12)
    waited = wait_until_quiet(quiet_wait)
    meter = CpuMeter({"argon2id (this process)": os.getpid()})
    hashes, verifies, cpu = [], [], []  # seconds: wall, wall, this thread's CPU per hash
    meter.start()
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.thread_time()
        hashed = PASSWORDS.hash(password)
        hashes.append(time.perf_counter() - started)
        cpu.append(time.thread_time() - started_cpu)
        started = time.perf_counter()
        PASSWORDS.verify(hashed, password)
        verifies.append(time.perf_counter() - started)
    meter.stop()
    return {
        "type": f"argon2{PASSWORDS.type.name.lower()}",
        "memory_kib": PASSWORDS.memory_cost,
        "time_cost": PASSWORDS.time_cost,
        "parallelism": PASSWORDS.parallelism,
        "runs": runs,
        "hash_ms": {
            "p50": 1000 * statistics.median(hashes),
            "min": 1000 * min(hashes),
            "cpu_p50": 1000 * statistics.median(cpu),  # less sensitive to other work
        },
        "verify_ms": {"p50": 1000 * statistics.median(verifies), "min": 1000 * min(verifies)},
        "cpu_percent": meter.percent,
        "waited_for_idle_machine_s": waited,
    }


def _answer(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.is_error:
        raise RuntimeError(f"{what} answered {response.status_code}: {response.text[:300]}")
    return response.json()


async def _create_user(
    api: httpx.AsyncClient, admin_token: str, login: str, assignments: list[dict[str, str]]
) -> dict[str, Any]:
    created = await api.post(
        "/api/v1/users",
        json={
            "login": login,
            "full_name": f"Нагрузочный тест {login}",
            "email": f"{login}@bench.example",
            "password": PASSWORD,
            "assignments": assignments,
        },
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    return _answer(created, f"POST /api/v1/users ({login})")


async def _log_in(api: httpx.AsyncClient, login: str) -> str:
    answer = await api.post("/api/v1/auth/login", json={"login": login, "password": PASSWORD})
    tokens = _answer(answer, f"POST /api/v1/auth/login ({login})")
    if "access_token" not in tokens:
        raise RuntimeError(f"logging in as {login} gave no tokens: {tokens}")
    return tokens["access_token"]


async def login_bodies(system: RunningSystem, count: int) -> list[str]:
    """`count` users, no role, created by the demo administrator, each logged in once;
    the login bodies (JSON) for the load, one per user."""
    admin_token, _ = await demo_admin_token(system)
    logins = [f"bench.login.{n:03d}" for n in range(count)]
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:
        for login in logins:
            await _create_user(api, admin_token, login, [])
        for login in logins:
            await _log_in(api, login)
    return [json.dumps({"login": login, "password": PASSWORD}) for login in logins]


async def custom_role_token(system: RunningSystem) -> str:
    """A custom role with `users.manage` only, a user whose one role it is (company-wide),
    logged in: the user's access token."""
    admin_token, _ = await demo_admin_token(system)
    login = "bench.users-manager"
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:
        role = await api.post(
            "/api/v1/roles",
            json={"name": "Нагрузочный тест: пользователи", "permissions": ["users.manage"]},
            headers={"Authorization": f"Bearer {admin_token}"},
        )
        role_id = _answer(role, "POST /api/v1/roles")["id"]
        await _create_user(api, admin_token, login, [{"role_id": role_id}])
        token = await _log_in(api, login)
        # The permission is the custom role's and nothing more: another one is refused.
        refused = await api.get(
            "/api/v1/audit-events", headers={"Authorization": f"Bearer {token}"}
        )
        if refused.status_code != 403:
            raise RuntimeError(
                f"GET /api/v1/audit-events by {login} answered {refused.status_code}, not 403"
            )
    return token


async def scoped_number_user(system: RunningSystem) -> dict[str, str]:
    """A branch and its department, numbers in the department, a department manager of the
    branch, logged in: its token, one of its numbers and a number outside its subtree."""
    from bench.numbers import add_numbers
    from demo.data import ROMASHKA_NUMBERS, STANDARD

    admin_token, _ = await demo_admin_token(system)
    admin = {"Authorization": f"Bearer {admin_token}"}
    login = "bench.scoped-manager"
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:
        company_id = _answer(await api.get("/api/v1/me", headers=admin), "GET /me")["company"]["id"]
        nodes = _answer(await api.get("/api/v1/hierarchy", headers=admin), "GET /hierarchy")
        [root] = [n for n in nodes["nodes"] if n["parent_id"] is None]
        made = {}
        for name, kind, parent in (
            ("branch", "city", root["id"]),
            ("department", "department", None),
        ):
            node = await api.post(
                "/api/v1/hierarchy/nodes",
                json={
                    "parent_id": parent or made["branch"],
                    "name": f"Нагрузочный тест: {name}",
                    "kind": kind,
                },
                headers=admin,
            )
            made[name] = _answer(node, "POST /api/v1/hierarchy/nodes")["id"]
        msisdns = [str(SCOPED_FIRST_MSISDN + n) for n in range(SCOPED_NUMBERS)]
        await add_numbers(system, company_id, msisdns, [made["department"]], STANDARD)
        user = await _create_user(api, admin_token, login, [])
        assignments = [{"role_id": "department_manager", "node_id": made["branch"]}]
        for _ in range(100):  # identity learns new nodes from catalog's events, a moment later
            assigned = await api.put(
                f"/api/v1/users/{user['id']}/assignments", json=assignments, headers=admin
            )
            if assigned.status_code != 404:  # 404: the node is not known to identity yet
                _answer(assigned, "PUT /api/v1/users/{id}/assignments")
                break
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("identity never learnt the benchmark's branch node")
        token = await _log_in(api, login)
        outside = ROMASHKA_NUMBERS[0].msisdn
        seen = await api.get(
            f"/api/v1/numbers/{outside}", headers={"Authorization": f"Bearer {token}"}
        )
        if seen.status_code != 404:
            raise RuntimeError(f"a number outside the subtree answered {seen.status_code}")
    return {"token": token, "msisdn": msisdns[-1], "branch": made["branch"]}


def bench_scoped_numbers(
    system: RunningSystem, mongo: MongoServer, options: LoadOptions
) -> dict[str, Any]:
    """The card and a page of the list as the subtree-scoped user."""
    user = asyncio.run(scoped_number_user(system))
    headers = [f"Authorization: Bearer {user['token']}"]
    port = system.settings.gateway_port
    card = f"/api/v1/numbers/{user['msisdn']}"
    if check_json(port, card, headers)["msisdn"] != user["msisdn"]:
        raise RuntimeError(f"GET {card} answered another number")
    page = check_json(port, SCOPED_PAGE, headers)["items"]
    if len(page) != 50 or any(not n["msisdn"].startswith("7926000") for n in page):
        raise RuntimeError(f"GET {SCOPED_PAGE} answered numbers outside the subtree")
    processes = system_processes(system, mongo)
    found = {}
    for name, path in (("card", card), ("page", SCOPED_PAGE)):
        found[name] = measure(port, path, options, processes, headers)
        found[name]["path"] = path
    return found


def bench_login(mongo: MongoServer, amqp_url: str, options: LoadOptions) -> dict[str, Any]:
    argon2 = argon2_times(ARGON2_RUNS, options.quiet_wait)  # before the system runs
    with whole_system(mongo, amqp_url) as system:
        bodies = asyncio.run(login_bodies(system, options.connections))
        port = system.settings.gateway_port
        processes = system_processes(system, mongo)
        result = measure(port, "/api/v1/auth/login", options, processes, bodies=bodies)
        result["users"] = len(bodies)
        result["argon2id"] = argon2
        result["log_dir"] = str(system.log_dir)
        return result


def bench_authorized(mongo: MongoServer, amqp_url: str, options: LoadOptions) -> dict[str, Any]:
    with whole_system(mongo, amqp_url) as system:
        token = asyncio.run(custom_role_token(system))
        headers = [f"Authorization: Bearer {token}"]
        port = system.settings.gateway_port
        if not check_json(port, LIST_USERS, headers)["items"]:
            raise RuntimeError(f"GET {LIST_USERS} answered no users")
        result = measure(port, LIST_USERS, options, system_processes(system, mongo), headers)
        result["path"] = LIST_USERS
        result["subtree_scoped"] = bench_scoped_numbers(system, mongo, options)
        result["log_dir"] = str(system.log_dir)
        return result
