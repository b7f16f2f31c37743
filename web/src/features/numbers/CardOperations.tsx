// The single-number operations of «Карточка номера» beyond blocks: change of tariff plan,
// services connected and disconnected (with their compatibility), limits, call forwarding,
// and the label / comment / cost centre. Each is offered only with its own permission for
// the number's node (numbers.tariff, numbers.services, numbers.limits, numbers.forwarding,
// numbers.manage_notes); every change is read back from the card.
import { Button, Card, Group, List, NativeSelect, SimpleGrid, Table, Text, TextInput, Textarea, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { OperationForm } from "../../components/OperationForm";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, fieldError, ok, type Schemas } from "../../lib/api";
import { formatDateTime, formatMoney, parseRubles } from "../../lib/format";
import { useNumberChange } from "./useNumberChange";

type NumberCard = Schemas["NumberCardOut"];
const LIMIT_KINDS = ["total", "data", "roaming", "calls", "sms"] as const;
const LIMIT_ACTIONS = ["notify", "block"] as const;
const CONDITIONS = ["unconditional", "busy", "no_reply", "unreachable"] as const;

export function TariffChange({ card }: { card: NumberCard }) {
  const { t, i18n } = useTranslation();
  const [tariffId, setTariffId] = useState("");
  const [missing, setMissing] = useState(false);
  const tariffs = useQuery({
    queryKey: ["tariffs"],
    queryFn: () => ok(api.GET("/api/v1/tariffs", { params: { query: { page_size: 100 } } })),
    staleTime: 300_000,
  });
  const change = useNumberChange(
    card.msisdn,
    () => ok(api.PUT("/api/v1/numbers/{msisdn}/tariff", { params: { path: { msisdn: card.msisdn } }, body: { tariff_id: tariffId } })),
    () => setTariffId(""),
  );
  const offered = (tariffs.data?.items ?? []).filter((x) => x.available && x.id !== card.tariff.id);
  return (
    <OperationForm
      title={t("functions.tariff_change")}
      titleId="tariff-change-title"
      onSubmit={() => {
        setMissing(!tariffId);
        if (tariffId) change.mutate();
      }}
      error={change.error}
      fields={["tariff_id"]}
      done={change.data ? t("card.tariffChanged", { name: change.data.tariff.name }) : null}
      pending={change.isPending}
      submitLabel={t("card.changeTariff")}
    >
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
    </OperationForm>
  );
}

export function Services({ card, allowed }: { card: NumberCard; allowed: boolean }) {
  const { t, i18n } = useTranslation();
  const [serviceId, setServiceId] = useState("");
  const [missing, setMissing] = useState(false);
  const catalogue = useQuery({
    queryKey: ["services", card.tariff.id],
    queryFn: () => ok(api.GET("/api/v1/services", { params: { query: { tariff_id: card.tariff.id, page_size: 200 } } })),
    enabled: allowed,
    staleTime: 300_000,
  });
  const connect = useNumberChange(
    card.msisdn,
    () => ok(api.POST("/api/v1/numbers/{msisdn}/services", { params: { path: { msisdn: card.msisdn } }, body: { service_id: serviceId } })),
    () => setServiceId(""),
  );
  const disconnect = useNumberChange(card.msisdn, (service_id: string) =>
    ok(api.DELETE("/api/v1/numbers/{msisdn}/services/{service_id}", { params: { path: { msisdn: card.msisdn, service_id } } })),
  );
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
  const submit = () => {
    setMissing(!serviceId);
    if (serviceId) {
      disconnect.reset();
      connect.mutate();
    }
  };
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
        <OperationForm
          label={t("card.connectService")}
          mt="md"
          onSubmit={submit}
          error={connect.error ?? disconnect.error}
          fields={["service_id"]}
          done={[connect.isSuccess && t("card.serviceConnected"), disconnect.isSuccess && t("card.serviceDisconnected")]}
          pending={connect.isPending}
          submitLabel={t("card.connect")}
        >
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
        </OperationForm>
      ) : null}
    </Card>
  );
}

export function Limits({ card, allowed }: { card: NumberCard; allowed: boolean }) {
  const { t, i18n } = useTranslation();
  const [kind, setKind] = useState<(typeof LIMIT_KINDS)[number] | "">("");
  const [amount, setAmount] = useState("");
  const [action, setAction] = useState<(typeof LIMIT_ACTIONS)[number]>("notify");
  const [missing, setMissing] = useState<string | null>(null);
  const set = useNumberChange(
    card.msisdn,
    (kopecks: number) =>
      ok(
        api.PUT("/api/v1/numbers/{msisdn}/limits/{kind}", {
          params: { path: { msisdn: card.msisdn, kind: kind || "total" } },
          body: { amount: { amount: kopecks, currency: "RUB" }, action },
        }),
      ),
    () => setAmount(""),
  );
  const remove = useNumberChange(card.msisdn, (k: (typeof LIMIT_KINDS)[number]) =>
    ok(api.DELETE("/api/v1/numbers/{msisdn}/limits/{kind}", { params: { path: { msisdn: card.msisdn, kind: k } } })),
  );
  const kindName = (k: string) => t(`limitKind.${k}` as "limitKind.total", { defaultValue: k });
  const submit = () => {
    const kopecks = parseRubles(amount);
    if (!kind) return setMissing("kind");
    if (kopecks === null) return setMissing("amount");
    setMissing(null);
    remove.reset();
    set.mutate(kopecks);
  };
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
        <OperationForm
          label={t("card.setLimit")}
          mt="md"
          onSubmit={submit}
          error={set.error ?? remove.error}
          fields={["amount"]}
          done={[set.isSuccess && t("card.limitSet"), remove.isSuccess && t("card.limitRemoved")]}
          pending={set.isPending}
          submitLabel={t("card.setLimit")}
        >
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
        </OperationForm>
      ) : null}
    </Card>
  );
}

export function Forwarding({ card, allowed }: { card: NumberCard; allowed: boolean }) {
  const { t } = useTranslation();
  const [condition, setCondition] = useState<(typeof CONDITIONS)[number] | "">("");
  const [target, setTarget] = useState("");
  const [missing, setMissing] = useState<string | null>(null);
  const set = useNumberChange(
    card.msisdn,
    () =>
      ok(
        api.PUT("/api/v1/numbers/{msisdn}/forwarding/{condition}", {
          params: { path: { msisdn: card.msisdn, condition: condition || "unconditional" } },
          body: { target },
        }),
      ),
    () => setTarget(""),
  );
  const remove = useNumberChange(card.msisdn, (c: (typeof CONDITIONS)[number]) =>
    ok(api.DELETE("/api/v1/numbers/{msisdn}/forwarding/{condition}", { params: { path: { msisdn: card.msisdn, condition: c } } })),
  );
  const name = (c: string) => t(`forwardingCondition.${c}` as "forwardingCondition.busy", { defaultValue: c });
  const submit = () => {
    if (!condition) return setMissing("condition");
    if (!target.trim()) return setMissing("target");
    setMissing(null);
    remove.reset();
    set.mutate();
  };
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
        <OperationForm
          label={t("card.setForwarding")}
          mt="md"
          onSubmit={submit}
          error={set.error ?? remove.error}
          fields={["target"]}
          done={[set.isSuccess && t("card.forwardingSet"), remove.isSuccess && t("card.forwardingRemoved")]}
          pending={set.isPending}
          submitLabel={t("card.setForwarding")}
        >
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
        </OperationForm>
      ) : null}
    </Card>
  );
}

export function Notes({ card }: { card: NumberCard }) {
  const { t } = useTranslation();
  const [label, setLabel] = useState(card.label);
  const [comment, setComment] = useState(card.comment);
  const [costCenter, setCostCenter] = useState(card.cost_center);
  const save = useNumberChange(card.msisdn, () =>
    ok(
      api.PATCH("/api/v1/numbers/{msisdn}", {
        params: { path: { msisdn: card.msisdn } },
        body: { label, comment, cost_center: costCenter },
      }),
    ),
  );
  return (
    <OperationForm
      title={t("card.notes")}
      titleId="notes-title"
      onSubmit={() => save.mutate()}
      error={save.error}
      fields={["label", "comment", "cost_center"]}
      done={save.isSuccess && t("finance.saved")}
      pending={save.isPending}
      submitLabel={t("finance.save")}
    >
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
    </OperationForm>
  );
}
