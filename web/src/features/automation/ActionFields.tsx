// One action of a rule in its form: what to do, and the fields of that kind of action —
// the block type; the limit's kind, sum in roubles and what happens at it; the recipients
// (the company's users, numbers or addresses) and text of an SMS or e-mail; the webhook to
// call; the category, subject and text of a ticket.
import { Button, Checkbox, Fieldset, Group, NativeSelect, ScrollArea, SimpleGrid, Stack, Text, Textarea, TextInput } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { api, ok } from "../../lib/api";
import { useCan } from "../../lib/auth";
import { useUsers } from "../admin/hooks";
import { CUSTOMER_BLOCKS, LIMIT_ACTIONS, LIMIT_KINDS } from "../operations/model";
import { CATEGORIES, type Category } from "../tickets/model";
import { ACTION_TYPES, errorAt, errorUnder, SMS_MAX, type ActionDraft, type ActionType, type DraftProblem } from "./model";

export function ActionFields({
  draft,
  index,
  onChange,
  onRemove,
  problem,
  error,
}: {
  draft: ActionDraft;
  index: number;
  onChange: (draft: ActionDraft) => void;
  /** Offered while the rule has more than one action. */
  onRemove?: () => void;
  /** What is wrong before asking (the form's own check). */
  problem: DraftProblem | null;
  /** The gateway's answer: its errors about `actions[index]…` go under their fields. */
  error: unknown;
}) {
  const { t } = useTranslation();
  const can = useCan();
  const at = `actions[${index}]`;
  const server = (...fields: string[]) => errorUnder(error, ...fields.map((f) => `${at}.${f}`));
  const local = (field: DraftProblem["field"]) =>
    problem?.field === field
      ? problem.reason === "amount"
        ? t("automation.wrongAmount")
        : problem.reason === "recipients"
          ? t("automation.recipientsNeeded")
          : t("bulk.required")
      : undefined;
  const set = <K extends keyof ActionDraft>(key: K, value: ActionDraft[K]) => onChange({ ...draft, [key]: value });
  const n = index + 1;

  let fields: ReactNode = null;
  switch (draft.type) {
    case "block_numbers":
    case "unblock_numbers":
      fields = (
        <NativeSelect
          label={t("bulk.blockType")}
          value={draft.blockType}
          onChange={(e) => set("blockType", e.currentTarget.value as ActionDraft["blockType"])}
          data={CUSTOMER_BLOCKS.map((b) => ({ value: b, label: t(`blockType.${b}`) }))}
          error={server("block_type")}
        />
      );
      break;
    case "set_limit":
      fields = (
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <NativeSelect
            label={t("bulk.limitKind")}
            value={draft.limitKind}
            onChange={(e) => set("limitKind", e.currentTarget.value as ActionDraft["limitKind"])}
            data={LIMIT_KINDS.map((k) => ({ value: k, label: t(`limitKind.${k}`) }))}
            error={server("kind")}
          />
          <TextInput
            label={t("automation.amount")}
            inputMode="decimal"
            value={draft.amount}
            onChange={(e) => set("amount", e.currentTarget.value)}
            error={local("amount") ?? server("amount")}
            required
          />
          <NativeSelect
            label={t("bulk.limitAction")}
            value={draft.limitAction}
            onChange={(e) => set("limitAction", e.currentTarget.value as ActionDraft["limitAction"])}
            data={LIMIT_ACTIONS.map((a) => ({ value: a, label: t(`limitAction.${a}`) }))}
            error={server("action")}
          />
        </SimpleGrid>
      );
      break;
    case "send_sms":
    case "send_email": {
      const sms = draft.type === "send_sms";
      fields = (
        <>
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <Recipients
              chosen={draft.userIds}
              onChange={(ids) => set("userIds", ids)}
              enabled={can("users.manage")}
              error={local("recipients") ?? server("user_ids")}
            />
            {sms ? (
              <Textarea
                label={t("automation.msisdns")}
                description={t("automation.onePerLine")}
                autosize
                minRows={3}
                value={draft.msisdns}
                onChange={(e) => set("msisdns", e.currentTarget.value)}
                error={server("msisdns")}
              />
            ) : (
              <Textarea
                label={t("automation.addresses")}
                description={t("automation.onePerLine")}
                autosize
                minRows={3}
                value={draft.addresses}
                onChange={(e) => set("addresses", e.currentTarget.value)}
                error={server("addresses")}
              />
            )}
          </SimpleGrid>
          {sms ? null : (
            <TextInput
              label={t("automation.subject")}
              value={draft.subject}
              onChange={(e) => set("subject", e.currentTarget.value)}
              error={local("subject") ?? server("subject")}
              required
            />
          )}
          <Textarea
            label={t("automation.text")}
            description={sms ? t("sms.length", { count: draft.text.length, max: SMS_MAX }) : undefined}
            maxLength={sms ? SMS_MAX : undefined}
            autosize
            minRows={3}
            value={draft.text}
            onChange={(e) => set("text", e.currentTarget.value)}
            error={local("text") ?? server("text")}
            required
          />
        </>
      );
      break;
    }
    case "call_webhook":
      fields = (
        <EndpointChoice
          value={draft.endpointId}
          onChange={(id) => set("endpointId", id)}
          listed={can("webhooks.manage")}
          error={local("endpointId") ?? server("endpoint_id")}
        />
      );
      break;
    case "open_ticket":
      fields = (
        <>
          <NativeSelect
            label={t("automation.category")}
            value={draft.category}
            onChange={(e) => set("category", e.currentTarget.value as Category)}
            data={CATEGORIES.map((c) => ({ value: c, label: t(`ticketCategory.${c}`) }))}
            error={server("category")}
          />
          <TextInput
            label={t("automation.subject")}
            value={draft.subject}
            onChange={(e) => set("subject", e.currentTarget.value)}
            error={local("subject") ?? server("subject")}
            required
          />
          <Textarea
            label={t("automation.text")}
            autosize
            minRows={3}
            value={draft.text}
            onChange={(e) => set("text", e.currentTarget.value)}
            error={local("text") ?? server("text")}
            required
          />
        </>
      );
      break;
  }

  return (
    <Fieldset legend={t("automation.actionN", { n })} data-testid="rule-action">
      <Stack gap="sm">
        <Group align="flex-end" wrap="wrap">
          <NativeSelect
            label={t("automation.actionType")}
            value={draft.type}
            onChange={(e) => set("type", e.currentTarget.value as ActionType)}
            data={ACTION_TYPES.map((type) => ({ value: type, label: t(`actionType.${type}`) }))}
            error={errorAt(error, at, `${at}.type`)}
            style={{ flex: "1 1 16rem" }}
          />
          {onRemove ? (
            <Button variant="subtle" onClick={onRemove}>
              {t("automation.removeAction", { n })}
            </Button>
          ) : null}
        </Group>
        {fields}
      </Stack>
    </Fieldset>
  );
}

/** The company's users to tell, as checkboxes (the list needs users.manage). */
function Recipients({
  chosen,
  onChange,
  enabled,
  error,
}: {
  chosen: string[];
  onChange: (ids: string[]) => void;
  enabled: boolean;
  error?: string;
}) {
  const { t } = useTranslation();
  const users = useUsers(enabled);
  if (!enabled)
    return (
      <Text size="sm" c={error ? "red.9" : "dimmed"}>
        {error ?? t("automation.noUsers")}
      </Text>
    );
  return (
    <Checkbox.Group label={t("automation.recipients")} value={chosen} onChange={onChange} error={error}>
      <ScrollArea.Autosize mah={180} type="auto" mt={6} viewportProps={{ tabIndex: 0, "aria-label": t("automation.recipients") }}>
        <Stack gap={6}>
          {(users.data?.items ?? []).map((user) => (
            <Checkbox key={user.id} value={user.id} label={user.full_name ? `${user.full_name} (${user.login})` : user.login} />
          ))}
        </Stack>
      </ScrollArea.Autosize>
    </Checkbox.Group>
  );
}

/** The webhook to call: chosen from the company's endpoints, or its id typed. */
function EndpointChoice({
  value,
  onChange,
  listed,
  error,
}: {
  value: string;
  onChange: (id: string) => void;
  listed: boolean;
  error?: string;
}) {
  const { t } = useTranslation();
  const endpoints = useQuery({
    queryKey: ["webhooks", "all"],
    queryFn: () => ok(api.GET("/api/v1/webhooks", { params: { query: { page_size: 200 } } })),
    enabled: listed,
  });
  if (!listed)
    return (
      <TextInput
        label={t("automation.endpointId")}
        value={value}
        onChange={(e) => onChange(e.currentTarget.value)}
        error={error}
        required
      />
    );
  const items = endpoints.data?.items ?? [];
  return (
    <NativeSelect
      label={t("automation.endpoint")}
      value={value}
      onChange={(e) => onChange(e.currentTarget.value)}
      data={[
        { value: "", label: t("bulk.choose") },
        ...items.map((e) => ({ value: e.id, label: e.description ? `${e.description} — ${e.url}` : e.url })),
        // A rule's endpoint that is no longer listed still shows as it is.
        ...(value && !items.some((e) => e.id === value) ? [{ value, label: value }] : []),
      ]}
      error={error}
      required
    />
  );
}
