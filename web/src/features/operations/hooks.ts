// The hooks and helpers of the operations' screens.
import { useQuery } from "@tanstack/react-query";
import { api, ok } from "../../lib/api";
import { useHierarchy, type Node } from "../../lib/auth";
import { isFinal, splitNumbers } from "./model";

/** GET /operations/{id}, every second until the operation is over. */
export function useOperation(id: string) {
  return useQuery({
    queryKey: ["operation", id],
    queryFn: () => ok(api.GET("/api/v1/operations/{operation_id}", { params: { path: { operation_id: id } } })),
    refetchInterval: (query) => (isFinal(query.state.data) ? false : 1000),
    enabled: id !== "",
  });
}

export interface TargetsValue {
  mode: "numbers" | "node";
  numbers: string;
  nodeId: string;
}

export function targetsBody(value: TargetsValue): { msisdns: string[] } | { node_id: string } {
  return value.mode === "node" ? { node_id: value.nodeId } : { msisdns: splitNumbers(value.numbers) };
}

/** The nodes in tree order, each indented by its depth, for a select. */
export function useNodeOptions(): { value: string; label: string }[] {
  const tree = useHierarchy();
  const nodes = tree.data?.nodes ?? [];
  const ids = new Set(nodes.map((n) => n.id));
  const children = new Map<string | null, Node[]>();
  for (const node of nodes) {
    const parent = node.parent_id && ids.has(node.parent_id) ? node.parent_id : null;
    children.set(parent, [...(children.get(parent) ?? []), node]);
  }
  const out: { value: string; label: string }[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const node of children.get(parent) ?? []) {
      out.push({ value: node.id, label: `${"\u2003".repeat(depth)}${node.name} (${node.number_count})` });
      walk(node.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

