import { useQuery } from "@tanstack/react-query";
import { api, ok, type Schemas } from "../../lib/api";
import { FUNCTION_PATHS } from "../home/functions";

export type FunctionId = Schemas["PreferencesIn"]["pinned"][number];

/** The pinned functions the API knows (GET answers plain strings). */
export function pinnedIds(list: readonly string[]): FunctionId[] {
  return list.filter((id): id is FunctionId => id in FUNCTION_PATHS);
}

/** The `locale` preference as PUT takes it. */
export function localeOf(value: string | undefined): Schemas["PreferencesIn"]["locale"] {
  return value === "ru" || value === "en" ? value : "";
}

/** GET /me/preferences: the pinned functions and the language. */
export function usePreferences(enabled = true) {
  return useQuery({
    queryKey: ["preferences"],
    queryFn: () => ok(api.GET("/api/v1/me/preferences")),
    enabled,
    staleTime: 60_000,
  });
}
