// The audit log: every change, who made it, when and what; filtered by who, by the kind
// of event and by dates (Moscow days), read in pages.
import { Badge, Card, Group, NativeSelect, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { PagedTable } from "../../components/PagedTable";
import { useKeysetQuery } from "../../components/useKeysetQuery";
import { api, ok } from "../../lib/api";
import { useCan } from "../../lib/auth";
import { formatDateTime } from "../../lib/format";
import { useUsers } from "./hooks";

const PAGE_SIZE = 50;

/** A Moscow date (YYYY-MM-DD) as the instant its day starts, `days` later. */
function moscowDay(date: string, days = 0): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return null;
  const start = new Date(`${date}T00:00:00+03:00`);
  start.setUTCDate(start.getUTCDate() + days);
  return start.toISOString();
}

export function Audit() {
  const { t, i18n } = useTranslation();
  const can = useCan();
  const users = useUsers(can("users.manage"));
  const [actor, setActor] = useState("");
  const [typeText, setType] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [type] = useDebouncedValue(typeText.trim(), 300);
  const events = useKeysetQuery(["audit", actor, type, from, to], (pageToken) =>
    ok(
      api.GET("/api/v1/audit-events", {
        params: {
          query: {
            actor,
            type,
            from: moscowDay(from),
            to: moscowDay(to, 1),
            page_size: PAGE_SIZE,
            page_token: pageToken,
          },
        },
      }),
    ),
  );
  const people = new Map((users.data?.items ?? []).map((u) => [u.id, u.full_name || u.login]));
  const who = (actor: string, kind: string) =>
    people.get(actor) ?? (kind === "user" ? actor : t(`actorKind.${kind}` as "actorKind.system", { defaultValue: actor }));
  return (
    <Card withBorder component="section" aria-labelledby="audit-title">
      <Stack gap="sm">
        <Title order={2} size="h3" id="audit-title">
          {t("admin.audit")}
        </Title>
        <Group align="flex-end" wrap="wrap">
          {users.data ? (
            <NativeSelect
              label={t("admin.actor")}
              value={actor}
              onChange={(e) => setActor(e.currentTarget.value)}
              data={[
                { value: "", label: t("admin.anyone") },
                ...users.data.items.map((u) => ({ value: u.id, label: `${u.full_name} (${u.login})` })),
                { value: "operator", label: t("actorKind.operator") },
                { value: "system", label: t("actorKind.system") },
              ]}
              style={{ flex: "1 1 14rem" }}
            />
          ) : (
            <TextInput label={t("admin.actor")} value={actor} onChange={(e) => setActor(e.currentTarget.value.trim())} style={{ flex: "1 1 14rem" }} />
          )}
          <TextInput
            label={t("admin.eventType")}
            placeholder="vm.identity.user.created.v1"
            value={typeText}
            onChange={(e) => setType(e.currentTarget.value)}
            style={{ flex: "1 1 14rem" }}
          />
          <TextInput type="date" label={t("finance.from")} value={from} onChange={(e) => setFrom(e.currentTarget.value)} w={170} />
          <TextInput type="date" label={t("finance.to")} value={to} onChange={(e) => setTo(e.currentTarget.value)} w={170} />
        </Group>
        <PagedTable
          query={events}
          label={t("admin.audit")}
          empty={t("admin.noEvents")}
          minWidth={720}
          keyboardScroll
          striped
          head={
            <>
              <Table.Th>{t("admin.when")}</Table.Th>
              <Table.Th>{t("admin.actor")}</Table.Th>
              <Table.Th>{t("admin.what")}</Table.Th>
              <Table.Th>{t("admin.eventType")}</Table.Th>
              <Table.Th>{t("admin.result")}</Table.Th>
            </>
          }
          rowKey={(event) => event.id}
          row={(event) => (
            <Table.Tr>
              <Table.Td style={{ whiteSpace: "nowrap" }}>{formatDateTime(event.at, i18n.language)}</Table.Td>
              <Table.Td>{who(event.actor, event.actor_kind)}</Table.Td>
              <Table.Td>
                {event.summary}
                {event.target ? (
                  <Text size="xs" c="dimmed">
                    {event.target}
                  </Text>
                ) : null}
              </Table.Td>
              <Table.Td>
                <Text size="xs" style={{ wordBreak: "break-all" }}>
                  {event.type}
                </Text>
              </Table.Td>
              <Table.Td>
                <Badge variant="light" color={event.result === "denied" ? "red" : "green"}>
                  {t(`auditResult.${event.result}` as "auditResult.succeeded", { defaultValue: event.result })}
                </Badge>
              </Table.Td>
            </Table.Tr>
          )}
        />
      </Stack>
    </Card>
  );
}
