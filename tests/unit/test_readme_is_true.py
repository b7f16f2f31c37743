"""The README names every process, port and setting that the Procfile, deploy/ and the
settings class have: a process, port or VM_* variable added without a word in the README
fails here."""

from __future__ import annotations

import re
from pathlib import Path

from deploy.local import procfile_processes
from services.kit.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
DEPLOY_FILES = [
    path
    for path in (ROOT / "deploy").rglob("*")
    if path.is_file() and path.suffix in {".yaml", ".yml", ".env", ".sh", ""}
]


def section(title: str) -> str:
    """The README's section under `## title`, to the next `## `."""
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.S | re.M)
    assert found, f"the README has no section '## {title}'"
    return found.group(1)


def named_in_readme(text: str) -> set[str]:
    return set(re.findall(r"`([^`\s]+)`", text))


def test_every_process_of_the_procfile_and_of_deploy_is_in_the_readme() -> None:
    processes = set(procfile_processes(ROOT / "Procfile"))
    for path in DEPLOY_FILES:
        processes |= set(re.findall(r"VM_PROCESS:\s*([a-z][a-z-]*)", path.read_text()))
    processes |= {path.stem for path in (ROOT / "deploy/k8s/base").glob("*.yaml")} - {
        "kustomization"
    }
    described = named_in_readme(section("Processes"))
    assert processes <= described, f"not in the README's processes: {processes - described}"


def test_every_port_is_in_the_readme_ports_table() -> None:
    ports = {
        str(field.default)
        for name, field in Settings.model_fields.items()
        if name.endswith("_port")
    }
    ports |= set(re.findall(r"--port (\d+)", (ROOT / "Procfile").read_text()))
    for path in DEPLOY_FILES:
        ports |= set(re.findall(r"containerPort: (\d+)", path.read_text()))
    table = section("Ports")
    listed = set(re.findall(r"^\|[^|\n]*\| ([0-9][0-9, ]*) \|", table, re.M))
    listed = {port.strip() for row in listed for port in row.split(",")}
    assert ports <= listed, f"ports missing from the README's table: {sorted(ports - listed)}"


def test_every_setting_is_in_the_readme_configuration() -> None:
    settings = {f"VM_{name.upper()}" for name in Settings.model_fields}
    used = set()
    for path in [*DEPLOY_FILES, ROOT / "Procfile"]:
        used |= set(re.findall(r"\bVM_[A-Z0-9_]+", path.read_text()))
    described = set(re.findall(r"\bVM_[A-Z0-9_]+", section("Configuration")))
    assert settings <= described, f"settings missing: {sorted(settings - described)}"
    assert used <= described, f"deploy/'s variables missing: {sorted(used - described)}"
