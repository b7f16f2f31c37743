"""Prometheus metrics of every process, in prometheus_client's default registry.

Each service and worker serves them on a port of its own (its gRPC port +
`VM_METRICS_PORT_OFFSET`: identity 16051 … documents-worker 16064); the gateway at
`GET /metrics` on its HTTP port. Prometheus tells the processes apart by its own `job` and
`instance` labels, so no metric carries the process's name.

- requests: RPCs by method and status code, HTTP requests by route template and status,
  each with a latency histogram (RED), and requests the gateway's rate limits refused;
- events: published by type (transfers completed, numbers blocked … are counted there),
  consumed by type and outcome, redeliveries, the outbox's backlog and the age of its
  oldest pending event, and the depth of the service's queue and its dead letters;
- work: jobs taken by the workers and their duration, targets of bulk operations by
  status (per-number throughput);
- business counters the events do not carry: logins by outcome;
- the database: MongoDB commands the process sent, by command and collection, and their
  latency by command (services/kit/mongo.py's listener), so that what a use case costs
  the database is read off a running system.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from services.kit.settings import Settings

log = logging.getLogger(__name__)

# From a cached read (a few ms) to a slow report request (tens of seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
JOB_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)

RPCS = Counter(
    "vm_grpc_server_handled",
    "RPCs a service answered, by method and status code.",
    ["method", "code"],
)
RPC_SECONDS = Histogram(
    "vm_grpc_server_handling_seconds",
    "Time a service took to answer an RPC.",
    ["method"],
    buckets=LATENCY_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "vm_http_requests",
    "REST requests the gateway answered, by route template and status.",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "vm_http_request_duration_seconds",
    "Time the gateway took to answer a request.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
RATE_LIMITED = Counter(
    "vm_http_rate_limited",
    "REST requests the gateway refused (429) for a rate limit, by whose limit it was "
    "(user, api_key, address).",
    ["limit"],
)
EVENTS_PUBLISHED = Counter(
    "vm_events_published",
    "Events the outbox relay published (with confirms), by type.",
    ["type"],
)
OUTBOX_PENDING = Gauge(
    "vm_outbox_pending_events",
    "Outbox messages (an event, or a run of one type) written and not yet published.",
)
OUTBOX_OLDEST_AGE = Gauge(
    "vm_outbox_oldest_pending_age_seconds", "Age of the oldest event not yet published."
)
EVENTS_CONSUMED = Counter(
    "vm_events_consumed",
    "Events the service's consumer took, by type and outcome "
    "(applied, duplicate, failed: redelivered later, undecodable: dead-lettered).",
    ["type", "outcome"],
)
EVENTS_IN_HAND = Gauge(
    "vm_events_in_hand",
    "Events the consumer has taken from the broker and not yet settled (being applied, "
    "or waiting for their batch). A message may carry a run of hundreds of events, so a "
    "consumer's lag is this beside the queue's waiting messages.",
)
EVENTS_REDELIVERED = Counter(
    "vm_events_redelivered", "Deliveries the broker marked as redelivered."
)
QUEUE_MESSAGES = Gauge(
    "vm_queue_messages",
    "Messages waiting in a queue of this process (consumer lag).",
    ["queue"],
)
JOBS = Counter(
    "vm_jobs", "Jobs a worker took from its work queue, by outcome.", ["queue", "outcome"]
)
WEBHOOK_ATTEMPTS = Counter(
    "vm_webhook_attempts",
    "Webhook delivery attempts a notifications worker made, by the state they left the "
    "delivery in (delivered, pending: to be tried again, failed: given up).",
    ["outcome"],
)
JOB_SECONDS = Histogram(
    "vm_job_duration_seconds",
    "Time a worker spent on one job it took.",
    ["queue"],
    buckets=JOB_BUCKETS,
)
BULK_TARGETS = Counter(
    "vm_bulk_targets",
    "Targets (numbers) of bulk operations finished, by type and status.",
    ["type", "status"],
)
LOGINS = Counter("vm_logins", "Logins, by outcome.", ["outcome"])
MONGO_COMMANDS = Counter(
    "vm_mongo_commands",
    "MongoDB commands the process sent, by database, command and collection "
    "(empty for a command on no collection: commitTransaction, ping ...).",
    ["database", "command", "collection"],
)
MONGO_DOCUMENTS_WRITTEN = Counter(
    "vm_mongo_documents_written",
    "Documents the process's writes wrote, as their answers say (inserted, modified or "
    "upserted, deleted; a findAndModify's one if it found one), by database and collection: "
    "what a database that pays per document and per index (the embedded one) is asked to do.",
    ["database", "collection"],
)
MONGO_COMMAND_SECONDS = Histogram(
    "vm_mongo_command_duration_seconds",
    "Time from a MongoDB command's sending to its answer, by command and outcome "
    "(succeeded, failed).",
    ["command", "outcome"],
    buckets=(0.0005, 0.001, 0.0025, *LATENCY_BUCKETS),
)


@contextmanager
def timed(histogram: Histogram, *labels: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.labels(*labels).observe(time.perf_counter() - started)


def metrics_port(settings: Settings, process: str) -> int | None:
    """The metrics port of a service or worker (`process` as the Procfile names it), or
    None when `VM_METRICS_PORT_OFFSET` is 0."""
    if settings.metrics_port_offset == 0:
        return None
    return settings.grpc_port(process) + settings.metrics_port_offset


def serve_metrics(settings: Settings, process: str) -> int | None:
    """Serve /metrics for a service or worker in a thread of its own; the port, or None."""
    port = metrics_port(settings, process)
    if port is None:
        return None
    start_http_server(port, addr=settings.grpc_host)
    log.info("metrics listening", extra={"port": port})
    return port
