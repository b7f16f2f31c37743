// Automation rules as the form holds them: each action a flat draft of text fields (so that
// changing an action's type keeps what was typed), turned into the API's tagged action on
// submit, with the mistakes found before asking the gateway.
import { ProblemError, type Schemas } from "../../lib/api";
import { formatMoney, parseRubles } from "../../lib/format";
import { CUSTOMER_BLOCKS, LIMIT_ACTIONS, LIMIT_KINDS } from "../operations/model";
import type { Category } from "../tickets/model";

export type Rule = Schemas["RuleOut"];
export type Run = Schemas["RunOut"];
export type Action = Schemas["RuleIn"]["actions"][number];
export type ActionType = Action["type"];

export const ACTION_TYPES = [
  "block_numbers",
  "unblock_numbers",
  "set_limit",
  "send_sms",
  "send_email",
  "call_webhook",
  "open_ticket",
] as const satisfies readonly ActionType[];
export const MAX_ACTIONS = 10;
export const SMS_MAX = 670;

export interface ActionDraft {
  /** A React key of its own: drafts are added and removed anywhere in the list. */
  key: number;
  type: ActionType;
  blockType: (typeof CUSTOMER_BLOCKS)[number];
  limitKind: (typeof LIMIT_KINDS)[number];
  /** Roubles as typed. */
  amount: string;
  limitAction: (typeof LIMIT_ACTIONS)[number];
  userIds: string[];
  /** One number / address a line. */
  msisdns: string;
  addresses: string;
  subject: string;
  text: string;
  endpointId: string;
  category: Category;
}

let nextKey = 0;

export function newDraft(type: ActionType = "block_numbers"): ActionDraft {
  return {
    key: nextKey++,
    type,
    blockType: "voluntary",
    limitKind: "total",
    amount: "",
    limitAction: "block",
    userIds: [],
    msisdns: "",
    addresses: "",
    subject: "",
    text: "",
    endpointId: "",
    category: "technical",
  };
}

/** Kopecks as roubles to edit: 150000 → "1500,00". */
function rublesText(kopecks: number): string {
  return `${Math.trunc(kopecks / 100)},${String(kopecks % 100).padStart(2, "0")}`;
}

export function draftOf(action: Action): ActionDraft {
  const draft = newDraft(action.type);
  switch (action.type) {
    case "block_numbers":
    case "unblock_numbers":
      return { ...draft, blockType: action.block_type };
    case "set_limit":
      return { ...draft, limitKind: action.kind, amount: rublesText(action.amount.amount), limitAction: action.action };
    case "send_sms":
      return { ...draft, userIds: action.user_ids ?? [], msisdns: (action.msisdns ?? []).join("\n"), text: action.text };
    case "send_email":
      return {
        ...draft,
        userIds: action.user_ids ?? [],
        addresses: (action.addresses ?? []).join("\n"),
        subject: action.subject,
        text: action.text,
      };
    case "call_webhook":
      return { ...draft, endpointId: action.endpoint_id };
    case "open_ticket":
      return { ...draft, category: action.category, subject: action.subject, text: action.text };
  }
}

const lines = (text: string) =>
  text
    .split(/[\n,;]/)
    .map((line) => line.trim())
    .filter(Boolean);

/** A field of a draft that is wrong before asking: its name in the draft and why. */
export interface DraftProblem {
  field: "amount" | "recipients" | "subject" | "text" | "endpointId";
  reason: "required" | "amount" | "recipients";
}

export function problemOf(draft: ActionDraft): DraftProblem | null {
  switch (draft.type) {
    case "set_limit":
      return parseRubles(draft.amount) === null ? { field: "amount", reason: "amount" } : null;
    case "send_sms":
      if (draft.userIds.length === 0 && lines(draft.msisdns).length === 0) return { field: "recipients", reason: "recipients" };
      return draft.text.trim() ? null : { field: "text", reason: "required" };
    case "send_email":
      if (draft.userIds.length === 0 && lines(draft.addresses).length === 0) return { field: "recipients", reason: "recipients" };
      if (!draft.subject.trim()) return { field: "subject", reason: "required" };
      return draft.text.trim() ? null : { field: "text", reason: "required" };
    case "call_webhook":
      return draft.endpointId.trim() ? null : { field: "endpointId", reason: "required" };
    case "open_ticket":
      if (!draft.subject.trim()) return { field: "subject", reason: "required" };
      return draft.text.trim() ? null : { field: "text", reason: "required" };
    default:
      return null;
  }
}

/** The API's action of a draft without a problem (problemOf is null). */
export function actionOf(draft: ActionDraft): Action {
  switch (draft.type) {
    case "block_numbers":
    case "unblock_numbers":
      return { type: draft.type, block_type: draft.blockType };
    case "set_limit":
      return {
        type: "set_limit",
        kind: draft.limitKind,
        amount: { amount: parseRubles(draft.amount) ?? 0, currency: "RUB" },
        action: draft.limitAction,
      };
    case "send_sms":
      return { type: "send_sms", user_ids: draft.userIds, msisdns: lines(draft.msisdns), text: draft.text.trim() };
    case "send_email":
      return {
        type: "send_email",
        user_ids: draft.userIds,
        addresses: lines(draft.addresses),
        subject: draft.subject.trim(),
        text: draft.text.trim(),
      };
    case "call_webhook":
      return { type: "call_webhook", endpoint_id: draft.endpointId.trim() };
    case "open_ticket":
      return { type: "open_ticket", category: draft.category, subject: draft.subject.trim(), text: draft.text.trim() };
  }
}

/**
 * The gateway's message about a field or anything inside it: `actions[0].msisdns` also
 * matches `actions[0].msisdns[1]` and `actions[0].amount.amount`.
 */
export function errorUnder(error: unknown, ...fields: string[]): string | undefined {
  if (!(error instanceof ProblemError)) return undefined;
  return error.problem.errors?.find(
    (e) =>
      e.field !== undefined &&
      fields.some((f) => e.field === f || e.field?.startsWith(`${f}.`) || e.field?.startsWith(`${f}[`)),
  )?.message;
}

/** The gateway's message about exactly one of these fields (not what is inside them). */
export function errorAt(error: unknown, ...fields: string[]): string | undefined {
  if (!(error instanceof ProblemError)) return undefined;
  return error.problem.errors?.find((e) => e.field !== undefined && fields.includes(e.field))?.message;
}

/** Roubles of a set_limit action as the list shows them. */
export function limitAmount(action: Extract<Action, { type: "set_limit" }>, locale: string): string {
  return formatMoney({ amount: action.amount.amount, currency: "RUB" }, locale);
}
