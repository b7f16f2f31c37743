// A rule's runs, newest first, in keyset pages: when, on which event, the outcome (ran,
// skipped, throttled, paused) and, when it ran, its operation in «Результаты операций».
import { Anchor, Badge, Card, Stack, Table, Text, Title } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { PagedTable } from "../../components/PagedTable";
import { useKeysetQuery } from "../../components/useKeysetQuery";
import { api, ok } from "../../lib/api";
import { formatDateTime } from "../../lib/format";
import { useEventLabel } from "../webhooks/events";
import type { Rule, Run } from "./model";

const PAGE_SIZE = 20;
const OUTCOME_COLOR: Record<Run["outcome"], string> = {
  ran: "green",
  skipped: "gray",
  throttled: "gray",
  paused: "red",
  pending: "gray",
};

export function Runs({ rule }: { rule: Rule }) {
  const { t, i18n } = useTranslation();
  const eventLabel = useEventLabel();
  const runs = useKeysetQuery(["automation-runs", rule.id], (pageToken) =>
    ok(
      api.GET("/api/v1/automation-rules/{rule_id}/runs", {
        params: { path: { rule_id: rule.id }, query: { page_size: PAGE_SIZE, page_token: pageToken } },
      }),
    ),
  );
  const label = t("automation.runsOf", { name: rule.name });
  return (
    <Card withBorder component="section" aria-labelledby="runs-title">
      <Stack gap="sm">
        <Title order={2} size="h3" id="runs-title">
          {t("automation.runs")}
        </Title>
        <PagedTable
          query={runs}
          label={label}
          empty={t("automation.noRuns")}
          minWidth={720}
          keyboardScroll
          striped
          head={
            <>
              <Table.Th>{t("automation.at")}</Table.Th>
              <Table.Th>{t("automation.event")}</Table.Th>
              <Table.Th>{t("automation.outcome")}</Table.Th>
              <Table.Th>{t("automation.detail")}</Table.Th>
              <Table.Th>{t("automation.operation")}</Table.Th>
            </>
          }
          rowKey={(run) => run.id}
          row={(run) => (
            <Table.Tr>
              <Table.Td style={{ whiteSpace: "nowrap" }}>{formatDateTime(run.at, i18n.language)}</Table.Td>
              <Table.Td>{eventLabel(run.event_type)}</Table.Td>
              <Table.Td>
                <Badge variant="light" color={OUTCOME_COLOR[run.outcome]}>
                  {t(`runOutcome.${run.outcome}`)}
                </Badge>
                {run.status && run.status !== "succeeded" ? (
                  <Text size="xs" c="dimmed">
                    {t(`operationStatus.${run.status}` as "operationStatus.succeeded", { defaultValue: run.status })}
                  </Text>
                ) : null}
              </Table.Td>
              <Table.Td>
                <Text size="sm">{run.detail ?? "—"}</Text>
              </Table.Td>
              <Table.Td>
                {run.operation_id ? (
                  <Anchor component={Link} to={`/operations/${run.operation_id}`} size="sm">
                    {t("automation.openOperation")}
                  </Anchor>
                ) : (
                  "—"
                )}
              </Table.Td>
            </Table.Tr>
          )}
        />
      </Stack>
    </Card>
  );
}
