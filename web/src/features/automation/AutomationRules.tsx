// «Правила автоматизации» in «Управление»: the company's rules with their event, condition,
// actions and state (on, off, paused and why); a new rule, a rule changed or deleted
// (RuleEditor), and its runs (Runs).
import { Badge, Button, Card, Code, Group, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { PagedTable } from "../../components/PagedTable";
import { ProblemAlert } from "../../components/ProblemAlert";
import { useKeysetQuery } from "../../components/useKeysetQuery";
import { api, ok } from "../../lib/api";
import { useEventLabel } from "../webhooks/events";
import { limitAmount, type Action, type Rule } from "./model";
import { RuleEditor } from "./RuleEditor";
import { Runs } from "./Runs";

const PAGE_SIZE = 50;
const NEW = "new";

/** An action in a few words: «Установить лимит: Общий за месяц, 5 000,00 ₽, Заблокировать номер». */
function useActionSummary() {
  const { t, i18n } = useTranslation();
  return (action: Action): string => {
    const what = t(`actionType.${action.type}`);
    switch (action.type) {
      case "block_numbers":
      case "unblock_numbers":
        return `${what}: ${t(`blockType.${action.block_type}`)}`;
      case "set_limit":
        return `${what}: ${t(`limitKind.${action.kind}`)}, ${limitAmount(action, i18n.language)}, ${t(`limitAction.${action.action}`)}`;
      case "open_ticket":
        return `${what}: ${action.subject}`;
      case "send_email":
        return `${what}: ${action.subject}`;
      default:
        return what;
    }
  };
}

export function AutomationRules() {
  const { t } = useTranslation();
  const eventLabel = useEventLabel();
  const summary = useActionSummary();
  const [chosen, setChosen] = useState<string | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const rules = useKeysetQuery(["automation-rules"], (pageToken) =>
    ok(api.GET("/api/v1/automation-rules", { params: { query: { page_size: PAGE_SIZE, page_token: pageToken } } })),
  );
  const choose = (id: string | null) => {
    setCreated(null);
    setChosen(id);
  };
  return (
    <Stack gap="lg">
      <Card withBorder component="section" aria-labelledby="rules-title">
        <Stack gap="sm">
          <Group justify="space-between" wrap="wrap">
            <Title order={2} size="h3" id="rules-title">
              {t("automation.list")}
            </Title>
            <Button variant="outline" onClick={() => choose(NEW)}>
              {t("automation.new")}
            </Button>
          </Group>
          <Text size="sm" c="dimmed">
            {t("automation.intro")}
          </Text>
          <PagedTable
            query={rules}
            label={t("automation.list")}
            empty={t("automation.empty")}
            minWidth={860}
            keyboardScroll
            head={
              <>
                <Table.Th>{t("automation.name")}</Table.Th>
                <Table.Th>{t("automation.event")}</Table.Th>
                <Table.Th>{t("automation.actions")}</Table.Th>
                <Table.Th>{t("automation.state")}</Table.Th>
                <Table.Th>{t("automation.actionsCol")}</Table.Th>
              </>
            }
            rowKey={(rule) => rule.id}
            row={(rule) => (
              <Table.Tr>
                <Table.Td>
                  <Text size="sm" fw={500}>
                    {rule.name}
                  </Text>
                  {rule.condition ? (
                    <Code style={{ whiteSpace: "pre-wrap" }}>{rule.condition}</Code>
                  ) : (
                    <Text size="xs" c="dimmed">
                      {t("automation.always")}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>{eventLabel(rule.trigger)}</Table.Td>
                <Table.Td>
                  {rule.actions.map((action, i) => (
                    <Text size="sm" key={i}>
                      {summary(action)}
                    </Text>
                  ))}
                </Table.Td>
                <Table.Td>
                  <RuleState rule={rule} />
                </Table.Td>
                <Table.Td>
                  <Button
                    size="compact-sm"
                    styles={{ label: { whiteSpace: "nowrap" } }}
                    variant={rule.id === chosen ? "filled" : "outline"}
                    aria-label={t("automation.editOf", { name: rule.name })}
                    aria-pressed={rule.id === chosen}
                    onClick={() => choose(rule.id)}
                  >
                    {t("automation.edit")}
                  </Button>
                </Table.Td>
              </Table.Tr>
            )}
          />
        </Stack>
      </Card>
      {chosen === NEW ? (
        <RuleEditor
          key={NEW}
          onSaved={(rule) => {
            setChosen(rule.id);
            setCreated(rule.id);
          }}
          onClose={() => choose(null)}
        />
      ) : null}
      {chosen && chosen !== NEW ? (
        <RulePanel key={chosen} id={chosen} created={created === chosen} onClose={() => choose(null)} />
      ) : null}
    </Stack>
  );
}

function RuleState({ rule }: { rule: Rule }) {
  const { t } = useTranslation();
  if (rule.paused_reason)
    return (
      <>
        <Badge variant="light" color="red">
          {t("automation.paused")}
        </Badge>
        <Text size="xs" c="dimmed">
          {rule.paused_reason}
        </Text>
      </>
    );
  return rule.enabled ? (
    <Badge variant="light" color="green">
      {t("automation.on")}
    </Badge>
  ) : (
    <Badge variant="light" color="gray">
      {t("automation.off")}
    </Badge>
  );
}

function RulePanel({ id, created, onClose }: { id: string; created: boolean; onClose: () => void }) {
  const rule = useQuery({
    queryKey: ["automation-rule", id],
    queryFn: () => ok(api.GET("/api/v1/automation-rules/{rule_id}", { params: { path: { rule_id: id } } })),
  });
  if (rule.error) return <ProblemAlert error={rule.error} onRetry={() => void rule.refetch()} />;
  if (!rule.data) return null;
  return (
    <Stack gap="lg">
      <RuleEditor key={rule.data.id} rule={rule.data} created={created} onSaved={() => undefined} onDeleted={onClose} onClose={onClose} />
      <Runs rule={rule.data} />
    </Stack>
  );
}
