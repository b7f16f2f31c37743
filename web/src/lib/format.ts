// How the console writes numbers, money and time, in the user's language.
import type { Schemas } from "./api";

/** 79161234567 → +7 916 123-45-67 (anything else as it came). */
export function formatMsisdn(msisdn: string): string {
  const m = /^7(\d{3})(\d{3})(\d{2})(\d{2})$/.exec(msisdn);
  return m ? `+7 ${m[1]} ${m[2]}-${m[3]}-${m[4]}` : msisdn;
}

/** Kopecks (an integer) → "1 234,56 ₽"; the decimal string is built without floats. */
export function formatMoney(money: Schemas["Money"], locale: string): string {
  const kopecks = BigInt(money.amount);
  const negative = kopecks < 0n;
  const abs = negative ? -kopecks : kopecks;
  const text = `${negative ? "-" : ""}${abs / 100n}.${(abs % 100n).toString().padStart(2, "0")}`;
  return new Intl.NumberFormat(locale, {
    style: "currency",
    currency: money.currency ?? "RUB",
    minimumFractionDigits: 2,
  }).format(text as Intl.StringNumericLiteral);
}

/** An RFC 3339 instant in Moscow time: "04.12.2026, 23:30". */
export function formatDateTime(value: string | null | undefined, locale: string): string {
  if (!value) return "—";
  return new Intl.DateTimeFormat(locale, {
    timeZone: "Europe/Moscow",
    dateStyle: "short",
    timeStyle: "short",
  }).format(new Date(value));
}

/** An RFC 3339 instant or a date as a Moscow date: "04.12.2026". */
export function formatDate(value: string | null | undefined, locale: string): string {
  if (!value) return "—";
  return new Intl.DateTimeFormat(locale, { timeZone: "Europe/Moscow", dateStyle: "short" }).format(
    new Date(value),
  );
}

/** Roubles as a person types them ("1 234,5", "1234.50") → kopecks; null when not a sum. */
export function parseRubles(text: string): number | null {
  const m = /^(\d{1,10})(?:[.,](\d{1,2}))?$/.exec(text.replace(/[\s\u00a0₽]/g, ""));
  if (!m) return null;
  const kopecks = Number(m[1]) * 100 + Number((m[2] ?? "0").padEnd(2, "0"));
  return kopecks > 0 ? kopecks : null;
}

/** The current month, "YYYY-MM", in Moscow. */
export function currentMonth(): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Moscow", year: "numeric", month: "2-digit" })
    .format(new Date())
    .slice(0, 7);
}
