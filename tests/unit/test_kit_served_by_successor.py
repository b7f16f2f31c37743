"""A deprecated service's RPCs served by the service they moved to: the request re-read as
the successor's message, the answer as the deprecated RPC's; RPCs that did not move are
left to the deprecated service's own servicer."""

from __future__ import annotations

from services.kit.grpc_server import served_by_successor
from vm.catalog.v1 import bulk_operations_pb2 as old
from vm.common.v1 import common_pb2
from vm.common.v1 import operations_pb2 as new

DEPRECATED = old.DESCRIPTOR.services_by_name["BulkOperationService"]
SUCCESSOR = new.DESCRIPTOR.services_by_name["OperationsService"]


class Successor:
    def __init__(self) -> None:
        self.asked: list[object] = []

    async def ListOperationResults(self, request, context):
        self.asked.append(request)
        result = common_pb2.OperationTargetResult(target=request.operation_id, code="changed")
        return new.ListOperationResultsResponse(results=[result], next_page_token="p2")

    GetOperation = ListOperations = CancelOperation = ListOperationResults


async def test_only_the_rpcs_the_successor_has_move():
    moved = served_by_successor(DEPRECATED, SUCCESSOR, Successor())
    assert set(moved) == {
        "ListOperations",
        "GetOperation",
        "ListOperationResults",
        "CancelOperation",
    }


async def test_a_moved_rpc_reads_the_request_as_the_successors_and_answers_as_the_old_one():
    successor = Successor()
    moved = served_by_successor(DEPRECATED, SUCCESSOR, successor)
    request = old.ListOperationResultsRequest(
        operation_id="op_1", status="failed", page_size=2, page_token="p1"
    )

    answer = await moved["ListOperationResults"](request, None)

    [asked] = successor.asked
    assert isinstance(asked, new.ListOperationResultsRequest)
    assert (asked.operation_id, asked.status, asked.page_size, asked.page_token) == (
        "op_1",
        "failed",
        2,
        "p1",
    )
    assert isinstance(answer, old.ListOperationResultsResponse)
    assert [(r.target, r.code) for r in answer.results] == [("op_1", "changed")]
    assert answer.next_page_token == "p2"
