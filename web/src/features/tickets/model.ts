export const CATEGORIES = ["billing", "technical", "number_porting", "contract", "other"] as const;
export const STATUSES = ["open", "in_progress", "waiting_for_customer", "resolved", "closed"] as const;
export type Category = (typeof CATEGORIES)[number];
