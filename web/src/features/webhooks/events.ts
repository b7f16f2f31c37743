// The public events a webhook or an automation rule takes (API.md), and how a person reads
// them: «Номер заблокирован» for number.blocked.
import { useTranslation } from "react-i18next";
import type { Schemas } from "../../lib/api";

export type PublicEvent = Schemas["RuleIn"]["trigger"];
export type EndpointEvent = Schemas["EndpointIn"]["event_types"][number];

/** Every public event type, in the order of API.md. */
export const PUBLIC_EVENTS = [
  "number.blocked",
  "number.unblocked",
  "number.tariff_changed",
  "number.service_connected",
  "number.service_disconnected",
  "number.sim_replaced",
  "number.msisdn_replaced",
  "account.balance_exhausted",
  "account.balance_restored",
  "account.balance_low",
  "payment.received",
  "transfer.completed",
  "limit.reached",
  "promised_payment.due",
  "operation.finished",
  "file.ready",
  "ticket.status_changed",
] as const satisfies readonly PublicEvent[];

/** Event types in the order of PUBLIC_EVENTS (unknown ones last), as lists show them. */
export function inOrder(types: readonly string[]): string[] {
  const rank = (type: string) => {
    const at = (PUBLIC_EVENTS as readonly string[]).indexOf(type);
    return at < 0 ? PUBLIC_EVENTS.length : at;
  };
  return [...types].sort((a, b) => rank(a) - rank(b));
}

/** An endpoint's events: every one, present and future. */
export const ALL_EVENTS = "*";

/** An event type's label: the translation of its key (dots are key separators to i18next). */
export function useEventLabel() {
  const { t } = useTranslation();
  return (type: string) =>
    type === ALL_EVENTS
      ? t("eventType.all")
      : t(`eventType.${type.replace(/\./g, "_")}` as "eventType.number_blocked", { defaultValue: type });
}
