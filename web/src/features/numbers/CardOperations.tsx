// The single-number operations of «Карточка номера» beyond blocks: change of tariff plan,
// services connected and disconnected (with their compatibility), limits, call forwarding,
// and the label / comment / cost centre. Each is offered only with its own permission for
// the number's node (numbers.tariff, numbers.services, numbers.limits, numbers.forwarding,
// numbers.manage_notes); every change is read back from the card.
import { Alert, Button, Card, Group, List, NativeSelect, SimpleGrid, Stack, Table, Text, TextInput, Textarea, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, fieldError, ok, type Schemas } from "../../lib/api";
import { formatDateTime, formatMoney, parseRubles } from "../../lib/format";

type NumberCard = Schemas["NumberCardOut"];
const LIMIT_KINDS = ["total", "data", "roaming", "calls", "sms"] as const;
const LIMIT_ACTIONS = ["notify", "block"] as const;
const CONDITIONS = ["unconditional", "busy", "no_reply", "unreachable"] as const;

/** After a change: the card read again, and the lists that show the number. */
function useChanged(msisdn: string) {
  const client = useQueryClient();
  return () => {
    void client.invalidateQueries({ queryKey: ["number", msisdn] });
    void client.invalidateQueries({ queryKey: ["numbers"] });
  };
}

function Done({ text }: { text: string }) {
  return (
    <Alert color="green" variant="light" role="status">
      {text}
    </Alert>
  );
}

export function TariffChange({ card }: { card: NumberCard }) {
  const { t, i18n } = useTranslation();
  const changed = useChanged(card.msisdn);
  const [tariffId, setTariffId] = useState("");
  const [missing, setMissing] = useState(false);
  const tariffs = useQuery({
    queryKey: ["tariffs"],
    queryFn: () => ok(api.GET("/api/v1/tariffs", { params: { query: { page_size: 100 } } })),
    staleTime: 300_000,
  });
  const change = useMutation({
    mutationFn: () =>
      ok(api.PUT("/api/v1/numbers/{msisdn}/tariff", { params: { path: { msisdn: card.msisdn } }, body: { tariff_id: tariffId } })),
    onSuccess: () => {
      setTariffId("");
      changed();
    },
  });
  const offered = (tariffs.data?.items ?? []).filter((x) => x.available && x.id !== card.tariff.id);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setMissing(!tariffId);
    if (tariffId) change.mutate();
  };
  return (
    <Card withBorder component="form" onSubmit={submit} noValidate aria-labelledby="tariff-change-title">
      <Stack gap="sm">
        <Title order={2} size="h4" id="tariff-change-title">
          {t("functions.tariff_change")}
        </Title>
        {tariffs.error ? <ProblemAlert error={tariffs.error} /> : null}
        <NativeSelect
          label={t("card.newTariff")}
          value={tariffId}
          onChange={(e) => {
            change.reset();
            setTariffId(e.currentTarget.value);
          }}
          data={[
            { value: "", label: t("bulk.choose") },
            ...offered.map((x) => ({ value: x.id, label: `${x.name} — ${formatMoney(x.monthly_fee, i18n.language)} ${t("card.perMonth")}` })),
          ]}
          error={missing ? t("bulk.required") : fieldError(change.error, "tariff_id")}
        />
        {change.error && !fieldError(change.error, "tariff_id") ? <ProblemAlert error={change.error} /> : null}
        {change.data ? <Done text={t("card.tariffChanged", { name: change.data.tariff.name })} /> : null}
        <Button type="submit" loading={change.isPending} style={{ alignSelf: "flex-start" }}>
          {t("card.changeTariff")}
        </Button>
      </Stack>
    </Card>
  );
}

export function Services({ card, allowed }: { card: NumberCard; allowed: boolean }) {
  const { t, i18n } = useTranslation();
  const changed = useChanged(card.msisdn);
  const [serviceId, setServiceId] = useState("");
  const [missing, setMissing] = useState(false);
  const catalogue = useQuery({
    queryKey: ["services", card.tariff.id],
    queryFn: () => ok(api.GET("/api/v1/services", { params: { query: { tariff_id: card.tariff.id, page_size: 200 } } })),
    enabled: allowed,
    staleTime: 300_000,
  });
  const connect = useMutation({
    mutationFn: () =>
      ok(api.POST("/api/v1/numbers/{msisdn}/services", { params: { path: { msisdn: card.msisdn } }, body: { service_id: serviceId } })),
    onSuccess: () => {
      setServiceId("");
      changed();
    },
  });
  const disconnect = useMutation({
    mutationFn: (service_id: string) =>
      ok(api.DELETE("/api/v1/numbers/{msisdn}/services/{service_id}", { params: { path: { msisdn: card.msisdn, service_id } } })),
    onSuccess: changed,
  });
  const connected = new Set(card.services.map((s) => s.id));
  const names = new Map((catalogue.data?.items ?? []).map((s) => [s.id, s.name]));
  // Offered: not connected, allowed on this tariff; what it needs or excludes is said.
  const offered = (catalogue.data?.items ?? []).filter(
    (s) => !connected.has(s.id) && (s.tariffs.length === 0 || s.tariffs.includes(card.tariff.id)),
  );
  const note = (s: Schemas["ServiceOut"]) => {
    const needs = s.requires.filter((r) => !connected.has(r));
    const clashes = s.excludes.filter((x) => connected.has(x));
    if (needs.length) return ` (${t("card.requires", { names: needs.map((r) => names.get(r) ?? r).join(", ") })})`;
    if (clashes.length) return ` (${t("card.excludes", { names: clashes.map((r) => names.get(r) ?? r).join(", ") })})`;
    return "";
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setMissing(!serviceId);
    if (serviceId) {
      disconnect.reset();
      connect.mutate();
    }
  };
  const error = connect.error ?? disconnect.error;
  return (
    <Card withBorder component="section" aria-labelledby="services-title">
      <Title order={2} size="h4" id="services-title" mb="xs">
        {t("number.services")}
      </Title>
      {card.services.length === 0 ? (
        <Text c="dimmed">{t("number.noServices")}</Text>
      ) : (
        <List spacing="xs" data-testid="services">
          {card.services.map((service) => (
            <List.Item key={service.id}>
              <Group gap="xs">
                <Text span>{service.name}</Text>
                <Text span c="dimmed" size="sm">
                  ({t("number.connectedAt", { at: formatDateTime(service.connected_at, i18n.language) })})
                </Text>
                {allowed ? (
                  <Button
                    size="compact-sm"
                    variant="default"
                    aria-label={t("card.disconnectService", { name: service.name })}
                    loading={disconnect.isPending && disconnect.variables === service.id}
                    onClick={() => {
                      connect.reset();
                      disconnect.mutate(service.id);
                    }}
                  >
                    {t("card.disconnect")}
                  </Button>
                ) : null}
              </Group>
            </List.Item>
          ))}
        </List>
      )}
      {allowed ? (
        <form onSubmit={submit} noValidate aria-label={t("card.connectService")}>
          <Stack gap="sm" mt="md">
          <NativeSelect
            label={t("bulk.service")}
            value={serviceId}
            onChange={(e) => setServiceId(e.currentTarget.value)}
            data={[
              { value: "", label: t("bulk.choose") },
              ...offered.map((s) => ({
                value: s.id,
                label: `${s.name} — ${formatMoney(s.monthly_price, i18n.language)} ${t("card.perMonth")}${note(s)}`,
              })),
            ]}
            error={missing ? t("bulk.required") : fieldError(connect.error, "service_id")}
          />
          {catalogue.error ? <ProblemAlert error={catalogue.error} /> : null}
          {error && !fieldError(error, "service_id") ? <ProblemAlert error={error} /> : null}
          {connect.isSuccess ? <Done text={t("card.serviceConnected")} /> : null}
          {disconnect.isSuccess ? <Done text={t("card.serviceDisconnected")} /> : null}
          <Button type="submit" loading={connect.isPending} style={{ alignSelf: "flex-start" }}>
            {t("card.connect")}
          </Button>
          </Stack>
        </form>
      ) : null}
    </Card>
  );
}

export function Limits({ card, allowed }: { card: NumberCard; allowed: boolean }) {
  const { t, i18n } = useTranslation();
  const changed = useChanged(card.msisdn);
  const [kind, setKind] = useState<(typeof LIMIT_KINDS)[number] | "">("");
  const [amount, setAmount] = useState("");
  const [action, setAction] = useState<(typeof LIMIT_ACTIONS)[number]>("notify");
  const [missing, setMissing] = useState<string | null>(null);
  const set = useMutation({
    mutationFn: (kopecks: number) =>
      ok(
        api.PUT("/api/v1/numbers/{msisdn}/limits/{kind}", {
          params: { path: { msisdn: card.msisdn, kind: kind || "total" } },
          body: { amount: { amount: kopecks, currency: "RUB" }, action },
        }),
      ),
    onSuccess: () => {
      setAmount("");
      changed();
    },
  });
  const remove = useMutation({
    mutationFn: (k: (typeof LIMIT_KINDS)[number]) => ok(api.DELETE("/api/v1/numbers/{msisdn}/limits/{kind}", { params: { path: { msisdn: card.msisdn, kind: k } } })),
    onSuccess: changed,
  });
  const kindName = (k: string) => t(`limitKind.${k}` as "limitKind.total", { defaultValue: k });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const kopecks = parseRubles(amount);
    if (!kind) return setMissing("kind");
    if (kopecks === null) return setMissing("amount");
    setMissing(null);
    remove.reset();
    set.mutate(kopecks);
  };
  const error = set.error ?? remove.error;
  return (
    <Card withBorder component="section" aria-labelledby="limits-title">
      <Title order={2} size="h4" id="limits-title" mb="xs">
        {t("card.limits")}
      </Title>
      {(card.limits ?? []).length === 0 ? (
        <Text c="dimmed">{t("card.noLimits")}</Text>
      ) : (
        <Table.ScrollContainer
          minWidth={480}
          scrollAreaProps={{ viewportProps: { tabIndex: 0, "aria-label": t("card.limits") } }}
        >
          <Table aria-label={t("card.limits")} data-testid="limits">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t("bulk.limitKind")}</Table.Th>
                <Table.Th>{t("card.limit")}</Table.Th>
                <Table.Th>{t("card.spent")}</Table.Th>
                {allowed ? <Table.Th>{t("admin.actions")}</Table.Th> : null}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {(card.limits ?? []).map((limit) => (
                <Table.Tr key={limit.kind}>
                  <Table.Td>{kindName(limit.kind)}</Table.Td>
                  <Table.Td>
                    {formatMoney(limit.amount, i18n.language)},{" "}
                    {t(`limitAction.${limit.action}` as "limitAction.notify", { defaultValue: limit.action }).toLowerCase()}
                  </Table.Td>
                  <Table.Td>{formatMoney(limit.spent, i18n.language)}</Table.Td>
                  {allowed ? (
                    <Table.Td>
                      <Button
                        size="compact-sm"
                        variant="default"
                        aria-label={t("card.removeLimit", { kind: kindName(limit.kind) })}
                        onClick={() => {
                          set.reset();
                          remove.mutate(LIMIT_KINDS.find((k) => k === limit.kind) ?? "total");
                        }}
                      >
                        {t("admin.delete")}
                      </Button>
                    </Table.Td>
                  ) : null}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {allowed ? (
        <form onSubmit={submit} noValidate aria-label={t("card.setLimit")}>
          <Stack gap="sm" mt="md">
          <SimpleGrid cols={{ base: 1, sm: 3 }}>
            <NativeSelect
              label={t("bulk.limitKind")}
              value={kind}
              onChange={(e) => setKind(LIMIT_KINDS.find((k) => k === e.currentTarget.value) ?? "")}
              data={[{ value: "", label: t("bulk.choose") }, ...LIMIT_KINDS.map((k) => ({ value: k, label: kindName(k) }))]}
              error={missing === "kind" ? t("bulk.required") : undefined}
            />
            <TextInput
              label={t("bulk.amount")}
              inputMode="decimal"
              value={amount}
              onChange={(e) => setAmount(e.currentTarget.value)}
              error={missing === "amount" ? t("bulk.required") : fieldError(set.error, "amount")}
            />
            <NativeSelect
              label={t("bulk.limitAction")}
              value={action}
              onChange={(e) => setAction(e.currentTarget.value === "block" ? "block" : "notify")}
              data={LIMIT_ACTIONS.map((a) => ({ value: a, label: t(`limitAction.${a}`) }))}
            />
          </SimpleGrid>
          {error && !fieldError(error, "amount") ? <ProblemAlert error={error} /> : null}
          {set.isSuccess ? <Done text={t("card.limitSet")} /> : null}
          {remove.isSuccess ? <Done text={t("card.limitRemoved")} /> : null}
          <Button type="submit" loading={set.isPending} style={{ alignSelf: "flex-start" }}>
            {t("card.setLimit")}
          </Button>
          </Stack>
        </form>
      ) : null}
    </Card>
  );
}

export function Forwarding({ card, allowed }: { card: NumberCard; allowed: boolean }) {
  const { t } = useTranslation();
  const changed = useChanged(card.msisdn);
  const [condition, setCondition] = useState<(typeof CONDITIONS)[number] | "">("");
  const [target, setTarget] = useState("");
  const [missing, setMissing] = useState<string | null>(null);
  const set = useMutation({
    mutationFn: () =>
      ok(api.PUT("/api/v1/numbers/{msisdn}/forwarding/{condition}", { params: { path: { msisdn: card.msisdn, condition: condition || "unconditional" } }, body: { target } })),
    onSuccess: () => {
      setTarget("");
      changed();
    },
  });
  const remove = useMutation({
    mutationFn: (c: (typeof CONDITIONS)[number]) =>
      ok(api.DELETE("/api/v1/numbers/{msisdn}/forwarding/{condition}", { params: { path: { msisdn: card.msisdn, condition: c } } })),
    onSuccess: changed,
  });
  const name = (c: string) => t(`forwardingCondition.${c}` as "forwardingCondition.busy", { defaultValue: c });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!condition) return setMissing("condition");
    if (!target.trim()) return setMissing("target");
    setMissing(null);
    remove.reset();
    set.mutate();
  };
  const error = set.error ?? remove.error;
  return (
    <Card withBorder component="section" aria-labelledby="forwarding-title">
      <Title order={2} size="h4" id="forwarding-title" mb="xs">
        {t("card.forwarding")}
      </Title>
      {card.forwarding.length === 0 ? (
        <Text c="dimmed">{t("card.noForwarding")}</Text>
      ) : (
        <List spacing="xs" data-testid="forwarding">
          {card.forwarding.map((f) => (
            <List.Item key={f.condition}>
              <Group gap="xs">
                <Text span>
                  {name(f.condition)}: {f.target}
                </Text>
                {allowed ? (
                  <Button
                    size="compact-sm"
                    variant="default"
                    aria-label={t("card.removeForwarding", { condition: name(f.condition) })}
                    onClick={() => {
                      set.reset();
                      remove.mutate(CONDITIONS.find((c) => c === f.condition) ?? "unconditional");
                    }}
                  >
                    {t("number.remove")}
                  </Button>
                ) : null}
              </Group>
            </List.Item>
          ))}
        </List>
      )}
      {allowed ? (
        <form onSubmit={submit} noValidate aria-label={t("card.setForwarding")}>
          <Stack gap="sm" mt="md">
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <NativeSelect
              label={t("bulk.condition")}
              value={condition}
              onChange={(e) => setCondition(CONDITIONS.find((c) => c === e.currentTarget.value) ?? "")}
              data={[{ value: "", label: t("bulk.choose") }, ...CONDITIONS.map((c) => ({ value: c, label: name(c) }))]}
              error={missing === "condition" ? t("bulk.required") : undefined}
            />
            <TextInput
              label={t("bulk.forwardTo")}
              inputMode="tel"
              value={target}
              onChange={(e) => setTarget(e.currentTarget.value)}
              error={missing === "target" ? t("bulk.required") : fieldError(set.error, "target")}
            />
          </SimpleGrid>
          {error && !fieldError(error, "target") ? <ProblemAlert error={error} /> : null}
          {set.isSuccess ? <Done text={t("card.forwardingSet")} /> : null}
          {remove.isSuccess ? <Done text={t("card.forwardingRemoved")} /> : null}
          <Button type="submit" loading={set.isPending} style={{ alignSelf: "flex-start" }}>
            {t("card.setForwarding")}
          </Button>
          </Stack>
        </form>
      ) : null}
    </Card>
  );
}

export function Notes({ card }: { card: NumberCard }) {
  const { t } = useTranslation();
  const changed = useChanged(card.msisdn);
  const [label, setLabel] = useState(card.label);
  const [comment, setComment] = useState(card.comment);
  const [costCenter, setCostCenter] = useState(card.cost_center);
  const save = useMutation({
    mutationFn: () =>
      ok(
        api.PATCH("/api/v1/numbers/{msisdn}", {
          params: { path: { msisdn: card.msisdn } },
          body: { label, comment, cost_center: costCenter },
        }),
      ),
    onSuccess: changed,
  });
  return (
    <Card
      withBorder
      component="form"
      noValidate
      aria-labelledby="notes-title"
      onSubmit={(event: FormEvent) => {
        event.preventDefault();
        save.mutate();
      }}
    >
      <Stack gap="sm">
        <Title order={2} size="h4" id="notes-title">
          {t("card.notes")}
        </Title>
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <TextInput label={t("number.label")} value={label} maxLength={100} onChange={(e) => setLabel(e.currentTarget.value)} error={fieldError(save.error, "label")} />
          <TextInput
            label={t("number.costCenter")}
            value={costCenter}
            maxLength={50}
            onChange={(e) => setCostCenter(e.currentTarget.value)}
            error={fieldError(save.error, "cost_center")}
          />
        </SimpleGrid>
        <Textarea label={t("number.comment")} value={comment} maxLength={500} autosize minRows={2} onChange={(e) => setComment(e.currentTarget.value)} error={fieldError(save.error, "comment")} />
        {save.error && !fieldError(save.error, "label", "comment", "cost_center") ? <ProblemAlert error={save.error} /> : null}
        {save.isSuccess ? <Done text={t("finance.saved")} /> : null}
        <Button type="submit" loading={save.isPending} style={{ alignSelf: "flex-start" }}>
          {t("finance.save")}
        </Button>
      </Stack>
    </Card>
  );
}
