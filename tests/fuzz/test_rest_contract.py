"""The REST contract, fuzzed: schemathesis generates requests from the committed
openapi.json (every phase: examples, coverage, fuzzing, and the stateful phase, which
follows the OpenAPI links to real ids) and sends them to the whole running system, with
every check on, as two callers: a company administrator, and a department manager (the
preset role `department_manager` at one region of the hierarchy).

It fails on any server error, an undocumented status or content type, a response that
breaks its schema, a schema-valid request refused (422) or a schema-violating one taken.
What is configured away, and why, is in schemathesis.toml beside this file.
`make fuzz` runs it; VM_FUZZ_SEED, VM_FUZZ_EXAMPLES and VM_FUZZ_SECONDS tune a run.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc
import httpx
import pytest

from tests.e2e.conftest import new_company
from tests.e2e.test_catalog_hierarchy import add_node, assignable, root_node
from tests.e2e.test_catalog_numbers import give_numbers
from tests.e2e.test_identity_flows import bearer, register
from tests.e2e.test_identity_users_roles import PASSWORD, create_user
from tests.support.logs import slow_and_failed_calls
from tests.support.servers import ROOT
from tests.support.system import RunningSystem

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
SEED = int(os.environ.get("VM_FUZZ_SEED", "13"))
EXAMPLES = int(os.environ.get("VM_FUZZ_EXAMPLES", "25"))
# Each caller's run stops after this long (the stateful phase would go on otherwise).
SECONDS = int(os.environ.get("VM_FUZZ_SECONDS", "140"))
# The bar, for both callers together.
MIN_CASES = 3_000


async def make_callers(system: RunningSystem, api: httpx.AsyncClient) -> dict[str, str]:
    """A company administrator and a department manager of one region, each a bearer
    token; the region holds numbers, so the manager's lists and cards are not empty."""
    async with grpc.aio.insecure_channel(system.settings.identity_addr) as channel:
        company = await new_company(system, channel)
    admin = bearer(await register(api, company))
    root = await root_node(api, admin)
    region = (await add_node(api, admin, root, "Регион фаззера", "region"))["id"]
    manager = await create_user(api, admin, login=f"manager.{secrets.token_hex(4)}")
    await assignable(
        api, admin, manager["id"], [{"role_id": "department_manager", "node_id": region}]
    )
    await give_numbers(system, company.id, [region, region, region, ""])
    login = await api.post(
        "/api/v1/auth/login", json={"login": manager["login"], "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    # The manager first: the administrator's run may delete or re-scope the manager (its
    # stateful phase follows the user list to real ids), which would leave the manager's
    # run with nothing but 401s.
    return {"manager": bearer(login.json())["authorization"], "admin": admin["authorization"]}


def fuzz(url: str, authorization: str, out: Path) -> tuple[int, str]:
    """One schemathesis run as one caller: its exit code and its report. Every check runs
    by default; `--checks all` is not given, as a check named on the command line would
    override the per-operation switches of schemathesis.toml."""
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "--no-color",
        "run",
        str(ROOT / "openapi.json"),
        "--url",
        url,
        "--header",
        f"Authorization: {authorization}",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(EXAMPLES),
        "--max-time",
        str(SECONDS),
        "--seed",
        str(SEED),
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--output-truncate",
        "false",
    ]
    # The hook imports the gateway's key pattern: the project's root is on the path.
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HERE / "hooks.py"), "PYTHONPATH": str(ROOT)}
    with out.open("w") as log:
        done = subprocess.run(
            command,
            cwd=out.parent,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=SECONDS + 120,
        )
    return done.returncode, out.read_text()


def cases_run(report: str) -> int:
    found = re.search(r"Test cases:\s*\n\s*(\d+) generated", report)
    assert found, report[-3000:]
    return int(found.group(1))


@pytest.mark.timeout(2 * SECONDS + 600)
async def test_the_rest_contract_holds_under_fuzzing(system: RunningSystem, api) -> None:
    callers = await make_callers(system, api)
    work = Path(tempfile.mkdtemp(prefix="vm-fuzz-"))
    total, failed = 0, []
    for name, authorization in callers.items():
        code, report = fuzz(system.gateway_url, authorization, work / f"{name}.txt")
        cases = cases_run(report)
        total += cases
        summary = report[report.find("=== SUMMARY ===") :]
        print(f"\n--- {name}: {cases} cases, exit {code}\n{summary}")
        if code != 0:
            failed.append(f"{name} (exit {code}): {work / f'{name}.txt'}\n{report[-20000:]}")
    if failed:
        # Before the reports: where the system's time went, read from its logs.
        failed.insert(0, f"slow calls and warnings:\n{slow_and_failed_calls(system.log_dir)}")
    assert not failed, "\n\n".join(failed)
    assert total >= MIN_CASES, f"only {total} cases"
