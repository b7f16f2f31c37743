"""Domain errors and their one mapping to gRPC statuses (and back, for clients).

A service raises a `DomainError`; the server interceptor turns it into a status with a
`google.rpc.ErrorInfo` whose `reason` is stable (UPPER_SNAKE); the gateway turns that reason
into the problem+json `code` (lower_snake) of API.md. Internals never reach the caller.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from services.kit.settings import DEFAULT_PROBLEM_TYPE_BASE

# VM_PROBLEM_TYPE_BASE (Settings.problem_type_base), read once at import so that module
# constants below can carry it: the base URI of the problem types, and its host the
# ErrorInfo domain of every error of ours.
PROBLEM_TYPE_BASE = (os.environ.get("VM_PROBLEM_TYPE_BASE") or DEFAULT_PROBLEM_TYPE_BASE).rstrip(
    "/"
) + "/"
ERROR_DOMAIN = urlsplit(PROBLEM_TYPE_BASE).hostname or "virtual-manager.ru"


class DomainError(Exception):
    """A rule said no. `reason` is the stable machine code, the message is for people."""

    code: grpc.StatusCode = grpc.StatusCode.FAILED_PRECONDITION
    reason: str = "NOT_ALLOWED"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason:
            self.reason = reason


class InvalidArgument(DomainError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "VALIDATION_FAILED"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = dict(fields or {})


class NotFound(DomainError):
    """Also for another company's object: never reveal that it exists. `fields` name the
    request's fields that refer to what does not exist (e.g. an unknown `role_id`)."""

    code = grpc.StatusCode.NOT_FOUND
    reason = "NOT_FOUND"

    def __init__(
        self, message: str, fields: dict[str, str] | None = None, *, reason: str | None = None
    ) -> None:
        super().__init__(message, reason=reason)
        self.fields = dict(fields or {})


class Conflict(DomainError):
    code = grpc.StatusCode.ALREADY_EXISTS
    reason = "CONFLICT"


class IdempotencyKeyReused(DomainError):
    code = grpc.StatusCode.ALREADY_EXISTS
    reason = "IDEMPOTENCY_KEY_REUSED"


class NotAllowed(DomainError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "NOT_ALLOWED"


class InsufficientFunds(DomainError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "INSUFFICIENT_FUNDS"


class PermissionDenied(DomainError):
    code = grpc.StatusCode.PERMISSION_DENIED
    reason = "PERMISSION_DENIED"


class Unauthenticated(DomainError):
    code = grpc.StatusCode.UNAUTHENTICATED
    reason = "UNAUTHENTICATED"


class Unavailable(DomainError):
    """A dependency (SMS centre, mail server, another service) did not answer."""

    code = grpc.StatusCode.UNAVAILABLE
    reason = "UNAVAILABLE"


class DeadlineExceeded(DomainError):
    """The call's deadline passed before its work was done (the caller has given up)."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED
    reason = "DEADLINE_EXCEEDED"


class RateLimited(DomainError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = "RATE_LIMITED"

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = max(1, int(retry_after_seconds))


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def to_grpc_status(error: DomainError) -> grpc.Status:
    """The rich status (ErrorInfo, BadRequest, RetryInfo) for a domain error."""
    details = [_pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN))]
    if isinstance(error, InvalidArgument | NotFound) and error.fields:
        violations = [
            error_details_pb2.BadRequest.FieldViolation(field=name, description=text)
            for name, text in sorted(error.fields.items())
        ]
        details.append(_pack(error_details_pb2.BadRequest(field_violations=violations)))
    if isinstance(error, RateLimited):
        delay = duration_pb2.Duration(seconds=error.retry_after_seconds)
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    status = status_pb2.Status(code=error.code.value[0], message=error.message, details=details)
    return rpc_status.to_status(status)


INTERNAL_STATUS = rpc_status.to_status(
    status_pb2.Status(
        code=code_pb2.INTERNAL,
        message="internal error",
        details=[_pack(error_details_pb2.ErrorInfo(reason="INTERNAL", domain=ERROR_DOMAIN))],
    )
)


@dataclass(frozen=True)
class RemoteError:
    """What a client learns from a failed call: status, stable reason, message, fields."""

    code: grpc.StatusCode
    reason: str
    message: str
    fields: dict[str, str] = field(default_factory=dict)
    retry_after_seconds: int | None = None
    # True when a service of ours said it (an ErrorInfo of our domain): the message is
    # meant for people. Otherwise it came from the transport and is not shown.
    from_service: bool = False


def read_remote_error(error: grpc.aio.AioRpcError) -> RemoteError:
    fields: dict[str, str] = {}
    reason = ""
    from_service = False
    retry_after = None
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
            from_service = info.domain == ERROR_DOMAIN
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields = {v.field: v.description for v in bad.field_violations}
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info_retry = error_details_pb2.RetryInfo()
            detail.Unpack(info_retry)
            retry_after = info_retry.retry_delay.seconds
    return RemoteError(
        code=error.code(),
        reason=reason or error.code().name,
        message=error.details() or "",
        fields=fields,
        retry_after_seconds=retry_after,
        from_service=from_service,
    )


_BY_CODE: dict[grpc.StatusCode, type[DomainError]] = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: Conflict,
    grpc.StatusCode.FAILED_PRECONDITION: NotAllowed,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
}


def domain_error_from(error: grpc.aio.AioRpcError, service: str) -> DomainError:
    """What another service of ours refused, as this service's own domain error (same
    status, reason and fields), for a call forwarded on a caller's behalf. Anything else
    (the service did not answer, or not in our terms) is Unavailable."""
    remote = read_remote_error(error)
    if not remote.from_service:
        return Unavailable(f"{service} did not answer; try again later")
    if remote.code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument(remote.message, remote.fields)
    if remote.code == grpc.StatusCode.NOT_FOUND:
        return NotFound(remote.message, remote.fields, reason=remote.reason)
    kind = _BY_CODE.get(remote.code)
    if kind is None:
        return Unavailable(f"{service} did not answer; try again later")
    return kind(remote.message, reason=remote.reason)
