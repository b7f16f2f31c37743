// Authentication and authorization in one small module: who is signed in (the session),
// who they are (GET /me: effective permissions and scopes), and what they may do where.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useSyncExternalStore } from "react";
import { api, ok, type Schemas } from "./api";
import { session } from "./session";

export type Me = Schemas["MeOut"];
export type Node = Schemas["NodeOut"];
export type Permission =
  | "numbers.view"
  | "numbers.manage_notes"
  | "numbers.tariff"
  | "numbers.services"
  | "numbers.blocks"
  | "numbers.limits"
  | "numbers.forwarding"
  | "numbers.sim"
  | "numbers.sms"
  | "hierarchy.manage"
  | "finance.view"
  | "finance.transfer"
  | "finance.promised_payment"
  | "finance.settings"
  | "documents.finance"
  | "reports.run"
  | "tickets.view"
  | "tickets.manage"
  | "users.manage"
  | "roles.manage"
  | "audit.view"
  | "api_keys.manage"
  | "webhooks.manage"
  | "automation.manage";

export function useSignedIn(): boolean {
  return useSyncExternalStore(session.subscribe, session.signedIn);
}

export function useMe() {
  return useQuery({
    queryKey: ["me"],
    queryFn: () => ok(api.GET("/api/v1/me")),
    staleTime: 60_000,
  });
}

export function useHierarchy(enabled = true) {
  return useQuery({
    queryKey: ["hierarchy"],
    queryFn: () => ok(api.GET("/api/v1/hierarchy")),
    enabled,
    staleTime: 30_000,
  });
}

/** Whether a scope of `me` carrying `permission` covers `nodeId` (its node or an ancestor). */
export function permits(
  me: Me | undefined,
  permission: Permission,
  nodeId?: string,
  nodes?: readonly Node[],
): boolean {
  if (!me) return false;
  if (nodeId === undefined) return me.permissions.includes(permission);
  const carrying = me.scopes.filter((s) => s.permissions.includes(permission));
  if (carrying.some((s) => s.node_id === null)) return true;
  const parent = new Map((nodes ?? []).map((n) => [n.id, n.parent_id]));
  const scoped = new Set(carrying.map((s) => s.node_id));
  for (let at: string | null | undefined = nodeId; at; at = parent.get(at)) {
    if (scoped.has(at)) return true;
  }
  return false;
}

/** `can(permission)` anywhere; `can(permission, nodeId)` for something at that node. */
export function useCan() {
  const { data: me } = useMe();
  const scopedOnly = !!me && !me.scopes.some((s) => s.node_id === null);
  const { data: tree } = useHierarchy(scopedOnly);
  return useCallback(
    (permission: Permission, nodeId?: string) => permits(me, permission, nodeId, tree?.nodes),
    [me, tree],
  );
}

export function useLogout() {
  const client = useQueryClient();
  return useCallback(async () => {
    const refresh_token = session.refreshToken();
    if (refresh_token) {
      await api.POST("/api/v1/auth/logout", { body: { refresh_token } }).catch(() => undefined);
    }
    session.end();
    client.clear();
  }, [client]);
}
