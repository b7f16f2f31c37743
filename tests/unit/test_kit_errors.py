"""services/kit/errors.py: domain errors → rich gRPC statuses, and back for clients."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from services.kit.errors import (
    ERROR_DOMAIN,
    INTERNAL_STATUS,
    Conflict,
    DomainError,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidArgument,
    NotAllowed,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    Unavailable,
    read_remote_error,
    to_grpc_status,
)

DETAILS_KEY = "grpc-status-details-bin"


def rich_status(status: grpc.Status) -> status_pb2.Status:
    """The google.rpc.Status a client would read from the trailing metadata."""
    blobs = [value for key, value in status.trailing_metadata if key == DETAILS_KEY]
    assert len(blobs) == 1, status.trailing_metadata
    return status_pb2.Status.FromString(blobs[0])


def unpack(rich: status_pb2.Status, message_type: type) -> list:
    found = []
    for detail in rich.details:
        if detail.Is(message_type.DESCRIPTOR):
            message = message_type()
            detail.Unpack(message)
            found.append(message)
    return found


def as_client_error(status: grpc.Status) -> grpc.aio.AioRpcError:
    """The error a grpc.aio client gets when a server aborts with `status`."""
    return grpc.aio.AioRpcError(
        status.code,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(*status.trailing_metadata),
        status.details,
    )


@pytest.mark.parametrize(
    ("error", "code", "reason"),
    [
        (NotFound("no such number"), grpc.StatusCode.NOT_FOUND, "NOT_FOUND"),
        (Conflict("exists"), grpc.StatusCode.ALREADY_EXISTS, "CONFLICT"),
        (IdempotencyKeyReused("x"), grpc.StatusCode.ALREADY_EXISTS, "IDEMPOTENCY_KEY_REUSED"),
        (NotAllowed("no"), grpc.StatusCode.FAILED_PRECONDITION, "NOT_ALLOWED"),
        (InsufficientFunds("poor"), grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_FUNDS"),
        (PermissionDenied("no"), grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED"),
        (Unauthenticated("who?"), grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED"),
        (Unavailable("later"), grpc.StatusCode.UNAVAILABLE, "UNAVAILABLE"),
        (InvalidArgument("bad"), grpc.StatusCode.INVALID_ARGUMENT, "VALIDATION_FAILED"),
        (
            NotAllowed("blocked", reason="NUMBER_BLOCKED"),
            grpc.StatusCode.FAILED_PRECONDITION,
            "NUMBER_BLOCKED",
        ),
        (DomainError("plain"), grpc.StatusCode.FAILED_PRECONDITION, "NOT_ALLOWED"),
    ],
)
def test_every_domain_error_has_its_status_code_and_an_error_info(error, code, reason):
    status = to_grpc_status(error)

    assert status.code == code
    assert status.details == error.message
    rich = rich_status(status)
    assert rich.code == code.value[0]
    assert rich.message == error.message
    [info] = unpack(rich, error_details_pb2.ErrorInfo)
    assert info.reason == reason
    assert info.domain == ERROR_DOMAIN
    assert unpack(rich, error_details_pb2.BadRequest) == []
    assert unpack(rich, error_details_pb2.RetryInfo) == []


def test_a_reason_given_to_one_error_does_not_change_its_class():
    NotAllowed("blocked", reason="NUMBER_BLOCKED")
    assert NotAllowed("again").reason == "NOT_ALLOWED"


def test_invalid_argument_lists_each_field_violation():
    error = InvalidArgument(
        "the company's details are not valid",
        {"main_number": "like 79161234567", "inn": "10 or 12 digits"},
    )

    rich = rich_status(to_grpc_status(error))

    [info] = unpack(rich, error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain) == ("VALIDATION_FAILED", ERROR_DOMAIN)
    [bad_request] = unpack(rich, error_details_pb2.BadRequest)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("inn", "10 or 12 digits"),
        ("main_number", "like 79161234567"),
    ]


def test_invalid_argument_keeps_its_own_copy_of_the_fields():
    fields = {"inn": "required"}
    error = InvalidArgument("bad", fields)
    fields["name"] = "added later"
    assert error.fields == {"inn": "required"}


def test_rate_limited_says_when_to_retry():
    rich = rich_status(to_grpc_status(RateLimited("slow down", retry_after_seconds=42)))

    assert rich.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    [info] = unpack(rich, error_details_pb2.ErrorInfo)
    assert info.reason == "RATE_LIMITED"
    [retry] = unpack(rich, error_details_pb2.RetryInfo)
    assert retry.retry_delay.seconds == 42


@pytest.mark.parametrize(("given", "expected"), [(0, 1), (-5, 1), (2.7, 2), (3600, 3600)])
def test_retry_after_is_a_whole_positive_number_of_seconds(given, expected):
    assert RateLimited("slow down", retry_after_seconds=given).retry_after_seconds == expected


def test_the_internal_status_says_nothing_about_the_failure():
    assert INTERNAL_STATUS.code == grpc.StatusCode.INTERNAL
    assert INTERNAL_STATUS.details == "internal error"
    [info] = unpack(rich_status(INTERNAL_STATUS), error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain) == ("INTERNAL", ERROR_DOMAIN)


def test_a_client_reads_back_reason_message_fields():
    status = to_grpc_status(InvalidArgument("not valid", {"inn": "10 or 12 digits"}))

    remote = read_remote_error(as_client_error(status))

    assert remote.code == grpc.StatusCode.INVALID_ARGUMENT
    assert remote.reason == "VALIDATION_FAILED"
    assert remote.message == "not valid"
    assert remote.fields == {"inn": "10 or 12 digits"}
    assert remote.retry_after_seconds is None
    assert remote.from_service is True


def test_a_client_reads_back_the_retry_delay():
    remote = read_remote_error(as_client_error(to_grpc_status(RateLimited("wait", 7))))

    assert (remote.code, remote.reason, remote.retry_after_seconds) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "RATE_LIMITED",
        7,
    )


def test_a_transport_error_without_details_is_not_from_a_service():
    error = grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "connect failed"
    )

    remote = read_remote_error(error)

    assert remote.code == grpc.StatusCode.UNAVAILABLE
    assert remote.reason == "UNAVAILABLE"
    assert remote.from_service is False
    assert remote.fields == {}


def test_an_error_info_of_another_domain_is_not_from_a_service():
    status = to_grpc_status(NotFound("nope"))
    rich = rich_status(status)
    info = error_details_pb2.ErrorInfo(reason="NOT_FOUND", domain="elsewhere.example")
    rich.details[0].Pack(info)
    foreign = grpc.aio.AioRpcError(
        status.code,
        grpc.aio.Metadata(),
        grpc.aio.Metadata((DETAILS_KEY, rich.SerializeToString())),
        status.details,
    )

    remote = read_remote_error(foreign)

    assert remote.reason == "NOT_FOUND"
    assert remote.from_service is False
