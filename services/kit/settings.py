"""One settings object for every process, read from `VM_*` environment variables.

Every setting has a default that works on a developer's machine; in production
(`VM_ENV=prod`) every secret and every place of a peer (PRODUCTION_EXPLICIT) must be set
explicitly, so a forgotten variable fails loudly at start-up, naming each one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from limits import parse as parse_rate_limit
from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_OPERATOR_TOKEN = "dev-operator-token-not-for-production"
DEFAULT_PROBLEM_TYPE_BASE = "https://problems.virtual-manager.ru/"

SERVICE_NAMES = ("identity", "catalog", "billing", "documents", "tickets", "notifications")

# Secrets and the places of what a process talks to: their defaults are a developer's
# machine (the development operator token, guest:guest on the local RabbitMQ, the embedded
# database on 127.0.0.1:27217, the local message sink, a vm.example sender), so in
# production each must be set explicitly — to an empty value where a process uses none
# (the gateway has no database). The dev sink's own URL is left out: production has none.
PRODUCTION_EXPLICIT = (
    "operator_token",
    "mongo_url",
    "amqp_url",
    "identity_addr",
    "catalog_addr",
    "billing_addr",
    "documents_addr",
    "tickets_addr",
    "notifications_addr",
    "sms_centre_url",
    "smtp_host",
    "mail_from",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VM_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    log_level: str = "INFO"

    # Errors: the base URI of problem+json `type`s (the gateway answers
    # `<base>validation-failed`, ...), and its host is the `google.rpc.ErrorInfo.domain` by
    # which the gateway and the services know each other's errors, so every process must
    # have the same one. Read once at start-up by services/kit/errors.py.
    problem_type_base: str = DEFAULT_PROBLEM_TYPE_BASE

    # MongoDB: the embedded SecantusDB of `make run` by default. It has no failover, so the
    # URL it gets turns retryable writes off (several times faster there); a real replica
    # set keeps the driver's default.
    mongo_url: str = "mongodb://127.0.0.1:27217/?directConnection=true&retryWrites=false"
    mongo_db_prefix: str = "vm_"

    # RabbitMQ. `amqp_prefix` namespaces the exchange and queues so that test runs and a
    # running demo on the same broker never see each other's events.
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    amqp_prefix: str = ""

    # gRPC: where each service listens and where clients find it. In Kubernetes the
    # addresses are `dns:///name:port` of headless Services with round_robin balancing.
    grpc_host: str = "127.0.0.1"
    identity_port: int = 15051
    catalog_port: int = 15052
    billing_port: int = 15053
    documents_port: int = 15054
    tickets_port: int = 15055
    notifications_port: int = 15056
    identity_addr: str = "127.0.0.1:15051"
    catalog_addr: str = "127.0.0.1:15052"
    billing_addr: str = "127.0.0.1:15053"
    documents_addr: str = "127.0.0.1:15054"
    tickets_addr: str = "127.0.0.1:15055"
    notifications_addr: str = "127.0.0.1:15056"
    grpc_grace_seconds: float = 10.0

    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    # Behind a proxy: uvicorn's forwarded_allow_ips, the peers (comma-separated addresses or
    # CIDRs, "*" for any) whose X-Forwarded-For and X-Forwarded-Proto the gateway trusts.
    # From them the client's address (login throttling, the audit log) is the last address
    # X-Forwarded-For names that is not itself trusted; from any other peer the headers are
    # ignored and the peer is the client. Set it to the ingress controller's pod network.
    forwarded_allow_ips: str = "127.0.0.1"
    # The gateway's rate limits (gateway/rate_limits.py) on /api/ (health, metrics, the docs
    # and the console's files are never limited), as `limits` strings ("600/minute",
    # "10/second", "20 per 5 seconds") counted over a sliding window: per user (a verified
    # access token), per API key, and per client address (as VM_FORWARDED_ALLOW_IPS resolves
    # it) for anonymous calls (no credential, or one that does not verify). The counts live
    # in each gateway replica's own memory: behind a balancer over N replicas a caller gets up
    # to N times the limit. The console polls an operation's progress each second, so a
    # person stays far below the user's limit. VM_RATE_LIMIT_ENABLED=false turns them off.
    rate_limit_enabled: bool = True
    rate_limit_user: str = "600/minute"
    rate_limit_api_key: str = "600/minute"
    rate_limit_anonymous: str = "120/minute"

    # The operator's internal systems present this credential on the operator RPCs.
    operator_token: SecretStr = SecretStr(DEV_OPERATOR_TOKEN)

    # Tokens: EdDSA-signed access tokens, opaque rotating refresh tokens.
    jwt_issuer: str = "vm-identity"
    jwt_audience: str = "vm"
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    # How long a service trusts identity's answer about what a caller may do.
    caller_access_cache_seconds: float = 5.0
    # How long the gateway reuses the access token it got for an API key before asking
    # identity again: a revoked key stops working in the gateway within this time.
    api_key_cache_seconds: float = 30.0
    # Production: a PEM file with the Ed25519 private key, mounted from a secret.
    identity_signing_key_file: str = ""

    # Message delivery: an SMS centre over HTTP, e-mail over SMTP. `make run` and the tests
    # start a local sink that accepts both.
    sms_centre_url: str = "http://127.0.0.1:8025/sms"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    mail_from: str = "Виртуальный менеджер <no-reply@vm.example>"
    devsink_url: str = "http://127.0.0.1:8025"
    devsink_host: str = "127.0.0.1"
    devsink_smtp_port: int = 1025
    devsink_http_port: int = 8025

    # Catalog's provisioning simulator (development and tests): how long the network takes
    # to confirm a change, the share of changes it refuses (0.0 to 1.0), and numbers whose
    # every change it refuses (comma-separated MSISDNs), so a test can make one number fail.
    provisioning_latency_seconds: float = 0.0
    provisioning_failure_rate: float = 0.0
    provisioning_fail_msisdns: str = ""

    # Catalog's bulk worker (`python -m services.catalog.bulk_worker`, as many as needed):
    # its health port, numbers per transaction, how long a worker's claim on an operation
    # lasts without renewal (another worker takes over after it), and how often each worker
    # looks for operations that are due (scheduled, or left by a worker that died).
    catalog_worker_port: int = 15062
    bulk_batch_size: int = 100
    work_lease_seconds: float = 30.0
    work_sweep_seconds: float = 1.0

    # The documents worker (`python -m services.documents.worker`): its health port, and
    # how long generated files (documents, reports) are kept before its sweeper deletes them.
    documents_worker_port: int = 15064
    documents_retention_days: int = 90

    # The notifications worker (`python -m services.notifications.worker`, as many as
    # needed): its health port, how many webhook deliveries one worker has in flight (at
    # most a quarter to one endpoint: a slow one never holds the others' turn), how long
    # a receiver may take to answer, how often each worker looks for webhook deliveries
    # that are due, and how often for automation runs, people's notices and webhook owners'
    # notices (a person reading an e-mail does not miss a second; an idle system's database
    # is asked a third as often).
    notifications_worker_port: int = 15066
    webhook_deliveries_at_once: int = 32
    webhook_timeout_seconds: float = 10.0
    notifications_poll_seconds: float = 0.2
    notifications_background_poll_seconds: float = 1.0

    # Prometheus metrics: each service and worker serves /metrics on its gRPC port + this
    # offset (identity 16051 … documents-worker 16064); 0 serves none. The gateway serves
    # them at /metrics on its own port.
    metrics_port_offset: int = 1000

    @field_validator("rate_limit_user", "rate_limit_api_key", "rate_limit_anonymous")
    @classmethod
    def _a_rate_limit(cls, value: str) -> str:
        parse_rate_limit(value)  # ValueError, naming the string, when it is not a limit
        return value

    @model_validator(mode="after")
    def _refuse_dev_secrets_outside_dev(self) -> Settings:
        if self.env != "prod":
            return self
        missing = [
            f"VM_{name.upper()}"
            for name in PRODUCTION_EXPLICIT
            if name not in self.model_fields_set
        ]
        if missing:
            raise ValueError(
                "in production (VM_ENV=prod) these settings have only development defaults "
                f"and must be set: {', '.join(missing)} (an empty value says this process "
                "does not use one)"
            )
        if self.operator_token.get_secret_value() in (DEV_OPERATOR_TOKEN, ""):
            raise ValueError("VM_OPERATOR_TOKEN must be set outside development")
        return self

    def grpc_port(self, service: str) -> int:
        """`service` as processes are named: "catalog", "catalog-worker", ..."""
        return int(getattr(self, f"{service.replace('-', '_')}_port"))

    def grpc_addr(self, service: str) -> str:
        return str(getattr(self, f"{service}_addr"))

    def database_name(self, service: str) -> str:
        return f"{self.mongo_db_prefix}{service}"

    @property
    def events_exchange(self) -> str:
        return f"{self.amqp_prefix}vm.events"


@lru_cache
def get_settings() -> Settings:
    return Settings()
