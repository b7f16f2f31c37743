// «Главная»: pinned functions one click away (arranged here with up/down buttons, saved
// in /me/preferences), balances at a glance (finance.view), the latest operation results.
import { Anchor, Badge, Button, Card, Group, Progress, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Loading } from "../../components/Loading";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, ok } from "../../lib/api";
import { useCan } from "../../lib/auth";
import { formatDateTime, formatMoney } from "../../lib/format";
import { localeOf, pinnedIds, usePreferences } from "../settings/preferences";
import { FUNCTION_PATHS } from "./functions";

export function HomePage() {
  const { t } = useTranslation();
  const can = useCan();
  return (
    <Stack gap="lg">
      <Title order={1}>{t("home.title")}</Title>
      <Pinned />
      {can("finance.view") ? <Balances /> : null}
      <LatestOperations />
    </Stack>
  );
}

function Pinned() {
  const { t } = useTranslation();
  const preferences = usePreferences();
  const client = useQueryClient();
  const [arranging, setArranging] = useState(false);
  const pinned = preferences.data?.pinned ?? [];
  const name = (id: string) => t(`functions.${id}` as "functions.hierarchy", { defaultValue: id });
  // Each move is saved at once (and shown at once; a refusal puts the old order back).
  const save = useMutation({
    mutationFn: (order: string[]) =>
      ok(
        api.PUT("/api/v1/me/preferences", {
          body: {
            pinned: pinnedIds(order),
            locale: localeOf(preferences.data?.locale),
          },
        }),
      ),
    onMutate: (order) => {
      const before = client.getQueryData(["preferences"]);
      client.setQueryData(["preferences"], { ...preferences.data, pinned: order });
      return { before };
    },
    onError: (_e, _order, context) => client.setQueryData(["preferences"], context?.before),
    onSuccess: (saved) => client.setQueryData(["preferences"], saved),
  });
  const move = (from: number, to: number) => {
    const order = [...pinned];
    order.splice(to, 0, ...order.splice(from, 1));
    save.mutate(order);
  };
  return (
    <Card withBorder component="section" aria-labelledby="pinned-title">
      <Group justify="space-between" mb="sm">
        <Title order={2} size="h3" id="pinned-title">
          {t("home.pinned")}
        </Title>
        <Group gap="xs">
          {pinned.length > 1 ? (
            <Button size="compact-sm" variant={arranging ? "filled" : "default"} aria-pressed={arranging} onClick={() => setArranging((a) => !a)}>
              {arranging ? t("settings.done") : t("settings.arrange")}
            </Button>
          ) : null}
          <Anchor component={Link} to="/settings" size="sm">
            {t("settings.edit")}
          </Anchor>
        </Group>
      </Group>
      {preferences.error ? <ProblemAlert error={preferences.error} /> : null}
      {save.error ? <ProblemAlert error={save.error} /> : null}
      {preferences.isPending ? <Loading /> : null}
      {preferences.data?.pinned.length === 0 ? <Text c="dimmed">{t("home.noPinned")}</Text> : null}
      {arranging ? (
        <Stack gap={6} component="ol" p={0} m={0} style={{ listStyle: "none" }} data-testid="pinned">
          {pinned.map((id, i) => (
            <Group key={id} component="li" justify="space-between" wrap="nowrap" gap="xs">
              <Text fw={500}>{name(id)}</Text>
              <Group gap={4} wrap="nowrap">
                <Button size="compact-sm" variant="default" disabled={i === 0} aria-label={t("settings.moveUp", { name: name(id) })} onClick={() => move(i, i - 1)}>
                  ↑
                </Button>
                <Button
                  size="compact-sm"
                  variant="default"
                  disabled={i === pinned.length - 1}
                  aria-label={t("settings.moveDown", { name: name(id) })}
                  onClick={() => move(i, i + 1)}
                >
                  ↓
                </Button>
              </Group>
            </Group>
          ))}
        </Stack>
      ) : (
        <SimpleGrid cols={{ base: 1, sm: 2, md: 3 }} data-testid="pinned">
          {pinned.map((id) => (
            <Anchor key={id} component={Link} to={FUNCTION_PATHS[id] ?? "/"} fw={500}>
              {name(id)}
            </Anchor>
          ))}
        </SimpleGrid>
      )}
    </Card>
  );
}

function Balances() {
  const { t, i18n } = useTranslation();
  const accounts = useQuery({
    queryKey: ["accounts"],
    queryFn: () => ok(api.GET("/api/v1/accounts", { params: { query: { page_size: 50 } } })),
  });
  return (
    <Card withBorder component="section" aria-labelledby="balances-title">
      <Title order={2} size="h3" id="balances-title" mb="sm">
        {t("home.balances")}
      </Title>
      {accounts.error ? <ProblemAlert error={accounts.error} onRetry={() => void accounts.refetch()} /> : null}
      {accounts.isPending ? <Loading /> : null}
      {accounts.data?.items.length === 0 ? <Text c="dimmed">{t("home.noAccounts")}</Text> : null}
      <SimpleGrid cols={{ base: 1, sm: 2, md: 3 }}>
        {accounts.data?.items.map((account) => (
          <Card key={account.id} withBorder padding="sm" data-testid="account">
            <Group justify="space-between" gap="xs">
              <Text size="sm" c="dimmed">
                {t("home.account")} {account.number}
              </Text>
              {account.blocked ? <Badge color="red">{t("home.blocked")}</Badge> : null}
            </Group>
            <Text size="xl" fw={700}>
              {formatMoney(account.balance, i18n.language)}
            </Text>
            <Text size="sm">
              {t("home.available")}: {formatMoney(account.available, i18n.language)}
            </Text>
          </Card>
        ))}
      </SimpleGrid>
    </Card>
  );
}

function LatestOperations() {
  const { t, i18n } = useTranslation();
  const operations = useQuery({
    queryKey: ["operations", "latest"],
    queryFn: () => ok(api.GET("/api/v1/operations", { params: { query: { page_size: 5 } } })),
  });
  const items = operations.data?.items ?? [];
  return (
    <Card withBorder component="section" aria-labelledby="operations-title">
      <Title order={2} size="h3" id="operations-title" mb="sm">
        {t("home.operations")}
      </Title>
      {operations.error ? <ProblemAlert error={operations.error} onRetry={() => void operations.refetch()} /> : null}
      {operations.isPending ? <Loading /> : null}
      {operations.data && items.length === 0 ? <Text c="dimmed">{t("home.noOperations")}</Text> : null}
      {items.length > 0 ? (
        <Table.ScrollContainer minWidth={480}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t("home.operation")}</Table.Th>
                <Table.Th>{t("home.status")}</Table.Th>
                <Table.Th>{t("home.progress")}</Table.Th>
                <Table.Th>{t("home.startedAt")}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((op) => (
                <Table.Tr key={op.id}>
                  <Table.Td>{op.title || op.type}</Table.Td>
                  <Table.Td>
                    {t(`operationStatus.${op.status}` as "operationStatus.pending", { defaultValue: op.status })}
                  </Table.Td>
                  <Table.Td>
                    <Progress value={op.progress} aria-label={`${op.progress}%`} size="sm" />
                  </Table.Td>
                  <Table.Td>{formatDateTime(op.created_at, i18n.language)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      ) : null}
    </Card>
  );
}
