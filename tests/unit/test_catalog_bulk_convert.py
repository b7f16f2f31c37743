"""A bulk request's change, proto → the domain's draft action: the `action` oneof, and the
deprecated `type` + `params` read into the same typed messages with the same answers."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import struct_pb2

from services.catalog.domain import bulk as rules
from services.catalog.domain.bulk import (
    ChangeTariff,
    ConnectService,
    MoveToAccount,
    RemoveBlock,
    SetBlock,
    SetLimit,
)
from services.catalog.grpc_api.bulk_convert import ACTION_MESSAGES, requested_action
from services.kit.errors import InvalidArgument
from vm.catalog.v1 import bulk_operations_pb2 as pb


def deprecated(operation_type: str, params: dict[str, Any]) -> pb.StartBulkOperationRequest:
    struct = struct_pb2.Struct()
    struct.update(params)
    return pb.StartBulkOperationRequest(type=operation_type, params=struct)


def refused_fields(request: pb.StartBulkOperationRequest) -> set[str]:
    with pytest.raises(InvalidArgument) as refused:
        rules.checked_action(requested_action(request))
    return set(refused.value.fields)


def test_every_type_has_its_message_in_the_oneof():
    assert set(ACTION_MESSAGES) == set(rules.BULK_CHANGES)


@pytest.mark.parametrize(
    ("request_", "draft"),
    [
        (
            pb.StartBulkOperationRequest(
                change_tariff=pb.ChangeTariffAction(tariff_id="biz", settings={"roaming": "true"})
            ),
            ChangeTariff("biz", {"roaming": "true"}),
        ),
        (
            pb.StartBulkOperationRequest(connect_service=pb.ServiceAction(service_id="svc")),
            ConnectService("svc"),
        ),
        (
            pb.StartBulkOperationRequest(block=pb.BlockAction(type="voluntary")),
            SetBlock("voluntary"),
        ),
        (
            pb.StartBulkOperationRequest(unblock=pb.BlockAction(type="voluntary")),
            RemoveBlock("voluntary"),
        ),
        (
            pb.StartBulkOperationRequest(
                set_limit=pb.SetLimitAction(kind="data", amount=50_000, action="notify")
            ),
            SetLimit("data", 50_000, "notify"),
        ),
        (
            pb.StartBulkOperationRequest(move_to_account=pb.AccountAction(account_id="acc")),
            MoveToAccount("acc"),
        ),
    ],
)
def test_the_oneof_names_the_type_and_its_message_the_fields(request_, draft):
    assert requested_action(request_) == draft


@pytest.mark.parametrize(
    ("operation_type", "params", "draft"),
    [
        # JSON's settings (true, 300 — a Struct's numbers are floats) become text.
        (
            "change_tariff",
            {"tariff_id": "biz", "settings": {"roaming": True, "minutes": 300}},
            ChangeTariff("biz", {"roaming": "true", "minutes": "300"}),
        ),
        ("block", {"type": "voluntary"}, SetBlock("voluntary")),
        (
            "set_limit",
            {"kind": "data", "amount": 50_000, "action": "notify"},
            SetLimit("data", 50_000, "notify"),
        ),
        ("move_to_account", {"account_id": "acc"}, MoveToAccount("acc")),
    ],
)
def test_the_deprecated_type_and_params_give_the_same_action(operation_type, params, draft):
    assert requested_action(deprecated(operation_type, params)) == draft


@pytest.mark.parametrize(
    ("operation_type", "params", "field"),
    [
        ("explode", {}, "type"),
        ("sms", {"text": "hi"}, "type"),  # an SMS is its own request, not a bulk type
        ("block", {}, "params.type"),
        ("block", {"type": "bogus"}, "type"),
        ("block", {"type": "voluntary", "colour": "red"}, "params.colour"),
        ("change_tariff", {"tariff_id": ""}, "params.tariff_id"),
        ("change_tariff", {"tariff_id": 5}, "params.tariff_id"),
        ("change_tariff", {"tariff_id": "t", "settings": ["x"]}, "params.settings"),
        ("set_limit", {"kind": "data", "amount": 10.5, "action": "block"}, "params.amount"),
        ("set_limit", {"kind": "data", "amount": 0, "action": "block"}, "params.amount"),
        ("set_limit", {"kind": "data", "amount": True, "action": "block"}, "params.amount"),
        ("set_limit", {"kind": "data", "amount": 10**13, "action": "block"}, "params.amount"),
        ("set_limit", {"kind": "gold", "amount": 100, "action": "block"}, "params.kind"),
        ("set_forwarding", {"condition": "busy", "target": "abc"}, "target"),
        ("move_to_node", {"node_id": "x" * 65}, "params.node_id"),
    ],
)
def test_bad_deprecated_params_name_the_field_as_before(operation_type, params, field):
    assert field in refused_fields(deprecated(operation_type, params))


def test_a_request_without_an_action_names_the_action():
    assert refused_fields(pb.StartBulkOperationRequest(msisdns=["79161234567"])) == {"action"}


def test_an_action_with_the_deprecated_type_as_well_is_refused():
    both = deprecated("block", {"type": "voluntary"})
    both.block.type = "voluntary"
    assert refused_fields(both) == {"type"}
