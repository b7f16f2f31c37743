"""`make run`'s process list comes from the Procfile alone, and its terminal shows what a
person should see."""

from __future__ import annotations

import json
from pathlib import Path

from deploy.local import processes_to_start, procfile_processes, worth_showing

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_starts_every_process_of_the_procfile() -> None:
    names = processes_to_start({})
    assert names == procfile_processes(ROOT / "Procfile")
    assert {
        "catalog-worker",
        "documents-worker",
        "notifications",
        "notifications-worker",
        "gateway",
        "mongo",
    } <= set(names)


def test_another_mongodb_leaves_out_the_embedded_one_only(tmp_path: Path) -> None:
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        "# the processes\nmongo: exec python -m secantus\n\nweb: exec python -m gateway\n"
        "worker: exec python -m services.catalog.bulk_worker\n"
    )
    assert processes_to_start({}, procfile) == ["mongo", "web", "worker"]
    assert processes_to_start({"VM_MONGO_URL": "mongodb://db/"}, procfile) == ["web", "worker"]


def test_the_terminal_shows_warnings_errors_tracebacks_and_honcho_but_not_info() -> None:
    def log(level: str) -> str:
        return "20:14:10 catalog.1 | " + json.dumps({"level": level, "msg": "m"})

    assert not worth_showing(log("info"))
    assert not worth_showing(log("DEBUG"))
    assert worth_showing(log("warning"))
    assert worth_showing(log("error"))
    assert worth_showing("20:14:10 catalog.1 | Traceback (most recent call last):")
    assert worth_showing("20:14:10 system    | catalog-worker.1 stopped (rc=1)")
    assert not worth_showing("20:14:10 catalog.1 | ")
