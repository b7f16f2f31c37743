// Operations: what each bulk type needs (its permission and parameters), and when one is over.
import type { Schemas } from "../../lib/api";
import type { Permission } from "../../lib/auth";
import type { paths } from "../../lib/schema";

export type Operation = Schemas["OperationOut"];
export type OperationBody = paths["/api/v1/operations"]["post"]["requestBody"]["content"]["application/json"];
export type BulkType = OperationBody["type"];

export const FINAL: ReadonlySet<string> = new Set(["succeeded", "failed", "partially_failed", "cancelled"]);
export const isFinal = (op: Pick<Operation, "status"> | undefined): boolean => !!op && FINAL.has(op.status);

/** Each bulk type with the permission it needs where each number is (as catalog checks it). */
export const BULK_TYPES: readonly { type: BulkType; permission: Permission }[] = [
  { type: "block", permission: "numbers.blocks" },
  { type: "unblock", permission: "numbers.blocks" },
  { type: "change_tariff", permission: "numbers.tariff" },
  { type: "connect_service", permission: "numbers.services" },
  { type: "disconnect_service", permission: "numbers.services" },
  { type: "set_limit", permission: "numbers.limits" },
  { type: "remove_limit", permission: "numbers.limits" },
  { type: "set_forwarding", permission: "numbers.forwarding" },
  { type: "remove_forwarding", permission: "numbers.forwarding" },
  { type: "move_to_node", permission: "hierarchy.manage" },
  { type: "move_to_account", permission: "finance.settings" },
];

/** Whoever may start any bulk operation or send SMS sees «Массовые операции». */
export const BULK_PERMISSIONS: readonly Permission[] = [
  ...new Set([...BULK_TYPES.map((b) => b.permission), "numbers.sms" as const]),
];

export const CUSTOMER_BLOCKS = ["voluntary", "lost_stolen"] as const;
export const LIMIT_KINDS = ["total", "data", "roaming", "calls", "sms"] as const;
export const LIMIT_ACTIONS = ["notify", "block"] as const;
export const FORWARDING_CONDITIONS = ["unconditional", "busy", "no_reply", "unreachable"] as const;

/** Numbers typed or pasted one per line (or separated by commas / semicolons). */
export function splitNumbers(text: string): string[] {
  return text
    .split(/[\n,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}
