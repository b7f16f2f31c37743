// i18next: Russian by default, English by the user's `locale` preference. The language
// last used in this browser is remembered for the login screen.
import i18next from "i18next";
import { initReactI18next } from "react-i18next";
import { en } from "../locales/en";
import { ru, type Messages } from "../locales/ru";

export const LOCALES = ["ru", "en"] as const;
export type Locale = (typeof LOCALES)[number];
const KEY = "vm.locale";

declare module "i18next" {
  interface CustomTypeOptions {
    defaultNS: "translation";
    resources: { translation: Messages };
  }
}

export function isLocale(value: unknown): value is Locale {
  return typeof value === "string" && (LOCALES as readonly string[]).includes(value);
}

function remembered(): Locale {
  try {
    const value = localStorage.getItem(KEY);
    return isLocale(value) ? value : "ru";
  } catch {
    return "ru";
  }
}

export async function setLocale(locale: Locale): Promise<void> {
  try {
    localStorage.setItem(KEY, locale);
  } catch {
    // private mode: the preference on the server still holds
  }
  document.documentElement.lang = locale;
  if (i18next.language !== locale) await i18next.changeLanguage(locale);
}

const initial = remembered();
document.documentElement.lang = initial;
void i18next.use(initReactI18next).init({
  resources: { ru: { translation: ru }, en: { translation: en } },
  lng: initial,
  fallbackLng: "ru",
  interpolation: { escapeValue: false },
});

export default i18next;
