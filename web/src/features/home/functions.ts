// Where each function of the home page (`pinned` in /me/preferences) leads. Number
// functions start from the hierarchy (choose a number, then act on its card), as the
// seed article describes; the rest lead to their section.
export const FUNCTION_PATHS: Record<string, string> = {
  tariff_change: "/hierarchy",
  services: "/hierarchy",
  blocks: "/hierarchy",
  limits: "/hierarchy",
  forwarding: "/hierarchy",
  sim_replacement: "/hierarchy",
  number_replacement: "/hierarchy",
  sms: "/operations?tab=sms",
  transfers: "/finance",
  promised_payment: "/finance",
  settlement_method: "/finance",
  bill_delivery: "/finance",
  financial_documents: "/documents",
  reports: "/documents",
  operations: "/results",
  tickets: "/tickets",
  forms: "/forms",
  users: "/admin",
  hierarchy: "/hierarchy",
};
