import { Anchor, Stack, Title } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { Link, useRouteError } from "react-router";
import { ProblemAlert } from "../components/ProblemAlert";

export function NotFoundPage() {
  const { t } = useTranslation();
  return (
    <Stack>
      <Title order={1}>{t("app.notFound")}</Title>
      <Anchor component={Link} to="/">
        {t("app.toHome")}
      </Anchor>
    </Stack>
  );
}

export function RouteError() {
  return <ProblemAlert error={useRouteError()} />;
}
