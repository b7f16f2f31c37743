"""deploy/: the image's smoke import (deploy/smoke.py, the one list the Dockerfile runs) and
the lock (deploy/lockfile.py), checked without a Docker engine.

- The smoke import passes here, so a module it names that is gone (or broken) fails a test
  before it fails `docker build`.
- Every module the images carry imports only packages that the image's venv has: the
  services, the workers and the gateway only what deploy/requirements/runtime.txt installs;
  the dev sink and the demo only that and deploy/requirements/devstack.txt. A dev-only
  package (grpcio-tools, secantusdb, aiosmtpd, honcho, rich, pytest…) imported by a service
  fails here, read from the sources, whatever this venv has.
- pyproject.toml, requirements.lock.txt and its exports agree (`make lock` was run), and the
  check notices when they do not.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pytest

from deploy import lockfile, smoke
from services.kit.settings import SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"services", "gateway", "demo", "deploy", "bench", "tests", "vm"}
# What each image carries and runs, as source trees and files (gen/vm is generated code).
RUNTIME_SOURCES = ("services", "gateway", "gen/vm", "deploy/smoke.py")
DEVSTACK_SOURCES = ("demo", "deploy/devsink.py")


def python_files(paths: Iterable[str]) -> list[Path]:
    files: list[Path] = []
    for relative in paths:
        path = ROOT / relative
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


def imported_modules(path: Path) -> set[tuple[str, tuple[str, ...]]]:
    """(module, names imported from it) for every absolute import in a file, wherever it is
    (functions, `if TYPE_CHECKING:` and `try:` blocks included)."""
    found: set[tuple[str, tuple[str, ...]]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update((alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module, tuple(alias.name for alias in node.names)))
    return found


@cache
def owners() -> dict[Path, str]:
    """Every file of every installed distribution -> that distribution's canonical name."""
    owned: dict[Path, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue
        for file in dist.files or ():
            owned[Path(str(dist.locate_file(file))).resolve()] = lockfile.canonical(name)
    return owned


def distribution_of(module: str, names: tuple[str, ...]) -> str | None:
    """The installed distribution that provides `module` (for a namespace package such as
    `google`, the one that provides the name imported from it)."""
    for candidate in (module, *(f"{module}.{name}" for name in names)):
        try:
            spec = importlib.util.find_spec(candidate)
            origin = spec.origin if spec is not None else None
        except ImportError:
            origin = None
        except ValueError:  # imported already, with no __spec__ (cryptography does that)
            origin = getattr(sys.modules[candidate], "__file__", None)
        if origin in (None, "built-in", "frozen"):
            continue
        owner = owners().get(Path(origin).resolve())
        if owner is not None:
            return owner
    return None


def third_party_imports(paths: Iterable[str]) -> dict[str, set[str]]:
    """Distribution (or `?module` when none is installed) -> the files that import it."""
    found: dict[str, set[str]] = {}
    for path in python_files(paths):
        for module, names in imported_modules(path):
            top = module.split(".")[0]
            if top in FIRST_PARTY or top in sys.stdlib_module_names or top == "__future__":
                continue
            owner = distribution_of(module, names) or f"?{module}"
            found.setdefault(owner, set()).add(str(path.relative_to(ROOT)))
    return found


def export_names(export: str) -> set[str]:
    path, _ = lockfile.EXPORTS[export]
    return {entry.name for entry in lockfile.read_requirements(path).values()}


def test_the_smoke_import_of_both_images_passes():
    """`python -m deploy.smoke --devstack`: what the Dockerfile runs in the dev image (the
    runtime image runs the same list without the dev sink and the demo)."""
    result = subprocess.run(
        [sys.executable, "-m", "deploy.smoke", "--devstack"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_the_smoke_import_reports_a_module_that_is_gone(capsys, monkeypatch):
    monkeypatch.setattr(smoke, "RUNTIME_MODULES", ("vm.identity.v1.no_such_module_pb2_grpc",))
    assert smoke.main([]) == 1
    assert "no_such_module_pb2_grpc" in capsys.readouterr().err


def test_the_smoke_list_starts_every_process_of_the_image():
    """Each `python -m X` of vm-run.sh and of the Procfile (but the embedded database, which
    only `make run` has) is imported by the list: X itself, or the `main` its `__main__`
    runs, or its `__main__` when that is guarded."""
    listed = set(smoke.modules(devstack=True))
    commands = (ROOT / "deploy" / "vm-run.sh").read_text() + (ROOT / "Procfile").read_text()
    targets = set(re.findall(r"exec python -m \"?([\w.$]+)\"?", commands))
    embedded_database = "deploy.embedded_mongo"  # `make run`'s alone; no image holds it
    targets = {t for t in targets if "$" not in t and t != embedded_database}
    targets |= {f"services.{name}" for name in SERVICE_NAMES}  # vm-run's services.$process
    missing = {
        target
        for target in targets
        if not {target, f"{target}.main", f"{target}.__main__"} & listed
    }
    assert not missing, f"not in deploy/smoke.py: {sorted(missing)}"
    assert not set(smoke.DEVSTACK_MODULES) & set(smoke.RUNTIME_MODULES)


def test_the_runtime_image_has_every_package_the_services_workers_and_gateway_import():
    allowed = export_names("runtime")
    imports = third_party_imports(RUNTIME_SOURCES)
    # The smoke list's own third-party modules (the health check's) too.
    for module in smoke.RUNTIME_MODULES:
        if module.split(".")[0] not in FIRST_PARTY:
            imports.setdefault(distribution_of(module, ()) or f"?{module}", set()).add(
                "deploy/smoke.py"
            )
    outside = {owner: sorted(files) for owner, files in imports.items() if owner not in allowed}
    assert not outside, (
        "imported by what the runtime image runs, but not in deploy/requirements/runtime.txt "
        f"(a dev-only package, or a dependency missing from pyproject.toml): {outside}"
    )
    # What the image must not have is indeed absent from it.
    for dev_only in ("grpcio-tools", "secantusdb", "aiosmtpd", "honcho", "rich", "pytest"):
        assert dev_only not in allowed


def test_the_dev_image_has_every_package_the_dev_sink_and_the_demo_import():
    allowed = export_names("runtime") | export_names("devstack")
    imports = third_party_imports(DEVSTACK_SOURCES)
    outside = {owner: sorted(files) for owner, files in imports.items() if owner not in allowed}
    assert not outside, (
        "imported by the dev sink or the demo, but in neither deploy/requirements/runtime.txt "
        f"nor devstack.txt: {outside}"
    )


def test_the_import_check_sees_a_dev_only_package(tmp_path, monkeypatch):
    """The check above would notice a service importing, say, rich or grpc_tools."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "leak.py").write_text(
        "import grpc\nfrom rich.console import Console\nfrom grpc_tools import protoc\n"
    )
    imports = third_party_imports(["services"])
    assert {"grpcio", "rich", "grpcio-tools"} <= set(imports)
    assert not {"rich", "grpcio-tools"} & export_names("runtime")


def test_pyproject_the_lock_and_its_exports_agree():
    assert lockfile.problems() == [], "run `make lock`"


def test_the_lock_check_notices_drift(tmp_path, monkeypatch):
    text = lockfile.LOCK.read_text()
    lock = tmp_path / lockfile.LOCK.name
    exports = {}
    for name, (path, extra) in lockfile.EXPORTS.items():
        exports[name] = (tmp_path / path.name, extra)
        shutil.copy(path, exports[name][0])
    monkeypatch.setattr(lockfile, "ROOT", tmp_path)
    monkeypatch.setattr(lockfile, "EXPORTS", exports)
    monkeypatch.setattr(lockfile, "LOCK", lock)

    lock.write_text(text)
    assert lockfile.problems() == []

    # A pin of pyproject.toml that the lock does not have.
    lock.write_text(text.replace("fastapi==", "fastapi==0.0.1+", 1))
    assert any("fastapi" in problem for problem in lockfile.problems())
    lock.write_text(text)

    # An export whose hashes are not the lock's.
    runtime = exports["runtime"][0]
    runtime_text = runtime.read_text()
    runtime.write_text(re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, runtime_text, count=1))
    assert any("differs" in problem for problem in lockfile.problems())

    # A dev-only package in the runtime image's export.
    ruff = re.search(r"^ruff==.*?(?=^\S)", text, flags=re.MULTILINE | re.DOTALL)
    assert ruff is not None
    runtime.write_text(runtime_text + ruff.group(0))
    assert any("dev-only" in problem and "ruff" in problem for problem in lockfile.problems())


def test_the_dockerfile_installs_only_from_the_lock_and_runs_the_smoke_list():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    instructions = re.sub(r"\\\n", " ", dockerfile)
    for line in instructions.splitlines():
        if re.search(r"\bpip\b.*\binstall\b", line) and not line.lstrip().startswith("#"):
            assert "--require-hashes" in line and "--no-deps" in line, line
    for path, _ in lockfile.EXPORTS.values():
        assert str(path.relative_to(ROOT)) in dockerfile
    assert "python -I -m deploy.smoke --devstack" in dockerfile
    assert "python -I -m deploy.smoke\n" in dockerfile
    froms = re.findall(r"^FROM (\S+)", dockerfile, flags=re.MULTILINE)
    stages = set(re.findall(r"^FROM \S+ AS (\S+)", dockerfile, flags=re.MULTILINE))
    images = [image for image in froms if image not in stages]
    assert images and all(re.search(r"@sha256:[0-9a-f]{64}$", image) for image in images)
    # No import list of its own: the one list is deploy/smoke.py.
    assert not re.search(r"import (vm|services|gateway|demo|deploy)\b", dockerfile)


@pytest.mark.parametrize("tool", ["hadolint", "kubectl", "kubernetes-validate", "check-jsonschema"])
def test_the_deploy_linters_come_with_the_venv(tool):
    """`make lint-deploy` takes them from the venv (pyproject.toml's dev extra)."""
    assert (Path(sys.executable).parent / tool).exists()
