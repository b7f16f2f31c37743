// A rule made or changed: its name, the event it fires on, the condition (the gateway's
// message about it — where it stops parsing — under the field, the caret put there), its actions (a list that
// grows and shrinks, each with its own fields) and whether it is on; deleted with a
// confirmation.
import { Alert, Button, Card, Group, NativeSelect, Stack, Switch, Text, Textarea, TextInput, Title } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { ProblemAlert } from "../../components/ProblemAlert";
import { SCROLL_MARGIN, useScrolledIntoView } from "../../components/useScrolledIntoView";
import { api, fieldError, ok } from "../../lib/api";
import { PUBLIC_EVENTS, useEventLabel, type PublicEvent } from "../webhooks/events";
import { ActionFields } from "./ActionFields";
import { actionOf, draftOf, MAX_ACTIONS, newDraft, problemOf, type ActionDraft, type DraftProblem, type Rule } from "./model";

export function RuleEditor({
  rule,
  onSaved,
  onDeleted,
  onClose,
  created = false,
}: {
  /** None: a new rule. */
  rule?: Rule;
  /** The rule was made just now (by this form, before it became the rule's own). */
  created?: boolean;
  onSaved: (rule: Rule) => void;
  onDeleted?: () => void;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const eventLabel = useEventLabel();
  const client = useQueryClient();
  const [name, setName] = useState(rule?.name ?? "");
  const [trigger, setTrigger] = useState<PublicEvent | "">((rule?.trigger as PublicEvent | undefined) ?? "");
  const [condition, setCondition] = useState(rule?.condition ?? "");
  const [drafts, setDrafts] = useState<ActionDraft[]>(() => (rule ? rule.actions.map(draftOf) : [newDraft()]));
  const [enabled, setEnabled] = useState(rule?.enabled ?? true);
  const [missing, setMissing] = useState<"name" | "trigger" | null>(null);
  const [problems, setProblems] = useState<(DraftProblem | null)[]>([]);
  const [fresh, setFresh] = useState(created);
  const conditionInput = useRef<HTMLTextAreaElement>(null);
  const shown = useScrolledIntoView<HTMLFormElement>();

  const save = useMutation({
    mutationFn: () => {
      const body = {
        name: name.trim(),
        trigger: trigger as PublicEvent,
        condition: condition.trim(),
        actions: drafts.map(actionOf),
        enabled,
      };
      return rule
        ? ok(api.PATCH("/api/v1/automation-rules/{rule_id}", { params: { path: { rule_id: rule.id } }, body }))
        : ok(api.POST("/api/v1/automation-rules", { body }));
    },
    // A condition that does not parse: the caret where the gateway says it stops.
    onError: (error) => {
      const at = /at character (\d+)/.exec(fieldError(error, "condition") ?? "");
      const input = conditionInput.current;
      if (!at || !input) return;
      const position = Math.min(Number(at[1]) - 1, input.value.length);
      input.focus();
      input.setSelectionRange(position, position);
    },
    onSuccess: (saved) => {
      client.setQueryData(["automation-rule", saved.id], saved);
      void client.invalidateQueries({ queryKey: ["automation-rules"] });
      onSaved(saved);
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => ok(api.DELETE("/api/v1/automation-rules/{rule_id}", { params: { path: { rule_id: id } } })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["automation-rules"] });
      onDeleted?.();
    },
  });

  const changed = () => {
    save.reset();
    setFresh(false);
  };
  const setDraft = (index: number, draft: ActionDraft) => {
    changed();
    setDrafts((current) => current.map((d, i) => (i === index ? draft : d)));
    setProblems((current) => current.map((p, i) => (i === index ? null : p)));
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = drafts.map(problemOf);
    setProblems(found);
    const lacking = !name.trim() ? "name" : !trigger ? "trigger" : null;
    setMissing(lacking);
    if (lacking || found.some(Boolean)) return;
    save.mutate();
  };
  const actionFields = drafts.map((_, i) => `actions[${i}]`);
  const fields = ["name", "trigger", "condition", "actions", "enabled", ...actionFields];
  const titleId = rule ? "rule-title" : "new-rule-title";

  return (
    <Card
      withBorder
      component="form"
      ref={shown}
      style={{ scrollMarginTop: SCROLL_MARGIN }}
      onSubmit={submit}
      noValidate
      aria-labelledby={titleId}
    >
      <Stack gap="sm">
        <Title order={2} size="h3" id={titleId}>
          {rule ? rule.name : t("automation.new")}
        </Title>
        {rule?.paused_reason ? (
          <Alert color="red" variant="light">
            {t("automation.pausedReason", { reason: rule.paused_reason })}
          </Alert>
        ) : null}
        <TextInput
          label={t("automation.name")}
          value={name}
          onChange={(e) => {
            changed();
            setName(e.currentTarget.value);
          }}
          error={missing === "name" ? t("bulk.required") : fieldError(save.error, "name")}
          required
        />
        <NativeSelect
          label={t("automation.trigger")}
          value={trigger}
          onChange={(e) => {
            changed();
            setTrigger(e.currentTarget.value as PublicEvent | "");
          }}
          data={[
            { value: "", label: t("bulk.choose") },
            ...PUBLIC_EVENTS.map((type) => ({ value: type, label: eventLabel(type) })),
          ]}
          error={missing === "trigger" ? t("bulk.required") : fieldError(save.error, "trigger")}
          required
        />
        <Textarea
          ref={conditionInput}
          label={t("automation.condition")}
          description={t("automation.conditionHint")}
          autosize
          minRows={2}
          spellCheck={false}
          styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)" } }}
          value={condition}
          onChange={(e) => {
            changed();
            setCondition(e.currentTarget.value);
          }}
          error={fieldError(save.error, "condition")}
        />
        <Title order={3} size="h4">
          {t("automation.actions")}
        </Title>
        {drafts.map((draft, i) => (
          <ActionFields
            key={draft.key}
            draft={draft}
            index={i}
            onChange={(next) => setDraft(i, next)}
            onRemove={
              drafts.length > 1
                ? () => {
                    changed();
                    setDrafts((current) => current.filter((_, j) => j !== i));
                    setProblems((current) => current.filter((_, j) => j !== i));
                  }
                : undefined
            }
            problem={problems[i] ?? null}
            error={save.error}
          />
        ))}
        {fieldError(save.error, "actions") && !actionFields.some((f) => fieldError(save.error, f)) ? (
          <Text c="red.9" size="sm" role="alert">
            {fieldError(save.error, "actions")}
          </Text>
        ) : null}
        {drafts.length < MAX_ACTIONS ? (
          <Button
            variant="default"
            style={{ alignSelf: "flex-start" }}
            onClick={() => {
              changed();
              setDrafts((current) => [...current, newDraft()]);
            }}
          >
            {t("automation.addAction")}
          </Button>
        ) : null}
        <Switch
          label={t("automation.enabled")}
          checked={enabled}
          onChange={(e) => {
            changed();
            setEnabled(e.currentTarget.checked);
          }}
        />
        {save.error && !fieldError(save.error, ...fields) ? <ProblemAlert error={save.error} /> : null}
        {remove.error ? <ProblemAlert error={remove.error} /> : null}
        {save.isSuccess || fresh ? (
          <Alert color="green" variant="light" role="status">
            {t("automation.saved")}
          </Alert>
        ) : null}
        <Group>
          <Button type="submit" loading={save.isPending}>
            {rule ? t("automation.save") : t("automation.create")}
          </Button>
          {rule ? (
            <Button
              variant="outline"
              color="red.9"
              loading={remove.isPending}
              onClick={() => {
                if (window.confirm(t("automation.confirmDelete", { name: rule.name }))) remove.mutate(rule.id);
              }}
            >
              {t("automation.delete")}
            </Button>
          ) : null}
          <Button variant="subtle" onClick={onClose}>
            {t("automation.close")}
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}
