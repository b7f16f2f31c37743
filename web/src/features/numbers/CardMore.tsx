// More single-number operations of «Карточка номера»: the tariff's settings
// (numbers.tariff), SIM and number replacement (numbers.sim), the move to another
// personal account (finance.settings) and the usage of a period (numbers.view).
import { Alert, Button, Card, Checkbox, Group, NativeSelect, SimpleGrid, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { Loading } from "../../components/Loading";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, fieldError, ok, type Schemas } from "../../lib/api";
import { formatMoney, formatMsisdn } from "../../lib/format";

type NumberCard = Schemas["NumberCardOut"];
type Value = boolean | number | string;

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

export function TariffSettings({ card }: { card: NumberCard }) {
  const { t } = useTranslation();
  const changed = useChanged(card.msisdn);
  const tariff = useQuery({
    queryKey: ["tariff", card.tariff.id],
    queryFn: () => ok(api.GET("/api/v1/tariffs/{tariff_id}", { params: { path: { tariff_id: card.tariff.id } } })),
    staleTime: 300_000,
  });
  const current = card.tariff.settings ?? {};
  const [edits, setEdits] = useState<Record<string, Value>>({});
  const save = useMutation({
    mutationFn: () =>
      ok(api.PATCH("/api/v1/numbers/{msisdn}/tariff/settings", { params: { path: { msisdn: card.msisdn } }, body: { settings: edits } })),
    onSuccess: () => {
      setEdits({});
      changed();
    },
  });
  const definitions = tariff.data?.settings ?? [];
  if (tariff.isPending) return <Loading />;
  if (definitions.length === 0) return null;
  const value = (key: string, fallback: Value | null | undefined): string =>
    String(edits[key] ?? current[key] ?? fallback ?? "");
  const edit = (key: string, v: Value) => {
    save.reset();
    setEdits((e) => ({ ...e, [key]: v }));
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (Object.keys(edits).length > 0) save.mutate();
  };
  return (
    <Card withBorder component="form" onSubmit={submit} noValidate aria-labelledby="tariff-settings-title">
      <Stack gap="sm">
        <Title order={2} size="h4" id="tariff-settings-title">
          {t("more.tariffSettings")}
        </Title>
        {tariff.error ? <ProblemAlert error={tariff.error} /> : null}
        {definitions.map((d) =>
          d.type === "bool" ? (
            <Checkbox
              key={d.key}
              label={d.title}
              checked={value(d.key, d.default) === "true"}
              onChange={(e) => edit(d.key, e.currentTarget.checked)}
              error={fieldError(save.error, `settings.${d.key}`)}
            />
          ) : d.type === "choice" ? (
            <NativeSelect
              key={d.key}
              label={d.title}
              value={value(d.key, d.default)}
              data={d.choices ?? []}
              onChange={(e) => edit(d.key, e.currentTarget.value)}
              error={fieldError(save.error, `settings.${d.key}`)}
            />
          ) : (
            <TextInput
              key={d.key}
              label={d.title}
              inputMode="numeric"
              description={d.min != null && d.max != null ? t("more.range", { min: d.min, max: d.max }) : undefined}
              value={value(d.key, d.default)}
              onChange={(e) => {
                const text = e.currentTarget.value.trim();
                edit(d.key, /^-?\d+$/.test(text) ? Number(text) : text);
              }}
              error={fieldError(save.error, `settings.${d.key}`)}
            />
          ),
        )}
        {save.error && !fieldError(save.error, "settings") ? <ProblemAlert error={save.error} /> : null}
        {save.isSuccess ? <Done text={t("finance.saved")} /> : null}
        <Button type="submit" loading={save.isPending} disabled={Object.keys(edits).length === 0} style={{ alignSelf: "flex-start" }}>
          {t("more.saveSettings")}
        </Button>
      </Stack>
    </Card>
  );
}

export function Replacement({ card }: { card: NumberCard }) {
  const { t } = useTranslation();
  const changed = useChanged(card.msisdn);
  const navigate = useNavigate();
  const [iccid, setIccid] = useState("");
  const [newMsisdn, setNewMsisdn] = useState("");
  const [missing, setMissing] = useState(false);
  const sim = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/numbers/{msisdn}/sim-replacement", { params: { path: { msisdn: card.msisdn } }, body: { iccid } })),
    onSuccess: () => {
      setIccid("");
      changed();
    },
  });
  const number = useMutation({
    mutationFn: () =>
      ok(
        api.POST("/api/v1/numbers/{msisdn}/number-replacement", {
          params: { path: { msisdn: card.msisdn } },
          body: { new_msisdn: newMsisdn.trim() || null },
        }),
      ),
    onSuccess: (replaced) => {
      changed();
      void navigate(`/numbers/${replaced.msisdn}`, { state: { replaced: replaced.previous_msisdn } });
    },
  });
  return (
    <Card withBorder component="section" aria-labelledby="replacement-title">
      <Stack gap="md">
        <Title order={2} size="h4" id="replacement-title">
          {t("more.replacement")}
        </Title>
        <form
          noValidate
          aria-label={t("functions.sim_replacement")}
          onSubmit={(event) => {
            event.preventDefault();
            setMissing(!iccid.trim());
            if (iccid.trim()) sim.mutate();
          }}
        >
          <Stack gap="sm">
            <TextInput
              label={t("more.newIccid")}
              description={t("more.iccidHint")}
              inputMode="numeric"
              value={iccid}
              onChange={(e) => setIccid(e.currentTarget.value)}
              error={missing ? t("bulk.required") : fieldError(sim.error, "iccid")}
            />
            {sim.error && !fieldError(sim.error, "iccid") ? <ProblemAlert error={sim.error} /> : null}
            {sim.data ? <Done text={t("more.simReplaced", { iccid: sim.data.iccid })} /> : null}
            <Button type="submit" variant="outline" loading={sim.isPending} style={{ alignSelf: "flex-start" }}>
              {t("functions.sim_replacement")}
            </Button>
          </Stack>
        </form>
        <form
          noValidate
          aria-label={t("functions.number_replacement")}
          onSubmit={(event) => {
            event.preventDefault();
            if (window.confirm(t("more.confirmNumber", { number: formatMsisdn(card.msisdn) }))) number.mutate();
          }}
        >
          <Stack gap="sm">
            <TextInput
              label={t("more.newMsisdn")}
              description={t("more.newMsisdnHint")}
              inputMode="tel"
              value={newMsisdn}
              onChange={(e) => setNewMsisdn(e.currentTarget.value)}
              error={fieldError(number.error, "new_msisdn")}
            />
            {number.error && !fieldError(number.error, "new_msisdn") ? <ProblemAlert error={number.error} /> : null}
            <Button type="submit" variant="outline" loading={number.isPending} style={{ alignSelf: "flex-start" }}>
              {t("functions.number_replacement")}
            </Button>
          </Stack>
        </form>
      </Stack>
    </Card>
  );
}

export function MoveToAccount({ card }: { card: NumberCard }) {
  const { t, i18n } = useTranslation();
  const client = useQueryClient();
  const changed = useChanged(card.msisdn);
  const [accountId, setAccountId] = useState("");
  const [missing, setMissing] = useState(false);
  const accounts = useQuery({
    queryKey: ["accounts"],
    queryFn: () => ok(api.GET("/api/v1/accounts", { params: { query: { page_size: 100 } } })),
  });
  const move = useMutation({
    mutationFn: () =>
      ok(api.PUT("/api/v1/numbers/{msisdn}/account", { params: { path: { msisdn: card.msisdn } }, body: { account_id: accountId } })),
    onSuccess: () => {
      setAccountId("");
      changed();
      void client.invalidateQueries({ queryKey: ["accounts"] });
    },
  });
  const others = (accounts.data?.items ?? []).filter((a) => a.id !== card.account_id);
  if (accounts.data && others.length === 0) return null;
  return (
    <Card
      withBorder
      component="form"
      noValidate
      aria-labelledby="move-account-title"
      onSubmit={(event: FormEvent) => {
        event.preventDefault();
        setMissing(!accountId);
        if (accountId) move.mutate();
      }}
    >
      <Stack gap="sm">
        <Title order={2} size="h4" id="move-account-title">
          {t("more.moveTitle")}
        </Title>
        {accounts.error ? <ProblemAlert error={accounts.error} /> : null}
        <NativeSelect
          label={t("bulk.toAccount")}
          value={accountId}
          onChange={(e) => setAccountId(e.currentTarget.value)}
          data={[
            { value: "", label: t("bulk.choose") },
            ...others.map((a) => ({ value: a.id, label: `${a.number} — ${formatMoney(a.balance, i18n.language)}` })),
          ]}
          error={missing ? t("bulk.required") : fieldError(move.error, "account_id")}
        />
        {move.error && !fieldError(move.error, "account_id") ? <ProblemAlert error={move.error} /> : null}
        {move.data ? <Done text={t("more.moved", { number: move.data.account.number })} /> : null}
        <Button type="submit" loading={move.isPending} style={{ alignSelf: "flex-start" }}>
          {t("more.move")}
        </Button>
      </Stack>
    </Card>
  );
}

/** The first day of the current Moscow month and today, as YYYY-MM-DD. */
function thisMonth(): [string, string] {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Moscow" }).format(new Date());
  return [`${today.slice(0, 8)}01`, today];
}

export function Usage({ card }: { card: NumberCard }) {
  const { t, i18n } = useTranslation();
  const [initialFrom, initialTo] = thisMonth();
  const [from, setFrom] = useState(initialFrom);
  const [to, setTo] = useState(initialTo);
  const valid = (d: string) => /^\d{4}-\d{2}-\d{2}$/.test(d);
  // `to` is exclusive: the day after the last day asked for.
  const end = valid(to) ? new Date(Date.parse(`${to}T00:00:00+03:00`) + 86_400_000).toISOString() : null;
  const usage = useQuery({
    queryKey: ["usage", card.msisdn, from, to],
    queryFn: () =>
      ok(
        api.GET("/api/v1/numbers/{msisdn}/usage", {
          params: { path: { msisdn: card.msisdn }, query: { from: `${from}T00:00:00+03:00`, to: end } },
        }),
      ),
    enabled: valid(from) && valid(to),
  });
  const kinds = usage.data?.kinds ?? [];
  return (
    <Card withBorder component="section" aria-labelledby="usage-title">
      <Stack gap="sm">
        <Title order={2} size="h4" id="usage-title">
          {t("more.usage")}
        </Title>
        <Group align="flex-end">
          <TextInput type="date" label={t("finance.from")} value={from} onChange={(e) => setFrom(e.currentTarget.value)} w={170} />
          <TextInput type="date" label={t("finance.to")} value={to} onChange={(e) => setTo(e.currentTarget.value)} w={170} />
        </Group>
        {usage.error ? <ProblemAlert error={usage.error} onRetry={() => void usage.refetch()} /> : null}
        {usage.isLoading ? <Loading /> : null}
        {usage.data && kinds.length === 0 ? <Text c="dimmed">{t("more.noUsage")}</Text> : null}
        {kinds.length > 0 ? (
          <SimpleGrid cols={1}>
            <Table aria-label={t("more.usage")}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t("more.kind")}</Table.Th>
                  <Table.Th ta="right">{t("more.quantity")}</Table.Th>
                  <Table.Th ta="right">{t("more.charged")}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {kinds.map((k) => (
                  <Table.Tr key={k.kind}>
                    <Table.Td>{t(`limitKind.${k.kind}` as "limitKind.data", { defaultValue: k.kind })}</Table.Td>
                    <Table.Td ta="right">
                      {new Intl.NumberFormat(i18n.language).format(k.quantity)} {t(`unit.${k.unit}` as "unit.MB", { defaultValue: k.unit })}
                    </Table.Td>
                    <Table.Td ta="right">{formatMoney(k.charged, i18n.language)}</Table.Td>
                  </Table.Tr>
                ))}
                <Table.Tr>
                  <Table.Th scope="row" colSpan={2}>
                    {t("more.total")}
                  </Table.Th>
                  <Table.Td ta="right" fw={700}>
                    {usage.data ? formatMoney(usage.data.total, i18n.language) : ""}
                  </Table.Td>
                </Table.Tr>
              </Table.Tbody>
            </Table>
          </SimpleGrid>
        ) : null}
      </Stack>
    </Card>
  );
}
