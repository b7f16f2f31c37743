import { useQuery } from "@tanstack/react-query";
import { api, ok } from "../../lib/api";

/** GET /me/preferences: the pinned functions and the language. */
export function usePreferences(enabled = true) {
  return useQuery({
    queryKey: ["preferences"],
    queryFn: () => ok(api.GET("/api/v1/me/preferences")),
    enabled,
    staleTime: 60_000,
  });
}
