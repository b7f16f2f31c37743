// «Уведомления» in «Мои настройки»: for each kind of notification (financial block and
// restore, balance below its threshold, promised payment due, limit reached, operation
// finished, document or report ready, ticket answered) whether it comes by e-mail and by
// SMS; saved with PUT /me/notifications.
import { Checkbox, Table, Text } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Loading } from "../../components/Loading";
import { OperationForm } from "../../components/OperationForm";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, ok, type Schemas } from "../../lib/api";

type Choice = Schemas["NotificationChoice"];
type Kind = Choice["kind"];
type Channel = "email" | "sms";

/** The kinds in the order of API.md. */
const KINDS: readonly Kind[] = [
  "financial_block",
  "balance_low",
  "promised_payment_due",
  "limit_reached",
  "operation_finished",
  "file_ready",
  "ticket_answered",
];
const CHANNELS: readonly Channel[] = ["email", "sms"];
const KEY = ["notifications"];

export function Notifications() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const stored = useQuery({ queryKey: KEY, queryFn: () => ok(api.GET("/api/v1/me/notifications")) });
  // The boxes changed since the last save, over what is stored.
  const [changed, setChanged] = useState<Partial<Record<Kind, Choice>>>({});
  const save = useMutation({
    mutationFn: (choices: Choice[]) => ok(api.PUT("/api/v1/me/notifications", { body: { choices } })),
    onSuccess: (saved) => {
      client.setQueryData(KEY, saved);
      setChanged({});
    },
  });
  const choiceOf = (kind: Kind): Choice =>
    changed[kind] ?? stored.data?.choices.find((c) => c.kind === kind) ?? { kind, email: true, sms: false };
  const toggle = (kind: Kind, channel: Channel, on: boolean) => {
    save.reset();
    setChanged((current) => ({ ...current, [kind]: { ...choiceOf(kind), [channel]: on } }));
  };
  const dirty = Object.keys(changed).length > 0;
  return (
    <OperationForm
      title={t("notifications.title")}
      titleId="notifications-title"
      error={save.error}
      fields={["choices"]}
      done={save.isSuccess && t("notifications.saved")}
      pending={save.isPending}
      disabled={!dirty}
      submitLabel={t("notifications.save")}
      onSubmit={() => save.mutate(KINDS.map(choiceOf))}
    >
      <Text size="sm" c="dimmed">
        {t("notifications.intro")}
      </Text>
      {stored.error ? <ProblemAlert error={stored.error} onRetry={() => void stored.refetch()} /> : null}
      {stored.isPending ? <Loading /> : null}
      {stored.data ? (
        <Table aria-labelledby="notifications-title" verticalSpacing="xs">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t("notifications.kind")}</Table.Th>
              {CHANNELS.map((channel) => (
                <Table.Th key={channel} ta="center" w={80}>
                  {t(`notifications.${channel}`)}
                </Table.Th>
              ))}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {KINDS.map((kind) => {
              const choice = choiceOf(kind);
              const label = t(`noticeKind.${kind}`);
              return (
                <Table.Tr key={kind}>
                  <Table.Td>{label}</Table.Td>
                  {CHANNELS.map((channel) => (
                    <Table.Td key={channel}>
                      <Checkbox
                        aria-label={t("notifications.channelFor", { channel: t(`notifications.${channel}`), kind: label })}
                        checked={choice[channel]}
                        onChange={(e) => toggle(kind, channel, e.currentTarget.checked)}
                        style={{ display: "flex", justifyContent: "center" }}
                      />
                    </Table.Td>
                  ))}
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      ) : null}
    </OperationForm>
  );
}
