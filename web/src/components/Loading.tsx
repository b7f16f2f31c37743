import { Center, Loader, VisuallyHidden } from "@mantine/core";
import { useTranslation } from "react-i18next";

// The status region says «Загрузка…» to a screen reader; the spinner is decoration. A label
// on the spinner itself (a span without a role) is an ARIA attribute axe-core prohibits.
export function Loading() {
  const { t } = useTranslation();
  return (
    <Center p="xl" role="status" aria-live="polite">
      <Loader size="sm" aria-hidden />
      <VisuallyHidden>{t("app.loading")}</VisuallyHidden>
    </Center>
  );
}
