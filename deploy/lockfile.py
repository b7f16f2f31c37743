"""The lock: requirements.lock.txt pins every package a developer, CI or the image installs —
the direct dependencies of pyproject.toml with all their extras and every transitive package,
each with the hashes of its files — and deploy/requirements/*.txt are its exports for the
image: the same entries, byte for byte, cut down to what one venv of the image needs.

    python -m deploy.lockfile lock [--upgrade]   `make lock`: resolve pyproject.toml with uv
    python -m deploy.lockfile check              pyproject.toml, the lock and the exports agree
    python -m deploy.lockfile extraneous         what this venv has that the lock does not name

The lock is a requirements file with hashes (`uv pip compile --universal --generate-hashes`):
it installs with plain pip (`pip install --require-hashes --no-deps`), on a developer's
machine and in the image alike, and names no index (nor any other host). Standard library
only, but for uv (from the lock, in the venv) that `lock` runs.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import subprocess
import sys
import sysconfig
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.lock.txt"
# Export name -> (file, what it installs). `None` is [project].dependencies; otherwise the
# extra of that name alone (installed beside the runtime venv, or in a venv of its own).
EXPORTS: dict[str, tuple[Path, str | None]] = {
    # The runtime image's venv: every service, worker and the gateway.
    "runtime": (ROOT / "deploy" / "requirements" / "runtime.txt", None),
    # The image's build stage only: grpcio-tools, which generates the protobuf code.
    "protoc": (ROOT / "deploy" / "requirements" / "protoc.txt", "protoc"),
    # The `dev` image: the dev sink and the demo loader, added to the runtime venv.
    "devstack": (ROOT / "deploy" / "requirements" / "devstack.txt", "devstack"),
}
# Where the lock is resolved for: every platform, Python 3.11 and newer (requires-python).
COMPILE_ARGS = (
    "--quiet",
    "--universal",
    "--python-version",
    "3.11",
    "--generate-hashes",
    "--custom-compile-command",
    "make lock",
)

_PIN = re.compile(
    r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;]+)\s*(?:;.*)?$"
)
_HASH = re.compile(r"--hash=(\S+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Entry:
    name: str
    version: str
    marker: str
    hashes: frozenset[str]


def read_requirements(path: Path) -> dict[tuple[str, str], Entry]:
    """The entries of a requirements file that uv wrote: `name==version [; marker]` lines
    with their `--hash=` continuation lines, keyed by (canonical name, marker)."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line and not pending:
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        logical.append(pending)
    entries: dict[tuple[str, str], Entry] = {}
    for line in logical:
        requirement, _, _ = line.partition(" --hash=")
        name_version, _, marker = requirement.partition(";")
        match = _PIN.match(name_version)
        if match is None:
            raise ValueError(f"{path.name}: not a pinned requirement: {line.strip()!r}")
        entry = Entry(
            name=canonical(match.group(1)),
            version=match.group(2),
            marker=marker.strip(),
            hashes=frozenset(_HASH.findall(line)),
        )
        entries[(entry.name, entry.marker)] = entry
    return entries


def _pyproject() -> dict:
    with PYPROJECT.open("rb") as file:
        return tomllib.load(file)


def direct_requirements(extra: str | None) -> list[str]:
    """[project].dependencies (`None`) or one extra of pyproject.toml, as written there."""
    project = _pyproject()["project"]
    if extra is None:
        return list(project["dependencies"])
    return list(project["optional-dependencies"][extra])


def _pins(requirements: list[str], where: str, problems: list[str]) -> dict[str, str]:
    pins: dict[str, str] = {}
    for requirement in requirements:
        match = _PIN.match(requirement)
        if match is None:
            problems.append(f"pyproject.toml {where}: {requirement!r} is not pinned with ==")
            continue
        pins[canonical(match.group(1))] = match.group(2)
    return pins


def problems() -> list[str]:
    """What keeps pyproject.toml, the lock and its exports from agreeing (empty: they do)."""
    found: list[str] = []
    if not LOCK.is_file() or not LOCK.read_text(encoding="utf-8").strip():
        return [f"{LOCK.name} is missing or empty"]
    lock = read_requirements(LOCK)
    locked_versions: dict[str, set[str]] = {}
    for entry in lock.values():
        locked_versions.setdefault(entry.name, set()).add(entry.version)
    data = _pyproject()
    wanted = {"[build-system] requires": list(data["build-system"]["requires"])}
    wanted["[project] dependencies"] = direct_requirements(None)
    for extra in data["project"].get("optional-dependencies", {}):
        wanted[f"extra {extra!r}"] = direct_requirements(extra)
    extra_pins: set[str] = set()
    for where, requirements in wanted.items():
        pins = _pins(requirements, where, found)
        if where.startswith("extra "):
            extra_pins |= set(pins)
        for name, version in pins.items():
            if version not in locked_versions.get(name, set()):
                locked = ", ".join(sorted(locked_versions.get(name, set()))) or "nothing"
                found.append(
                    f"pyproject.toml {where} pins {name}=={version}; {LOCK.name} has {locked}"
                )
    runtime_pins = set(_pins(direct_requirements(None), "[project] dependencies", []))
    for export, (path, extra) in EXPORTS.items():
        relative = path.relative_to(ROOT)
        if not path.is_file():
            found.append(f"{relative} is missing")
            continue
        entries = read_requirements(path)
        for key, entry in entries.items():
            if lock.get(key) != entry:
                found.append(f"{relative}: {entry.name}=={entry.version} differs from {LOCK.name}")
        names = {entry.name for entry in entries.values()}
        direct = set(_pins(direct_requirements(extra), export, []))
        for name in sorted(direct - names):
            found.append(f"{relative} lacks {name}, a direct requirement of {export}")
        if extra is None:
            for name in sorted((names & extra_pins) - runtime_pins):
                found.append(f"{relative} (the runtime image) has {name}, a dev-only package")
    return found


def extraneous() -> list[str]:
    """The distributions installed in this interpreter's site-packages that the lock does not
    name: what `make` removes after installing the lock (pip and the project itself stay)."""
    locked = {entry.name for entry in read_requirements(LOCK).values()}
    keep = locked | {"pip", canonical(_pyproject()["project"]["name"])}
    site = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    installed = {
        canonical(name)
        for dist in importlib.metadata.distributions(path=site)
        if (name := dist.metadata["Name"])
    }
    return sorted(installed - keep)


def lock(*, upgrade: bool) -> None:
    uv = Path(sys.executable).parent / "uv"
    base = [str(uv), "pip", "compile", *COMPILE_ARGS, *(["--upgrade"] if upgrade else [])]
    lock_path = str(LOCK.relative_to(ROOT))

    def run(args: list[str], stdin: str | None = None) -> None:
        subprocess.run(args, cwd=ROOT, input=stdin, text=True, check=True)

    run([*base, "pyproject.toml", "--all-extras", "-o", lock_path])
    for path, extra in EXPORTS.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        out = ["-c", lock_path, "-o", str(path.relative_to(ROOT))]
        if extra is None:
            run([*base, "pyproject.toml", *out])
        else:
            run([*base, "-", *out], stdin="\n".join(direct_requirements(extra)) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.lockfile", description=__doc__.split("\n\n", 1)[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    lock_command = commands.add_parser("lock", help="resolve pyproject.toml into the lock")
    lock_command.add_argument(
        "--upgrade", action="store_true", help="move every unpinned transitive package too"
    )
    commands.add_parser("check", help="pyproject.toml, the lock and its exports agree")
    commands.add_parser("extraneous", help="what this venv has that the lock does not name")
    args = parser.parse_args(argv)
    if args.command == "extraneous":
        print(" ".join(extraneous()))
        return 0
    if args.command == "lock":
        lock(upgrade=args.upgrade)
    found = problems()
    for problem in found:
        print(f"lock: {problem}", file=sys.stderr)
    if found:
        print("lock: run `make lock` (and commit what it changes)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
