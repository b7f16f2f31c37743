// The language: Russian or English. Signed in, it is the `locale` of /me/preferences
// (kept with the pinned functions); before that, this browser's choice.
import { SegmentedControl } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { api, ok } from "../../lib/api";
import { useSignedIn } from "../../lib/auth";
import { isLocale, setLocale, type Locale } from "../../lib/i18n";
import { pinnedIds, usePreferences } from "./preferences";

export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  const signedIn = useSignedIn();
  const preferences = usePreferences(signedIn);
  const client = useQueryClient();
  const save = useMutation({
    mutationFn: (locale: Locale) =>
      ok(
        api.PUT("/api/v1/me/preferences", {
          body: { pinned: pinnedIds(preferences.data?.pinned ?? []), locale },
        }),
      ),
    onSuccess: (saved) => client.setQueryData(["preferences"], saved),
  });
  const choose = (value: string) => {
    if (!isLocale(value)) return;
    void setLocale(value);
    if (signedIn) save.mutate(value);
  };
  return (
    <SegmentedControl
      size="xs"
      aria-label={t("app.language")}
      value={isLocale(i18n.language) ? i18n.language : "ru"}
      onChange={choose}
      data={[
        { value: "ru", label: "RU" },
        { value: "en", label: "EN" },
      ]}
    />
  );
}
