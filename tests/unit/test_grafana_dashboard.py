"""The Grafana dashboard in deploy/ asks only for metrics the code exports: every PromQL
expression of its panels and variables names series that services/kit/metrics.py (and the
gateway's metrics) define, so a renamed metric cannot leave a panel silently empty."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.metrics import MetricWrapperBase

import gateway.metrics
import services.kit.metrics

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy/k8s/components/prometheus-operator/dashboards/virtual-manager.json"

# The series names each kind of metric exposes, after its base name.
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count", ""),
}
PROMQL_WORDS = {"bool", "and", "or", "unless", "inf", "nan"}


def exported_series() -> set[str]:
    """Every series name the code's metrics expose."""
    names: set[str] = set()
    for module in (services.kit.metrics, gateway.metrics):
        for value in vars(module).values():
            if isinstance(value, MetricWrapperBase):
                names.update(f"{value._name}{suffix}" for suffix in SUFFIXES[value._type])
    return names


def expressions(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every panel target (rows' nested panels too) and query variable."""

    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            yield f"${variable['name']}", query["query"] if isinstance(query, dict) else query


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects: identifiers that are not functions,
    keywords, label names (in matchers and in by/without/on/ignoring lists), strings,
    durations or numbers."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges: [5m], [$__rate_interval]
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"label_values\(\s*([a-zA-Z_:][\w:]*)\s*,\s*\w+\s*\)", r"\1", text)
    text = re.sub(r"\boffset\s+-?[\w$]+", "", text)  # offset 5m
    text = re.sub(r"\$\w+", "", text)  # Grafana's variables
    names = set()
    for found in re.finditer(r"[a-zA-Z_:][\w:]*", text):
        name = found.group()
        after = text[found.end() :].lstrip()
        if after.startswith("(") or name.lower() in PROMQL_WORDS:
            continue  # a function (or aggregation) call, or a keyword
        names.add(name)
    return names


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def test_the_name_finder_sees_metrics_and_nothing_else() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le, route) (rate(vm_http_request_duration_seconds_"
        'bucket{namespace="$namespace", status=~"5.."}[$__rate_interval]))) / '
        "sum without (instance) (vm_outbox_pending_events offset 5m)"
    )
    assert metric_names(expr) == {
        "vm_http_request_duration_seconds_bucket",
        "vm_outbox_pending_events",
    }
    assert metric_names("label_values(vm_http_requests_total, namespace)") == {
        "vm_http_requests_total"
    }


def test_every_expression_names_only_metrics_the_code_exports(dashboard) -> None:
    exported = exported_series()
    found = list(expressions(dashboard))
    assert found, "the dashboard has no queries"
    for where, expr in found:
        names = metric_names(expr)
        assert names, f"{where}: no metric in {expr!r}"
        unknown = names - exported
        assert not unknown, f"{where}: {sorted(unknown)} not exported by the code ({expr!r})"


def test_the_dashboard_covers_what_operations_watch(dashboard) -> None:
    used = set().union(*(metric_names(expr) for _, expr in expressions(dashboard)))
    for series in (
        "vm_http_requests_total",
        "vm_http_request_duration_seconds_bucket",
        "vm_grpc_server_handled_total",
        "vm_grpc_server_handling_seconds_bucket",
        "vm_outbox_pending_events",
        "vm_outbox_oldest_pending_age_seconds",
        "vm_queue_messages",
        "vm_jobs_total",
        "vm_job_duration_seconds_bucket",
        "vm_bulk_targets_total",
        "vm_logins_total",
        "vm_http_rate_limited_total",
        "vm_mongo_commands_total",
        "vm_mongo_documents_written_total",
    ):
        assert series in used, series


def test_every_panel_has_a_unique_id_and_the_data_source_variable(dashboard) -> None:
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] == "virtual-manager"
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
