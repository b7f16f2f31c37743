"""The company's hierarchy (catalog's HierarchyService)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from gateway.deps import Backends, ReplayableMetadata
from gateway.fields import NOT_BLANK, NodeKind
from gateway.security import ANY_USER, CurrentCredential, needs
from vm.catalog.v1 import hierarchy_pb2 as pb

router = APIRouter(prefix="/api/v1/hierarchy", tags=["hierarchy"])
TIMEOUT = 10.0
MANAGE = needs("hierarchy.manage")


class NodeOut(BaseModel):
    id: str
    parent_id: str | None
    name: str
    kind: str
    number_count: int


class HierarchyOut(BaseModel):
    nodes: list[NodeOut]


class NodeIn(BaseModel):
    parent_id: str = Field(min_length=1, max_length=64, pattern=NOT_BLANK)
    name: str = Field(min_length=1, max_length=200, pattern=NOT_BLANK, examples=["Отдел продаж"])
    kind: NodeKind = Field(examples=["department"])


class NodePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NOT_BLANK)
    kind: NodeKind | None = None
    parent_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=NOT_BLANK,
        description="move the node (and its subtree) here",
    )


def node_out(node: pb.Node) -> NodeOut:
    return NodeOut(
        id=node.id,
        parent_id=node.parent_id or None,
        name=node.name,
        kind=node.kind,
        number_count=node.number_count,
    )


@router.get("", response_model=HierarchyOut, openapi_extra=ANY_USER)
async def get_hierarchy(backends: Backends, credential: CurrentCredential) -> HierarchyOut:
    """The whole tree, flat (parents before children; the root's parent is null)."""
    response = await backends.hierarchy.GetHierarchy(
        pb.GetHierarchyRequest(), metadata=credential.metadata, timeout=TIMEOUT
    )
    return HierarchyOut(nodes=[node_out(n) for n in response.nodes])


@router.post("/nodes", status_code=201, response_model=NodeOut, openapi_extra=MANAGE)
async def create_node(body: NodeIn, backends: Backends, metadata: ReplayableMetadata) -> NodeOut:
    """A new node (department, branch, city...) under a parent node."""
    response = await backends.hierarchy.CreateNode(
        pb.CreateNodeRequest(parent_id=body.parent_id, name=body.name, kind=body.kind),
        metadata=metadata,
        timeout=TIMEOUT,
    )
    return node_out(response.node)


@router.patch("/nodes/{node_id}", response_model=NodeOut, openapi_extra=MANAGE)
async def update_node(
    node_id: str, body: NodePatch, backends: Backends, credential: CurrentCredential
) -> NodeOut:
    """Rename, change the kind, or move under another parent (never into its own subtree)."""
    message = pb.UpdateNodeRequest(node_id=node_id)
    for name in ("name", "kind", "parent_id"):
        if (value := getattr(body, name)) is not None:
            setattr(message, name, value)
    response = await backends.hierarchy.UpdateNode(
        message, metadata=credential.metadata, timeout=TIMEOUT
    )
    return node_out(response.node)


@router.delete("/nodes/{node_id}", status_code=204, response_class=Response, openapi_extra=MANAGE)
async def delete_node(
    node_id: str,
    backends: Backends,
    credential: CurrentCredential,
    move_to: str | None = Query(default=None, max_length=64),
) -> Response:
    """Delete an empty node; with `move_to`, its numbers go there first."""
    await backends.hierarchy.DeleteNode(
        pb.DeleteNodeRequest(node_id=node_id, move_to_node_id=move_to or ""),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return Response(status_code=204)
