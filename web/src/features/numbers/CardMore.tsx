// More single-number operations of «Карточка номера»: the tariff's settings
// (numbers.tariff), SIM and number replacement (numbers.sim), the move to another
// personal account (finance.settings) and the usage of a period (numbers.view).
import { Card, Checkbox, Group, NativeSelect, SimpleGrid, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { Loading } from "../../components/Loading";
import { OperationForm } from "../../components/OperationForm";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, fieldError, ok, type Schemas } from "../../lib/api";
import { formatMoney, formatMsisdn } from "../../lib/format";
import { useNumberChange } from "./useNumberChange";

type NumberCard = Schemas["NumberCardOut"];
type Value = boolean | number | string;

export function TariffSettings({ card }: { card: NumberCard }) {
  const { t } = useTranslation();
  const tariff = useQuery({
    queryKey: ["tariff", card.tariff.id],
    queryFn: () => ok(api.GET("/api/v1/tariffs/{tariff_id}", { params: { path: { tariff_id: card.tariff.id } } })),
    staleTime: 300_000,
  });
  const current = card.tariff.settings ?? {};
  const [edits, setEdits] = useState<Record<string, Value>>({});
  const save = useNumberChange(
    card.msisdn,
    () => ok(api.PATCH("/api/v1/numbers/{msisdn}/tariff/settings", { params: { path: { msisdn: card.msisdn } }, body: { settings: edits } })),
    () => setEdits({}),
  );
  const definitions = tariff.data?.settings ?? [];
  if (tariff.isPending) return <Loading />;
  if (definitions.length === 0) return null;
  const value = (key: string, fallback: Value | null | undefined): string =>
    String(edits[key] ?? current[key] ?? fallback ?? "");
  const edit = (key: string, v: Value) => {
    save.reset();
    setEdits((e) => ({ ...e, [key]: v }));
  };
  return (
    <OperationForm
      title={t("more.tariffSettings")}
      titleId="tariff-settings-title"
      onSubmit={() => {
        if (Object.keys(edits).length > 0) save.mutate();
      }}
      error={save.error}
      fields={["settings"]}
      done={save.isSuccess && t("finance.saved")}
      pending={save.isPending}
      disabled={Object.keys(edits).length === 0}
      submitLabel={t("more.saveSettings")}
    >
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
    </OperationForm>
  );
}

export function Replacement({ card }: { card: NumberCard }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [iccid, setIccid] = useState("");
  const [newMsisdn, setNewMsisdn] = useState("");
  const [missing, setMissing] = useState(false);
  const sim = useNumberChange(
    card.msisdn,
    () => ok(api.POST("/api/v1/numbers/{msisdn}/sim-replacement", { params: { path: { msisdn: card.msisdn } }, body: { iccid } })),
    () => setIccid(""),
  );
  const number = useNumberChange(
    card.msisdn,
    () =>
      ok(
        api.POST("/api/v1/numbers/{msisdn}/number-replacement", {
          params: { path: { msisdn: card.msisdn } },
          body: { new_msisdn: newMsisdn.trim() || null },
        }),
      ),
    (replaced) => void navigate(`/numbers/${replaced.msisdn}`, { state: { replaced: replaced.previous_msisdn } }),
  );
  return (
    <Card withBorder component="section" aria-labelledby="replacement-title">
      <Stack gap="md">
        <Title order={2} size="h4" id="replacement-title">
          {t("more.replacement")}
        </Title>
        <OperationForm
          label={t("functions.sim_replacement")}
          onSubmit={() => {
            setMissing(!iccid.trim());
            if (iccid.trim()) sim.mutate();
          }}
          error={sim.error}
          fields={["iccid"]}
          done={sim.data && t("more.simReplaced", { iccid: sim.data.iccid })}
          pending={sim.isPending}
          variant="outline"
          submitLabel={t("functions.sim_replacement")}
        >
          <TextInput
            label={t("more.newIccid")}
            description={t("more.iccidHint")}
            inputMode="numeric"
            value={iccid}
            onChange={(e) => setIccid(e.currentTarget.value)}
            error={missing ? t("bulk.required") : fieldError(sim.error, "iccid")}
          />
        </OperationForm>
        <OperationForm
          label={t("functions.number_replacement")}
          onSubmit={() => {
            if (window.confirm(t("more.confirmNumber", { number: formatMsisdn(card.msisdn) }))) number.mutate();
          }}
          error={number.error}
          fields={["new_msisdn"]}
          pending={number.isPending}
          variant="outline"
          submitLabel={t("functions.number_replacement")}
        >
          <TextInput
            label={t("more.newMsisdn")}
            description={t("more.newMsisdnHint")}
            inputMode="tel"
            value={newMsisdn}
            onChange={(e) => setNewMsisdn(e.currentTarget.value)}
            error={fieldError(number.error, "new_msisdn")}
          />
        </OperationForm>
      </Stack>
    </Card>
  );
}

export function MoveToAccount({ card }: { card: NumberCard }) {
  const { t, i18n } = useTranslation();
  const client = useQueryClient();
  const [accountId, setAccountId] = useState("");
  const [missing, setMissing] = useState(false);
  const accounts = useQuery({
    queryKey: ["accounts"],
    queryFn: () => ok(api.GET("/api/v1/accounts", { params: { query: { page_size: 100 } } })),
  });
  const move = useNumberChange(
    card.msisdn,
    () => ok(api.PUT("/api/v1/numbers/{msisdn}/account", { params: { path: { msisdn: card.msisdn } }, body: { account_id: accountId } })),
    () => {
      setAccountId("");
      void client.invalidateQueries({ queryKey: ["accounts"] });
    },
  );
  const others = (accounts.data?.items ?? []).filter((a) => a.id !== card.account_id);
  if (accounts.data && others.length === 0) return null;
  return (
    <OperationForm
      title={t("more.moveTitle")}
      titleId="move-account-title"
      onSubmit={() => {
        setMissing(!accountId);
        if (accountId) move.mutate();
      }}
      error={move.error}
      fields={["account_id"]}
      done={move.data && t("more.moved", { number: move.data.account.number })}
      pending={move.isPending}
      submitLabel={t("more.move")}
    >
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
    </OperationForm>
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
