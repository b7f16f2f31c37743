// «Вебхуки» in «Управление»: the company's endpoints with their state; a new one (its
// signing secret shown once), its URL, events and description changed, deliveries switched
// off and on, the secret rotated (the new one shown once), a test event sent, the endpoint
// deleted; and its deliveries with their attempts (Deliveries).
import { Alert, Badge, Button, Card, Checkbox, CopyButton, Group, SimpleGrid, Stack, Switch, Table, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Done, OperationForm } from "../../components/OperationForm";
import { PagedTable } from "../../components/PagedTable";
import { ProblemAlert } from "../../components/ProblemAlert";
import { useKeysetQuery } from "../../components/useKeysetQuery";
import { SCROLL_MARGIN, useScrolledIntoView } from "../../components/useScrolledIntoView";
import { api, fieldError, ok, type Schemas } from "../../lib/api";
import { formatDateTime } from "../../lib/format";
import { Deliveries } from "./Deliveries";
import { ALL_EVENTS, inOrder, PUBLIC_EVENTS, useEventLabel, type EndpointEvent } from "./events";

type Endpoint = Schemas["EndpointOut"];
const PAGE_SIZE = 50;
const NEW = "new";

/** A secret just given by the gateway (on creation or rotation): shown this once. */
interface Revealed {
  endpointId: string;
  secret: string;
  rotated: boolean;
}

export function Webhooks() {
  const { t } = useTranslation();
  const eventLabel = useEventLabel();
  const [chosen, setChosen] = useState<string | null>(null);
  const [revealed, setRevealed] = useState<Revealed | null>(null);
  const endpoints = useKeysetQuery(["webhooks"], (pageToken) =>
    ok(api.GET("/api/v1/webhooks", { params: { query: { page_size: PAGE_SIZE, page_token: pageToken } } })),
  );
  const choose = (id: string | null) => {
    setRevealed(null);
    setChosen(id);
  };
  return (
    <Stack gap="lg">
      <Card withBorder component="section" aria-labelledby="webhooks-title">
        <Stack gap="sm">
          <Group justify="space-between" wrap="wrap">
            <Title order={2} size="h3" id="webhooks-title">
              {t("webhooks.list")}
            </Title>
            <Button variant="outline" onClick={() => choose(NEW)}>
              {t("webhooks.new")}
            </Button>
          </Group>
          <Text size="sm" c="dimmed">
            {t("webhooks.intro")}
          </Text>
          <PagedTable
            query={endpoints}
            label={t("webhooks.list")}
            empty={t("webhooks.empty")}
            minWidth={720}
            keyboardScroll
            head={
              <>
                <Table.Th>{t("webhooks.url")}</Table.Th>
                <Table.Th>{t("webhooks.events")}</Table.Th>
                <Table.Th>{t("webhooks.state")}</Table.Th>
                <Table.Th>{t("webhooks.actions")}</Table.Th>
              </>
            }
            rowKey={(endpoint) => endpoint.id}
            row={(endpoint) => (
              <Table.Tr>
                <Table.Td>
                  <Text size="sm" style={{ wordBreak: "break-all" }}>
                    {endpoint.url}
                  </Text>
                  {endpoint.description ? (
                    <Text size="xs" c="dimmed">
                      {endpoint.description}
                    </Text>
                  ) : null}
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{inOrder(endpoint.event_types).map(eventLabel).join(", ")}</Text>
                </Table.Td>
                <Table.Td>
                  <EndpointState endpoint={endpoint} />
                </Table.Td>
                <Table.Td>
                  <Button
                    size="compact-sm"
                    styles={{ label: { whiteSpace: "nowrap" } }}
                    variant={endpoint.id === chosen ? "filled" : "outline"}
                    aria-label={t("webhooks.openOf", { url: endpoint.url })}
                    aria-pressed={endpoint.id === chosen}
                    onClick={() => choose(endpoint.id)}
                  >
                    {t("webhooks.open")}
                  </Button>
                </Table.Td>
              </Table.Tr>
            )}
          />
        </Stack>
      </Card>
      {chosen === NEW ? (
        <NewEndpoint
          onCreated={(created) => {
            setChosen(created.endpoint.id);
            setRevealed({ endpointId: created.endpoint.id, secret: created.secret, rotated: false });
          }}
          onCancel={() => choose(null)}
        />
      ) : null}
      {chosen && chosen !== NEW ? (
        <EndpointPanel
          key={chosen}
          id={chosen}
          revealed={revealed?.endpointId === chosen ? revealed : null}
          onRotated={(secret) => setRevealed({ endpointId: chosen, secret, rotated: true })}
          onClose={() => choose(null)}
        />
      ) : null}
    </Stack>
  );
}

function EndpointState({ endpoint }: { endpoint: Endpoint }) {
  const { t } = useTranslation();
  if (!endpoint.enabled)
    return (
      <Badge variant="light" color="gray">
        {t("webhooks.off")}
      </Badge>
    );
  return endpoint.failing_since ? (
    <Badge variant="light" color="red">
      {t("webhooks.failing")}
    </Badge>
  ) : (
    <Badge variant="light" color="green">
      {t("webhooks.on")}
    </Badge>
  );
}

/** The URL, description and events of an endpoint, as a new one and a change ask them. */
interface EndpointDraft {
  url: string;
  description: string;
  events: EndpointEvent[];
}

function EndpointFields({
  draft,
  onChange,
  error,
  missing,
}: {
  draft: EndpointDraft;
  onChange: (draft: EndpointDraft) => void;
  error: unknown;
  missing: "url" | "events" | null;
}) {
  const { t } = useTranslation();
  const eventLabel = useEventLabel();
  const all = draft.events.includes(ALL_EVENTS);
  return (
    <>
      <TextInput
        label={t("webhooks.url")}
        description={t("webhooks.urlHint")}
        type="url"
        inputMode="url"
        value={draft.url}
        onChange={(e) => onChange({ ...draft, url: e.currentTarget.value })}
        error={missing === "url" ? t("bulk.required") : fieldError(error, "url")}
        required
      />
      <TextInput
        label={t("webhooks.description")}
        placeholder={t("webhooks.descriptionHint")}
        value={draft.description}
        onChange={(e) => onChange({ ...draft, description: e.currentTarget.value })}
        error={fieldError(error, "description")}
      />
      <Checkbox.Group
        label={t("webhooks.events")}
        value={draft.events}
        onChange={(values) => onChange({ ...draft, events: values })}
        error={missing === "events" ? t("webhooks.chooseEvents") : fieldError(error, "event_types")}
        required
      >
        <Checkbox mt="xs" value={ALL_EVENTS} label={t("webhooks.allEvents")} />
        <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} mt="xs" spacing="xs">
          {PUBLIC_EVENTS.map((type) => (
            <Checkbox key={type} value={type} label={eventLabel(type)} disabled={all} />
          ))}
        </SimpleGrid>
      </Checkbox.Group>
    </>
  );
}

/** What is missing from a draft, before asking the gateway. */
function missingOf(draft: EndpointDraft): "url" | "events" | null {
  if (!draft.url.trim()) return "url";
  if (draft.events.length === 0) return "events";
  return null;
}

/** Only "*" when every event is chosen: the other boxes are then off. */
function eventsOf(draft: EndpointDraft): EndpointEvent[] {
  return draft.events.includes(ALL_EVENTS) ? [ALL_EVENTS] : draft.events;
}

function NewEndpoint({
  onCreated,
  onCancel,
}: {
  onCreated: (created: Schemas["EndpointWithSecret"]) => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [draft, setDraft] = useState<EndpointDraft>({ url: "", description: "", events: [] });
  const [missing, setMissing] = useState<"url" | "events" | null>(null);
  const shown = useScrolledIntoView<HTMLDivElement>();
  const create = useMutation({
    mutationFn: () =>
      ok(
        api.POST("/api/v1/webhooks", {
          body: { url: draft.url.trim(), description: draft.description.trim(), event_types: eventsOf(draft) },
        }),
      ),
    onSuccess: (created) => {
      client.setQueryData(["webhook", created.endpoint.id], created.endpoint);
      void client.invalidateQueries({ queryKey: ["webhooks"] });
      onCreated(created);
    },
  });
  return (
    <div ref={shown} style={{ scrollMarginTop: SCROLL_MARGIN }}>
      <OperationForm
        title={t("webhooks.new")}
        titleId="new-webhook-title"
        error={create.error}
        fields={["url", "description", "event_types"]}
        pending={create.isPending}
        submitLabel={t("webhooks.create")}
        onSubmit={() => {
          const lacking = missingOf(draft);
          setMissing(lacking);
          if (!lacking) create.mutate();
        }}
      >
        <EndpointFields draft={draft} onChange={setDraft} error={create.error} missing={missing} />
        <Button variant="subtle" onClick={onCancel} style={{ alignSelf: "flex-start" }}>
          {t("webhooks.close")}
        </Button>
      </OperationForm>
    </div>
  );
}

/** A secret shown once, in a field to copy from, with the warning that it will not be again. */
function SecretOnce({ revealed }: { revealed: Revealed }) {
  const { t } = useTranslation();
  return (
    <Alert color="green" variant="light" title={revealed.rotated ? t("webhooks.rotated") : t("webhooks.created")} data-testid="new-secret">
      <Stack gap="xs">
        <Text size="sm">{t("webhooks.secretOnce")}</Text>
        <TextInput
          label={t("webhooks.secret")}
          value={revealed.secret}
          readOnly
          onFocus={(e) => e.currentTarget.select()}
          styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)" } }}
          data-testid="secret"
        />
        <CopyButton value={revealed.secret}>
          {({ copied, copy }) => (
            <Button size="compact-sm" variant="default" onClick={copy} style={{ alignSelf: "flex-start" }}>
              {copied ? t("admin.copied") : t("admin.copy")}
            </Button>
          )}
        </CopyButton>
      </Stack>
    </Alert>
  );
}

function EndpointPanel({
  id,
  revealed,
  onRotated,
  onClose,
}: {
  id: string;
  revealed: Revealed | null;
  onRotated: (secret: string) => void;
  onClose: () => void;
}) {
  const { t, i18n } = useTranslation();
  const client = useQueryClient();
  const endpoint = useQuery({
    queryKey: ["webhook", id],
    queryFn: () => ok(api.GET("/api/v1/webhooks/{endpoint_id}", { params: { path: { endpoint_id: id } } })),
  });
  const saved = (updated: Endpoint) => {
    client.setQueryData(["webhook", id], updated);
    void client.invalidateQueries({ queryKey: ["webhooks"] });
  };
  const path = { params: { path: { endpoint_id: id } } };
  const toggle = useMutation({
    mutationFn: (enabled: boolean) => ok(api.PATCH("/api/v1/webhooks/{endpoint_id}", { ...path, body: { enabled } })),
    onSuccess: saved,
  });
  const test = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/webhooks/{endpoint_id}/test", path)),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["webhook-deliveries", id] }),
  });
  const rotate = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/webhooks/{endpoint_id}/rotate-secret", path)),
    onSuccess: (rotated) => {
      saved(rotated.endpoint);
      onRotated(rotated.secret);
    },
  });
  const remove = useMutation({
    mutationFn: () => ok(api.DELETE("/api/v1/webhooks/{endpoint_id}", path)),
    onSuccess: () => {
      client.removeQueries({ queryKey: ["webhook", id] });
      void client.invalidateQueries({ queryKey: ["webhooks"] });
      onClose();
    },
  });
  const shown = useScrolledIntoView<HTMLDivElement>(!!endpoint.data);
  if (endpoint.error) return <ProblemAlert error={endpoint.error} onRetry={() => void endpoint.refetch()} />;
  if (!endpoint.data) return null;
  const e = endpoint.data;
  const actionError = toggle.error ?? test.error ?? rotate.error ?? remove.error;
  return (
    <Stack gap="lg" ref={shown} style={{ scrollMarginTop: SCROLL_MARGIN }}>
      <Card withBorder component="section" aria-labelledby="webhook-title">
        <Stack gap="sm">
          <Group justify="space-between" wrap="nowrap" align="flex-start">
            <Title order={2} size="h3" id="webhook-title" style={{ wordBreak: "break-all" }}>
              {e.url}
            </Title>
            <div style={{ flexShrink: 0 }}>
              <EndpointState endpoint={e} />
            </div>
          </Group>
          {e.description ? <Text size="sm">{e.description}</Text> : null}
          {revealed ? <SecretOnce revealed={revealed} /> : null}
          {!e.enabled && e.disabled_reason ? (
            <Text size="sm" c="dimmed">
              {t("webhooks.disabledAt", { at: formatDateTime(e.disabled_at, i18n.language), reason: e.disabled_reason })}
            </Text>
          ) : null}
          {e.enabled && e.failing_since ? (
            <Text size="sm" c="red.9">
              {t("webhooks.failingSince", { at: formatDateTime(e.failing_since, i18n.language) })}
            </Text>
          ) : null}
          {e.previous_secret_valid_until ? (
            <Text size="sm" c="dimmed">
              {t("webhooks.previousValid", { at: formatDateTime(e.previous_secret_valid_until, i18n.language) })}
            </Text>
          ) : null}
          <Switch
            label={t("webhooks.enabled")}
            checked={e.enabled}
            disabled={toggle.isPending}
            onChange={(event) => toggle.mutate(event.currentTarget.checked)}
          />
          {actionError ? <ProblemAlert error={actionError} /> : null}
          {test.isSuccess ? <Done text={t("webhooks.testSent")} /> : null}
          <Group gap="sm">
            <Button onClick={() => test.mutate()} loading={test.isPending}>
              {t("webhooks.test")}
            </Button>
            <Button
              variant="outline"
              loading={rotate.isPending}
              onClick={() => {
                if (window.confirm(t("webhooks.confirmRotate", { url: e.url }))) rotate.mutate();
              }}
            >
              {t("webhooks.rotate")}
            </Button>
            <Button
              variant="outline"
              color="red.9"
              loading={remove.isPending}
              onClick={() => {
                if (window.confirm(t("webhooks.confirmDelete", { url: e.url }))) remove.mutate();
              }}
            >
              {t("webhooks.delete")}
            </Button>
            <Button variant="subtle" onClick={onClose}>
              {t("webhooks.close")}
            </Button>
          </Group>
        </Stack>
      </Card>
      <EndpointSettings key={e.id} endpoint={e} onSaved={saved} />
      <Deliveries endpointId={e.id} />
    </Stack>
  );
}

function EndpointSettings({ endpoint, onSaved }: { endpoint: Endpoint; onSaved: (updated: Endpoint) => void }) {
  const { t } = useTranslation();
  const [draft, setDraft] = useState<EndpointDraft>({
    url: endpoint.url,
    description: endpoint.description,
    events: endpoint.event_types as EndpointEvent[],
  });
  const [missing, setMissing] = useState<"url" | "events" | null>(null);
  const save = useMutation({
    mutationFn: () =>
      ok(
        api.PATCH("/api/v1/webhooks/{endpoint_id}", {
          params: { path: { endpoint_id: endpoint.id } },
          body: { url: draft.url.trim(), description: draft.description.trim(), event_types: eventsOf(draft) },
        }),
      ),
    onSuccess: onSaved,
  });
  return (
    <OperationForm
      title={t("webhooks.settings")}
      titleId="webhook-settings-title"
      error={save.error}
      fields={["url", "description", "event_types"]}
      done={save.isSuccess && t("webhooks.saved")}
      pending={save.isPending}
      submitLabel={t("webhooks.save")}
      onSubmit={() => {
        const lacking = missingOf(draft);
        setMissing(lacking);
        if (!lacking) save.mutate();
      }}
    >
      <EndpointFields
        draft={draft}
        onChange={(next) => {
          save.reset();
          setDraft(next);
        }}
        error={save.error}
        missing={missing}
      />
    </OperationForm>
  );
}
