// The deliveries of one endpoint, newest first, filtered by state and read in keyset pages;
// each one's attempts (time, answer code, latency, error, the answer's first bytes) opened
// under its row, and «Повторить» to send it again at once. While a delivery is on its way
// the list is read again every few seconds.
import { Badge, Button, Card, Code, Group, NativeSelect, Stack, Table, Text, Title } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Done } from "../../components/OperationForm";
import { PagedTable } from "../../components/PagedTable";
import { useKeysetQuery } from "../../components/useKeysetQuery";
import { api, ok, type Schemas } from "../../lib/api";
import { formatDateTime } from "../../lib/format";
import { useEventLabel } from "./events";

type Delivery = Schemas["DeliveryOut"];
type State = NonNullable<Delivery["state"]>;
const STATES: readonly State[] = ["pending", "succeeded", "failed"];
const PAGE_SIZE = 20;
const POLL_MS = 2_000;
/** A pending delivery whose next attempt is this near (or unknown) is polled for. */
const SOON_MS = 60_000;
const COLUMNS = 5;

const STATE_COLOR: Record<State, string> = { pending: "gray", succeeded: "green", failed: "red" };

export function Deliveries({ endpointId }: { endpointId: string }) {
  const { t, i18n } = useTranslation();
  const eventLabel = useEventLabel();
  const client = useQueryClient();
  const [state, setState] = useState<State | "">("");
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const deliveries = useKeysetQuery(["webhook-deliveries", endpointId, state], (pageToken) =>
    ok(
      api.GET("/api/v1/webhooks/{endpoint_id}/deliveries", {
        params: {
          path: { endpoint_id: endpointId },
          query: { state: state || undefined, page_size: PAGE_SIZE, page_token: pageToken },
        },
      }),
    ),
  );
  const retry = useMutation({
    mutationFn: (deliveryId: string) =>
      ok(
        api.POST("/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry", {
          params: { path: { endpoint_id: endpointId, delivery_id: deliveryId } },
        }),
      ),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["webhook-deliveries", endpointId] }),
  });

  const { refetch, dataUpdatedAt } = deliveries;
  const items = deliveries.data?.pages.flatMap((page) => page.items) ?? [];
  // Measured from when the list was read, so that reading it again decides anew.
  const awaited = items.some(
    (d) => d.state === "pending" && (!d.next_attempt_at || Date.parse(d.next_attempt_at) - dataUpdatedAt < SOON_MS),
  );
  useEffect(() => {
    if (!awaited) return;
    const timer = window.setTimeout(() => void refetch(), POLL_MS);
    return () => window.clearTimeout(timer);
  }, [awaited, refetch, dataUpdatedAt]);

  const toggle = (id: string) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const when = (d: Delivery) => formatDateTime(d.event_time, i18n.language);

  return (
    <Card withBorder component="section" aria-labelledby="deliveries-title">
      <Stack gap="sm">
        <Title order={2} size="h3" id="deliveries-title">
          {t("webhooks.deliveries")}
        </Title>
        <Group align="flex-end" wrap="wrap">
          <NativeSelect
            label={t("webhooks.deliveryState")}
            value={state}
            onChange={(e) => setState(e.currentTarget.value as State | "")}
            data={[
              { value: "", label: t("webhooks.anyState") },
              ...STATES.map((s) => ({ value: s, label: t(`deliveryState.${s}`) })),
            ]}
            w={220}
          />
          <Button variant="default" onClick={() => void refetch()} loading={deliveries.isRefetching && !awaited}>
            {t("webhooks.refresh")}
          </Button>
        </Group>
        {retry.isSuccess ? <Done text={t("webhooks.retried")} /> : null}
        <PagedTable
          query={deliveries}
          actionError={retry.error}
          label={t("webhooks.deliveries")}
          empty={t("webhooks.noDeliveries")}
          minWidth={760}
          keyboardScroll
          head={
            <>
              <Table.Th>{t("webhooks.event")}</Table.Th>
              <Table.Th>{t("webhooks.eventTime")}</Table.Th>
              <Table.Th>{t("webhooks.deliveryState")}</Table.Th>
              <Table.Th>{t("webhooks.attempts")}</Table.Th>
              <Table.Th>{t("webhooks.actions")}</Table.Th>
            </>
          }
          rowKey={(delivery) => delivery.id}
          row={(delivery) => {
            const expanded = open.has(delivery.id);
            const attemptsId = `attempts-${delivery.id}`;
            const event = eventLabel(delivery.event_type);
            return (
              <>
                <Table.Tr data-testid="delivery">
                  <Table.Td>
                    {event}
                    <Text size="xs" c="dimmed" style={{ wordBreak: "break-all" }}>
                      {delivery.message_id}
                    </Text>
                  </Table.Td>
                  <Table.Td style={{ whiteSpace: "nowrap" }}>{when(delivery)}</Table.Td>
                  <Table.Td>
                    <Badge variant="light" color={STATE_COLOR[delivery.state]}>
                      {t(`deliveryState.${delivery.state}`)}
                    </Badge>
                    {delivery.state === "pending" && delivery.next_attempt_at ? (
                      <Text size="xs" c="dimmed">
                        {t("webhooks.nextAttempt", { at: formatDateTime(delivery.next_attempt_at, i18n.language) })}
                      </Text>
                    ) : null}
                    {delivery.failure ? (
                      <Text size="xs" c="red.9">
                        {delivery.failure}
                      </Text>
                    ) : null}
                  </Table.Td>
                  <Table.Td>
                    <Button
                      size="compact-sm"
                      variant="subtle"
                      aria-expanded={expanded}
                      aria-controls={attemptsId}
                      onClick={() => toggle(delivery.id)}
                    >
                      {t("webhooks.showAttempts", { count: delivery.attempts.length })}
                    </Button>
                  </Table.Td>
                  <Table.Td>
                    <Button
                      size="compact-sm"
                      variant="outline"
                      aria-label={t("webhooks.retryOf", { event, at: when(delivery) })}
                      loading={retry.isPending && retry.variables === delivery.id}
                      onClick={() => retry.mutate(delivery.id)}
                    >
                      {t("webhooks.retry")}
                    </Button>
                  </Table.Td>
                </Table.Tr>
                {expanded ? (
                  <Table.Tr id={attemptsId}>
                    <Table.Td colSpan={COLUMNS}>
                      <Attempts delivery={delivery} label={t("webhooks.attemptsOf", { event, at: when(delivery) })} />
                    </Table.Td>
                  </Table.Tr>
                ) : null}
              </>
            );
          }}
        />
      </Stack>
    </Card>
  );
}

function Attempts({ delivery, label }: { delivery: Delivery; label: string }) {
  const { t, i18n } = useTranslation();
  if (delivery.attempts.length === 0)
    return (
      <Text size="sm" c="dimmed">
        {t("webhooks.noAttempts")}
      </Text>
    );
  return (
    <Table aria-label={label} withTableBorder fz="sm">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>{t("webhooks.attemptAt")}</Table.Th>
          <Table.Th>{t("webhooks.code")}</Table.Th>
          <Table.Th>{t("webhooks.latency")}</Table.Th>
          <Table.Th>{t("webhooks.error")}</Table.Th>
          <Table.Th>{t("webhooks.answer")}</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {delivery.attempts.map((attempt, i) => (
          <Table.Tr key={i}>
            <Table.Td style={{ whiteSpace: "nowrap" }}>{formatDateTime(attempt.at, i18n.language)}</Table.Td>
            <Table.Td>{attempt.status_code ?? t("webhooks.noAnswer")}</Table.Td>
            <Table.Td style={{ whiteSpace: "nowrap" }}>{t("webhooks.ms", { value: attempt.latency_ms })}</Table.Td>
            <Table.Td>{attempt.error ?? "—"}</Table.Td>
            <Table.Td>
              {attempt.answer ? (
                <Code block style={{ whiteSpace: "pre-wrap", wordBreak: "break-all" }}>
                  {attempt.answer}
                </Code>
              ) : (
                "—"
              )}
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
