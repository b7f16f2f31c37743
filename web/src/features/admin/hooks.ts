// The data of «Управление»: roles, users, the permission catalogue.
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { api, ok, type Schemas } from "../../lib/api";
import { useHierarchy } from "../../lib/auth";

export type Role = Schemas["RoleOut"];
export type User = Schemas["UserOut"];
export type Assignment = Schemas["Assignment"];
export type RolePermission = Schemas["RoleIn"]["permissions"][number];

export function useRoles(enabled = true) {
  return useQuery({
    queryKey: ["roles"],
    queryFn: () => ok(api.GET("/api/v1/roles", { params: { query: { page_size: 200 } } })),
    enabled,
  });
}

/** The company's users, up to 200; `q` finds them by login, full name, e-mail or phone. */
export function useUsers(enabled = true, q = "") {
  return useQuery({
    queryKey: ["users", q],
    queryFn: () => ok(api.GET("/api/v1/users", { params: { query: { page_size: 200, q: q || undefined } } })),
    enabled,
  });
}

export function usePermissionCatalogue() {
  return useQuery({
    queryKey: ["permissions"],
    queryFn: () => ok(api.GET("/api/v1/permissions")),
    staleTime: 600_000,
  });
}

/** A scope as a person reads it: «Вся компания» or the node's name. */
export function useScopeName() {
  const { t } = useTranslation();
  const tree = useHierarchy();
  const names = new Map((tree.data?.nodes ?? []).map((n) => [n.id, n.name]));
  return (nodeId: string | null | undefined) =>
    nodeId ? (names.get(nodeId) ?? nodeId) : t("admin.wholeCompany");
}
