"""HierarchyService: proto ⇄ use case."""

from __future__ import annotations

import grpc

from services.catalog.domain.hierarchy import Node
from services.catalog.service.hierarchy import HierarchyCases
from services.kit.context import current_caller
from vm.catalog.v1 import hierarchy_pb2, hierarchy_pb2_grpc

Context = grpc.aio.ServicerContext


def node_message(node: Node, number_count: int = 0) -> hierarchy_pb2.Node:
    return hierarchy_pb2.Node(
        id=node.id,
        parent_id=node.parent_id or "",
        name=node.name,
        kind=node.kind,
        number_count=number_count,
    )


class HierarchyServicer(hierarchy_pb2_grpc.HierarchyServiceServicer):
    def __init__(self, hierarchy: HierarchyCases) -> None:
        self._hierarchy = hierarchy

    async def GetHierarchy(
        self, request: hierarchy_pb2.GetHierarchyRequest, context: Context
    ) -> hierarchy_pb2.GetHierarchyResponse:
        nodes, counts = await self._hierarchy.hierarchy(current_caller())
        return hierarchy_pb2.GetHierarchyResponse(
            nodes=[node_message(node, counts.get(node.id, 0)) for node in nodes]
        )

    async def CreateNode(
        self, request: hierarchy_pb2.CreateNodeRequest, context: Context
    ) -> hierarchy_pb2.CreateNodeResponse:
        node = await self._hierarchy.create_node(
            current_caller(), request.parent_id, request.name, request.kind
        )
        return hierarchy_pb2.CreateNodeResponse(node=node_message(node))

    async def UpdateNode(
        self, request: hierarchy_pb2.UpdateNodeRequest, context: Context
    ) -> hierarchy_pb2.UpdateNodeResponse:
        node = await self._hierarchy.update_node(
            current_caller(),
            request.node_id,
            name=request.name if request.HasField("name") else None,
            kind=request.kind if request.HasField("kind") else None,
            parent_id=request.parent_id if request.HasField("parent_id") else None,
        )
        return hierarchy_pb2.UpdateNodeResponse(node=node_message(node))

    async def DeleteNode(
        self, request: hierarchy_pb2.DeleteNodeRequest, context: Context
    ) -> hierarchy_pb2.DeleteNodeResponse:
        await self._hierarchy.delete_node(
            current_caller(), request.node_id, request.move_to_node_id or None
        )
        return hierarchy_pb2.DeleteNodeResponse()
