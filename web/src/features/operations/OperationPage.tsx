// One operation after it was started: its live progress and per-number results.
import { Anchor, Stack, Title } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { OperationView } from "./OperationView";

export function OperationPage() {
  const { id = "" } = useParams();
  const { t } = useTranslation();
  return (
    <Stack gap="lg">
      <Anchor component={Link} to="/results" size="sm">
        ← {t("results.title")}
      </Anchor>
      <Title order={1}>{t("operation.title")}</Title>
      <OperationView id={id} />
    </Stack>
  );
}
