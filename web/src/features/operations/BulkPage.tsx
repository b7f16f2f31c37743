// «Массовые операции» and «Отправка SMS»: a type and its parameters, the targets (numbers
// chosen on «Иерархия», typed ones, or a node's subtree), a dry run first (what would change
// for each number), then the real run, now or at a chosen moment, with live progress.
import { Alert, Button, Card, Group, NativeSelect, Stack, Tabs, Text, Textarea, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useLocation, useNavigate, useSearchParams } from "react-router";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, fieldError, idempotencyKey, ok } from "../../lib/api";
import { useCan } from "../../lib/auth";
import { formatMsisdn, parseRubles } from "../../lib/format";
import {
  BULK_TYPES,
  CUSTOMER_BLOCKS,
  FORWARDING_CONDITIONS,
  isFinal,
  LIMIT_ACTIONS,
  LIMIT_KINDS,
  type BulkType,
  type OperationBody,
} from "./model";
import { targetsBody, useNodeOptions, useOperation, type TargetsValue } from "./hooks";
import { OperationView } from "./OperationView";
import { Targets } from "./Targets";

/** What «Иерархия» hands over: the numbers chosen there. */
export interface BulkState {
  msisdns?: string[];
}

function useInitialTargets(): TargetsValue {
  const location = useLocation();
  const [params] = useSearchParams();
  const chosen = (location.state as BulkState | null)?.msisdns ?? [];
  const node = params.get("node");
  return {
    mode: node || chosen.length === 0 ? "node" : "numbers",
    numbers: chosen.map(formatMsisdn).join("\n"),
    nodeId: node ?? "",
  };
}

/** datetime-local ("2026-05-01T10:00", the browser's time) → RFC 3339, or none. */
function scheduled(value: string): string | undefined {
  return value ? new Date(value).toISOString() : undefined;
}

export function BulkPage() {
  const { t } = useTranslation();
  const can = useCan();
  const [params, setParams] = useSearchParams();
  const location = useLocation();
  const bulk = BULK_TYPES.some((b) => can(b.permission));
  const sms = can("numbers.sms");
  const tab = params.get("tab") === "sms" && sms ? "sms" : bulk ? "bulk" : "sms";
  return (
    <Stack gap="lg">
      <Title order={1}>{t("bulk.title")}</Title>
      <Tabs
        keepMounted={false}
        value={tab}
        onChange={(value) =>
          setParams(
            (current) => {
              const next = new URLSearchParams(current);
              if (value === "sms") next.set("tab", "sms");
              else next.delete("tab");
              return next;
            },
            { replace: true, state: location.state as unknown },
          )
        }
      >
        <Tabs.List>
          {bulk ? <Tabs.Tab value="bulk">{t("bulk.tab")}</Tabs.Tab> : null}
          {sms ? <Tabs.Tab value="sms">{t("sms.tab")}</Tabs.Tab> : null}
        </Tabs.List>
        {bulk ? (
          <Tabs.Panel value="bulk" pt="md">
            <BulkForm />
          </Tabs.Panel>
        ) : null}
        {sms ? (
          <Tabs.Panel value="sms" pt="md">
            <SmsForm />
          </Tabs.Panel>
        ) : null}
      </Tabs>
      {!bulk && !sms ? <Text c="dimmed">{t("bulk.notAllowed")}</Text> : null}
    </Stack>
  );
}

interface Params {
  blockType: string;
  tariffId: string;
  serviceId: string;
  limitKind: string;
  amount: string;
  limitAction: string;
  condition: string;
  target: string;
  toNode: string;
  accountId: string;
}

const NO_PARAMS: Params = {
  blockType: "voluntary",
  tariffId: "",
  serviceId: "",
  limitKind: "total",
  amount: "",
  limitAction: "notify",
  condition: "unconditional",
  target: "",
  toNode: "",
  accountId: "",
};

/** The `params` of a type, or the form's field that is missing. */
function paramsOf(type: BulkType, p: Params): { params: Record<string, unknown> } | { missing: keyof Params } {
  switch (type) {
    case "block":
    case "unblock":
      return { params: { type: p.blockType } };
    case "change_tariff":
      return p.tariffId ? { params: { tariff_id: p.tariffId } } : { missing: "tariffId" };
    case "connect_service":
    case "disconnect_service":
      return p.serviceId ? { params: { service_id: p.serviceId } } : { missing: "serviceId" };
    case "set_limit": {
      const amount = parseRubles(p.amount);
      return amount === null
        ? { missing: "amount" }
        : { params: { kind: p.limitKind, amount, action: p.limitAction } };
    }
    case "remove_limit":
      return { params: { kind: p.limitKind } };
    case "set_forwarding":
      return p.target.trim()
        ? { params: { condition: p.condition, target: p.target.trim() } }
        : { missing: "target" };
    case "remove_forwarding":
      return { params: { condition: p.condition } };
    case "move_to_node":
      return p.toNode ? { params: { node_id: p.toNode } } : { missing: "toNode" };
    case "move_to_account":
      return p.accountId ? { params: { account_id: p.accountId } } : { missing: "accountId" };
  }
}

function BulkForm() {
  const { t } = useTranslation();
  const can = useCan();
  const navigate = useNavigate();
  const types = BULK_TYPES.filter((b) => can(b.permission));
  const [type, setType] = useState<BulkType>(types[0]?.type ?? "block");
  const [p, setP] = useState<Params>(NO_PARAMS);
  const initial = useInitialTargets();
  const [targets, setTargets] = useState<TargetsValue>(initial);
  const [at, setAt] = useState("");
  const [checked, setChecked] = useState<{ id: string; request: string } | null>(null);
  const [missing, setMissing] = useState<string | null>(null);

  const built = paramsOf(type, p);
  const targetBody = targetsBody(targets);
  const emptyTargets = "node_id" in targetBody ? !targetBody.node_id : targetBody.msisdns.length === 0;
  const body = "params" in built ? ({ type, ...built, ...targetBody } as OperationBody) : null;
  const request = JSON.stringify(body);

  const dry = useMutation({
    mutationFn: (b: OperationBody) =>
      ok(
        api.POST("/api/v1/operations", {
          params: { header: { "Idempotency-Key": idempotencyKey() } },
          body: { ...b, dry_run: true },
        }),
      ),
    onSuccess: (op, b) => setChecked({ id: op.id, request: JSON.stringify(b) }),
  });
  const run = useMutation({
    mutationFn: (b: OperationBody) =>
      ok(
        api.POST("/api/v1/operations", {
          params: { header: { "Idempotency-Key": idempotencyKey() } },
          body: { ...b, dry_run: false, scheduled_at: scheduled(at) },
        }),
      ),
    onSuccess: (op) => void navigate(`/operations/${op.id}`),
  });
  const dryRun = useOperation(checked?.id ?? "");
  const current = checked?.request === request;
  const ready = current && isFinal(dryRun.data);

  const check = (event: FormEvent) => {
    event.preventDefault();
    run.reset();
    if ("missing" in built) return setMissing(built.missing);
    if (emptyTargets) return setMissing("targets");
    setMissing(null);
    if (body) dry.mutate(body);
  };
  const required = (field: string) => (missing === field ? t("bulk.required") : undefined);
  const error = dry.error ?? run.error;
  const server = (...fields: string[]) => fieldError(error, ...fields.map((f) => `params.${f}`));
  const set = (field: keyof Params) => (e: { currentTarget: { value: string } }) =>
    setP({ ...p, [field]: e.currentTarget.value });

  return (
    <Stack gap="md">
      <Card withBorder component="form" onSubmit={check} aria-labelledby="bulk-form-title" noValidate>
        <Stack gap="sm">
          <Title order={2} size="h4" id="bulk-form-title">
            {t("bulk.formTitle")}
          </Title>
          <Text size="sm" c="dimmed">
            {t("bulk.intro")}
          </Text>
          <NativeSelect
            label={t("bulk.type")}
            value={type}
            onChange={(e) => setType(e.currentTarget.value as BulkType)}
            data={types.map((b) => ({ value: b.type, label: t(`bulkType.${b.type}`) }))}
            error={fieldError(error, "type")}
          />
          <TypeParams type={type} p={p} set={set} error={(f, ...s) => required(f) ?? server(...s)} />
          <Targets
            value={targets}
            onChange={setTargets}
            error={required("targets") ?? fieldError(error, "msisdns", "node_id")}
          />
          <TextInput
            type="datetime-local"
            label={t("bulk.scheduledAt")}
            description={t("bulk.scheduledHint")}
            value={at}
            onChange={(e) => setAt(e.currentTarget.value)}
            error={fieldError(error, "scheduled_at")}
            maw={320}
          />
          {error ? <ProblemAlert error={error} /> : null}
          <Group>
            <Button type="submit" variant={ready ? "default" : "filled"} loading={dry.isPending}>
              {t("bulk.dryRun")}
            </Button>
            <Button
              color="red"
              disabled={!ready || !body}
              loading={run.isPending}
              onClick={() => body && run.mutate(body)}
            >
              {at ? t("bulk.schedule") : t("bulk.run")}
            </Button>
          </Group>
          {!current ? (
            <Text size="sm" c="dimmed">
              {t("bulk.dryRunFirst")}
            </Text>
          ) : null}
        </Stack>
      </Card>
      {checked && current ? (
        <Stack gap="xs">
          <Alert color="gray" variant="light">
            {ready ? t("bulk.dryRunDone") : t("bulk.dryRunRunning")}
          </Alert>
          <OperationView id={checked.id} />
        </Stack>
      ) : null}
    </Stack>
  );
}

function TypeParams({
  type,
  p,
  set,
  error,
}: {
  type: BulkType;
  p: Params;
  set: (field: keyof Params) => (e: { currentTarget: { value: string } }) => void;
  error: (field: keyof Params, ...server: string[]) => string | undefined;
}) {
  const { t } = useTranslation();
  const nodes = useNodeOptions();
  const tariffs = useQuery({
    queryKey: ["tariffs"],
    queryFn: () => ok(api.GET("/api/v1/tariffs", { params: { query: { page_size: 100 } } })),
    enabled: type === "change_tariff",
    staleTime: 300_000,
  });
  const services = useQuery({
    queryKey: ["services"],
    queryFn: () => ok(api.GET("/api/v1/services", { params: { query: { page_size: 100 } } })),
    enabled: type === "connect_service" || type === "disconnect_service",
    staleTime: 300_000,
  });
  const accounts = useQuery({
    queryKey: ["accounts"],
    queryFn: () => ok(api.GET("/api/v1/accounts", { params: { query: { page_size: 100 } } })),
    enabled: type === "move_to_account",
  });
  const choose = { value: "", label: t("bulk.choose") };
  const loadError = tariffs.error ?? services.error ?? accounts.error;
  return (
    <>
      {loadError ? <ProblemAlert error={loadError} /> : null}
      {type === "block" || type === "unblock" ? (
        <NativeSelect
          label={t("bulk.blockType")}
          value={p.blockType}
          onChange={set("blockType")}
          data={CUSTOMER_BLOCKS.map((b) => ({ value: b, label: t(`blockType.${b}`) }))}
          error={error("blockType", "type")}
        />
      ) : null}
      {type === "change_tariff" ? (
        <NativeSelect
          label={t("bulk.tariff")}
          value={p.tariffId}
          onChange={set("tariffId")}
          data={[choose, ...(tariffs.data?.items ?? []).filter((x) => x.available).map((x) => ({ value: x.id, label: x.name }))]}
          error={error("tariffId", "tariff_id")}
        />
      ) : null}
      {type === "connect_service" || type === "disconnect_service" ? (
        <NativeSelect
          label={t("bulk.service")}
          value={p.serviceId}
          onChange={set("serviceId")}
          data={[choose, ...(services.data?.items ?? []).map((x) => ({ value: x.id, label: x.name }))]}
          error={error("serviceId", "service_id")}
        />
      ) : null}
      {type === "set_limit" || type === "remove_limit" ? (
        <NativeSelect
          label={t("bulk.limitKind")}
          value={p.limitKind}
          onChange={set("limitKind")}
          data={LIMIT_KINDS.map((k) => ({ value: k, label: t(`limitKind.${k}`) }))}
          error={error("limitKind", "kind")}
        />
      ) : null}
      {type === "set_limit" ? (
        <Group grow align="flex-start">
          <TextInput
            label={t("bulk.amount")}
            inputMode="decimal"
            value={p.amount}
            onChange={set("amount")}
            error={error("amount", "amount")}
          />
          <NativeSelect
            label={t("bulk.limitAction")}
            value={p.limitAction}
            onChange={set("limitAction")}
            data={LIMIT_ACTIONS.map((a) => ({ value: a, label: t(`limitAction.${a}`) }))}
            error={error("limitAction", "action")}
          />
        </Group>
      ) : null}
      {type === "set_forwarding" || type === "remove_forwarding" ? (
        <NativeSelect
          label={t("bulk.condition")}
          value={p.condition}
          onChange={set("condition")}
          data={FORWARDING_CONDITIONS.map((c) => ({ value: c, label: t(`forwardingCondition.${c}`) }))}
          error={error("condition", "condition")}
        />
      ) : null}
      {type === "set_forwarding" ? (
        <TextInput
          label={t("bulk.forwardTo")}
          type="tel"
          value={p.target}
          onChange={set("target")}
          error={error("target", "target")}
        />
      ) : null}
      {type === "move_to_node" ? (
        <NativeSelect
          label={t("bulk.toNode")}
          value={p.toNode}
          onChange={set("toNode")}
          data={[choose, ...nodes]}
          error={error("toNode", "node_id")}
        />
      ) : null}
      {type === "move_to_account" ? (
        <NativeSelect
          label={t("bulk.toAccount")}
          value={p.accountId}
          onChange={set("accountId")}
          data={[choose, ...(accounts.data?.items ?? []).map((a) => ({ value: a.id, label: `${a.number} ${a.name}`.trim() }))]}
          error={error("accountId", "account_id")}
        />
      ) : null}
    </>
  );
}

function SmsForm() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const initial = useInitialTargets();
  const [targets, setTargets] = useState<TargetsValue>(initial);
  const [text, setText] = useState("");
  const [at, setAt] = useState("");
  const [missing, setMissing] = useState<string | null>(null);
  const send = useMutation({
    mutationFn: () =>
      ok(
        api.POST("/api/v1/sms", {
          params: { header: { "Idempotency-Key": idempotencyKey() } },
          body: { ...targetsBody(targets), text: text.trim(), scheduled_at: scheduled(at) },
        }),
      ),
    onSuccess: (op) => void navigate(`/operations/${op.id}`),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const b = targetsBody(targets);
    if ("node_id" in b ? !b.node_id : b.msisdns.length === 0) return setMissing("targets");
    if (!text.trim()) return setMissing("text");
    setMissing(null);
    send.mutate();
  };
  return (
    <Card withBorder component="form" onSubmit={submit} aria-labelledby="sms-form-title" noValidate>
      <Stack gap="sm">
        <Title order={2} size="h4" id="sms-form-title">
          {t("sms.title")}
        </Title>
        <Targets
          value={targets}
          onChange={setTargets}
          error={missing === "targets" ? t("bulk.required") : fieldError(send.error, "msisdns", "node_id")}
        />
        <Textarea
          label={t("sms.text")}
          description={t("sms.length", { count: text.length, max: 670 })}
          autosize
          minRows={3}
          maxLength={670}
          value={text}
          onChange={(e) => setText(e.currentTarget.value)}
          error={missing === "text" ? t("bulk.required") : fieldError(send.error, "text")}
        />
        <TextInput
          type="datetime-local"
          label={t("bulk.scheduledAt")}
          description={t("bulk.scheduledHint")}
          value={at}
          onChange={(e) => setAt(e.currentTarget.value)}
          error={fieldError(send.error, "scheduled_at")}
          maw={320}
        />
        {send.error ? <ProblemAlert error={send.error} /> : null}
        <Button type="submit" loading={send.isPending} style={{ alignSelf: "flex-start" }}>
          {at ? t("sms.schedule") : t("sms.send")}
        </Button>
      </Stack>
    </Card>
  );
}
