// «Результаты операций»: every operation of the company the user may see (bulk ones, SMS,
// documents, reports), filtered by type and status, with progress and file downloads.
import { Anchor, Button, Card, Group, NativeSelect, Stack, Table, Text, Title } from "@mantine/core";
import { useInfiniteQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { Loading } from "../../components/Loading";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, ok } from "../../lib/api";
import type { paths } from "../../lib/schema";
import { formatDateTime } from "../../lib/format";
import { BULK_TYPES, isFinal } from "./model";
import { FileDownloads, OperationProgress, StatusBadge } from "./OperationView";

type OperationType = NonNullable<NonNullable<paths["/api/v1/operations"]["get"]["parameters"]["query"]>["type"]>;
const TYPES: readonly OperationType[] = [
  ...BULK_TYPES.map((b) => b.type),
  "change_tariff_settings",
  "replace_sim",
  "replace_number",
  "sms",
  "documents",
  "report",
];
const isType = (value: string): value is OperationType => (TYPES as readonly string[]).includes(value);
const STATUSES = ["pending", "running", "succeeded", "failed", "partially_failed", "cancelled"] as const;
type Status = (typeof STATUSES)[number];
const isStatus = (value: string | null): value is Status => (STATUSES as readonly (string | null)[]).includes(value);

export function ResultsPage() {
  const { t, i18n } = useTranslation();
  const [params, setParams] = useSearchParams();
  const type = params.get("type") ?? "";
  const status = params.get("status");
  const operations = useInfiniteQuery({
    queryKey: ["operations", "journal", type, status],
    queryFn: ({ pageParam }) =>
      ok(
        api.GET("/api/v1/operations", {
          params: {
            query: {
              page_size: 20,
              page_token: pageParam,
              ...(isType(type) ? { type } : {}),
              ...(isStatus(status) ? { status } : {}),
            },
          },
        }),
      ),
    initialPageParam: "",
    getNextPageParam: (last) => last.next_page_token || undefined,
    // While one is still going, the list follows it.
    refetchInterval: (query) =>
      query.state.data?.pages.some((p) => p.items.some((op) => !isFinal(op))) ? 2000 : false,
  });
  const items = operations.data?.pages.flatMap((page) => page.items) ?? [];
  const filter = (key: string, value: string) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        if (value) next.set(key, value);
        else next.delete(key);
        return next;
      },
      { replace: true },
    );

  return (
    <Stack gap="lg">
      <Title order={1}>{t("results.title")}</Title>
      <Card withBorder component="section" aria-labelledby="journal-title">
        <Title order={2} size="h4" id="journal-title" mb="xs">
          {t("results.journal")}
        </Title>
        <Group align="flex-end" mb="sm">
          <NativeSelect
            label={t("results.type")}
            value={type}
            onChange={(e) => filter("type", e.currentTarget.value)}
            data={[
              { value: "", label: t("hierarchy.anyStatus") },
              ...TYPES.map((x) => ({ value: x, label: t(`bulkType.${x}`) })),
            ]}
            style={{ flex: "1 1 14rem" }}
          />
          <NativeSelect
            label={t("results.status")}
            value={isStatus(status) ? status : ""}
            onChange={(e) => filter("status", e.currentTarget.value)}
            data={[
              { value: "", label: t("hierarchy.anyStatus") },
              ...STATUSES.map((s) => ({ value: s, label: t(`operationStatus.${s}`) })),
            ]}
            style={{ flex: "1 1 12rem" }}
          />
        </Group>
        {operations.error ? <ProblemAlert error={operations.error} onRetry={() => void operations.refetch()} /> : null}
        {operations.isPending ? <Loading /> : null}
        {operations.data && items.length === 0 ? <Text c="dimmed">{t("home.noOperations")}</Text> : null}
        {items.length > 0 ? (
          <Table.ScrollContainer minWidth={320}>
            <Table aria-label={t("results.journal")}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t("home.operation")}</Table.Th>
                  <Table.Th w="40%">{t("home.progress")}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {items.map((op) => (
                  <Table.Tr key={op.id} data-testid="journal-row">
                    <Table.Td>
                      <Anchor component={Link} to={`/operations/${op.id}`} fw={500}>
                        {op.title || op.type}
                      </Anchor>
                      <Text size="xs" c="dimmed" mb={op.files.length ? "xs" : 0}>
                        {formatDateTime(op.created_at, i18n.language)}
                        {op.dry_run ? ` · ${t("results.dryRun")}` : ""}
                      </Text>
                      <FileDownloads files={op.files} />
                    </Table.Td>
                    <Table.Td>
                      <Stack gap={4}>
                        <div>
                          <StatusBadge status={op.status} />
                        </div>
                        <OperationProgress op={op} />
                        <Text size="xs">
                          {t("results.counts", { done: op.done, total: op.total, failed: op.failed })}
                        </Text>
                      </Stack>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        ) : null}
        {operations.hasNextPage ? (
          <Button
            variant="default"
            mt="sm"
            onClick={() => void operations.fetchNextPage()}
            loading={operations.isFetchingNextPage}
          >
            {t("hierarchy.more")}
          </Button>
        ) : null}
      </Card>
    </Stack>
  );
}
