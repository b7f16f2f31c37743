// One operation as it runs: GET /operations/{id} every second until it is over, a progress
// bar, done / total / failed / unchanged, its files, and the result for each number.
import {
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  NativeSelect,
  Progress,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
} from "@mantine/core";
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Loading } from "../../components/Loading";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, download, ok, type Schemas } from "../../lib/api";
import { formatDateTime, formatMsisdn } from "../../lib/format";
import { useOperation } from "./hooks";
import { isFinal, type Operation } from "./model";

const RESULTS_PAGE = 50;
const RESULT_STATUSES = ["failed", "succeeded", "unchanged", "pending", "cancelled"] as const;
type ResultStatus = (typeof RESULT_STATUSES)[number];

export function StatusBadge({ status }: { status: string }) {
  const { t } = useTranslation();
  const color = status === "succeeded" ? "green" : status === "failed" || status === "partially_failed" ? "red" : "gray";
  return (
    <Badge color={color} variant="light" data-testid="operation-status">
      {t(`operationStatus.${status}` as "operationStatus.pending", { defaultValue: status })}
    </Badge>
  );
}

export function OperationProgress({ op }: { op: Operation }) {
  const { t } = useTranslation();
  return (
    <Progress
      value={op.progress}
      size="lg"
      color={op.failed > 0 ? "red" : "green"}
      aria-label={t("operation.progress", { title: op.title || op.type })}
    />
  );
}

/** Download buttons for an operation's files (fetched with the bearer token). */
export function FileDownloads({ files }: { files: Schemas["OperationFileOut"][] }) {
  const { t } = useTranslation();
  const save = useMutation({ mutationFn: (file: Schemas["OperationFileOut"]) => download(file.url, file.name) });
  if (files.length === 0) return null;
  return (
    <Stack gap="xs">
      {save.error ? <ProblemAlert error={save.error} /> : null}
      <Group gap="xs">
        {files.map((file) => (
          <Button
            key={file.url}
            size="compact-sm"
            variant="default"
            loading={save.isPending && save.variables?.url === file.url}
            onClick={() => save.mutate(file)}
            aria-label={t("operation.downloadFile", { name: file.name })}
          >
            {t("operation.download")} {file.name} ({Math.max(1, Math.round(file.size / 1024))} {t("operation.kb")})
          </Button>
        ))}
      </Group>
    </Stack>
  );
}

export function OperationView({ id, heading = "h2" }: { id: string; heading?: "h2" | "h3" }) {
  const { t, i18n } = useTranslation();
  const operation = useOperation(id);
  const client = useQueryClient();
  const cancel = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/operations/{operation_id}/cancel", { params: { path: { operation_id: id } } })),
    onSuccess: (op) => {
      client.setQueryData(["operation", id], op);
      void client.invalidateQueries({ queryKey: ["operations"] });
    },
  });
  const op = operation.data;
  if (operation.error) return <ProblemAlert error={operation.error} onRetry={() => void operation.refetch()} />;
  if (!op) return <Loading />;
  const titleId = `operation-${id}-title`;
  return (
    <Card withBorder component="section" aria-labelledby={titleId} data-testid="operation">
      <Stack gap="sm">
        <Group justify="space-between" gap="xs">
          <Title order={heading === "h2" ? 2 : 3} size="h4" id={titleId}>
            {op.dry_run ? t("operation.dryRunOf", { title: op.title || op.type }) : op.title || op.type}
          </Title>
          <StatusBadge status={op.status} />
        </Group>
        <OperationProgress op={op} />
        <Text fw={600} data-testid="progress" aria-live="polite">
          {t("operation.percent", { progress: op.progress })}
        </Text>
        <SimpleGrid cols={{ base: 2, sm: 4 }} spacing="xs">
          <Count label={t("operation.total")} value={op.total} testId="total" />
          <Count label={t("operation.done")} value={op.done} testId="done" />
          <Count label={t("operation.failed")} value={op.failed} testId="failed" />
          <Count label={t("operation.unchanged")} value={op.unchanged} testId="unchanged" />
        </SimpleGrid>
        {op.scheduled_at && !op.started_at ? (
          <Text size="sm">{t("operation.scheduledFor", { at: formatDateTime(op.scheduled_at, i18n.language) })}</Text>
        ) : null}
        {op.finished_at ? (
          <Text size="sm" c="dimmed">
            {t("operation.finishedAt", { at: formatDateTime(op.finished_at, i18n.language) })}
          </Text>
        ) : null}
        {cancel.error ? <ProblemAlert error={cancel.error} /> : null}
        {op.status === "pending" ? (
          <Button variant="default" onClick={() => cancel.mutate()} loading={cancel.isPending} style={{ alignSelf: "flex-start" }}>
            {t("operation.cancel")}
          </Button>
        ) : null}
        <FileDownloads files={op.files} />
        <Results op={op} />
      </Stack>
    </Card>
  );
}

function Count({ label, value, testId }: { label: string; value: number; testId: string }) {
  return (
    <div>
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text fw={700} data-testid={testId}>
        {value}
      </Text>
    </div>
  );
}

/** The result for each number, in pages of 50; loaded again when the operation ends. */
function Results({ op }: { op: Operation }) {
  const { t } = useTranslation();
  const [status, setStatus] = useState<ResultStatus | "">("");
  const final = isFinal(op);
  const results = useInfiniteQuery({
    queryKey: ["operation-results", op.id, final, status],
    queryFn: ({ pageParam }) =>
      ok(
        api.GET("/api/v1/operations/{operation_id}/results", {
          params: {
            path: { operation_id: op.id },
            query: { page_size: RESULTS_PAGE, page_token: pageParam, ...(status ? { status } : {}) },
          },
        }),
      ),
    initialPageParam: "",
    getNextPageParam: (last) => last.next_page_token || undefined,
  });
  const items = results.data?.pages.flatMap((page) => page.items) ?? [];
  const resultName = (r: Schemas["ResultOut"]) =>
    op.dry_run && r.status === "succeeded"
      ? t("resultStatus.would_change")
      : t(`resultStatus.${r.status}` as "resultStatus.failed", { defaultValue: r.status });

  return (
    <Stack gap="xs">
      <Group justify="space-between" align="flex-end">
        <Title order={3} size="h5">
          {t("operation.results")}
        </Title>
        <NativeSelect
          label={t("operation.resultFilter")}
          value={status}
          onChange={(e) => setStatus(e.currentTarget.value as ResultStatus | "")}
          data={[
            { value: "", label: t("hierarchy.anyStatus") },
            ...RESULT_STATUSES.map((s) => ({ value: s, label: t(`resultStatus.${s}`) })),
          ]}
          w={200}
        />
      </Group>
      {results.error ? <ProblemAlert error={results.error} onRetry={() => void results.refetch()} /> : null}
      {results.isPending ? <Loading /> : null}
      {results.data && items.length === 0 ? <Text c="dimmed">{t("operation.noResults")}</Text> : null}
      {items.length > 0 ? (
        <Table.ScrollContainer minWidth={320}>
          <Table striped aria-label={t("operation.results")}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t("operation.target")}</Table.Th>
                <Table.Th>{t("operation.result")}</Table.Th>
                <Table.Th>{t("operation.detail")}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((r, i) => (
                <Table.Tr key={`${r.target}-${i}`}>
                  <Table.Td>
                    {r.msisdn ? (
                      <Anchor component={Link} to={`/numbers/${r.msisdn}`} style={{ whiteSpace: "nowrap" }}>
                        {formatMsisdn(r.msisdn)}
                      </Anchor>
                    ) : (
                      r.target
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Badge color={r.status === "failed" ? "red" : r.status === "succeeded" ? "green" : "gray"} variant="light">
                      {resultName(r)}
                    </Badge>
                  </Table.Td>
                  <Table.Td>{r.detail}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      ) : null}
      {results.hasNextPage ? (
        <Button
          variant="default"
          onClick={() => void results.fetchNextPage()}
          loading={results.isFetchingNextPage}
          style={{ alignSelf: "center" }}
        >
          {t("hierarchy.more")}
        </Button>
      ) : null}
    </Stack>
  );
}
