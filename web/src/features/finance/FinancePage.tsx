// «Финансы»: the company's personal accounts (balance, available amount, settlement method,
// credit limit, numbers), the transfer of funds from a donor account, and for one account
// its statement, promised payments, settlement method and bill delivery. Each action is
// offered only with its own permission (finance.transfer, finance.promised_payment,
// finance.settings).
import { Alert, Badge, Button, Card, Group, NativeSelect, SimpleGrid, Stack, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { Loading } from "../../components/Loading";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, fieldError, idempotencyKey, ok, type Schemas } from "../../lib/api";
import { useCan } from "../../lib/auth";
import { formatMoney, parseRubles } from "../../lib/format";
import { AccountDetails } from "./AccountDetails";

type Account = Schemas["AccountOut"];

function useAccounts() {
  return useQuery({
    queryKey: ["accounts"],
    queryFn: () => ok(api.GET("/api/v1/accounts", { params: { query: { page_size: 100 } } })),
  });
}

export function FinancePage() {
  const { t } = useTranslation();
  const can = useCan();
  const accounts = useAccounts();
  const [params, setParams] = useSearchParams();
  const items = accounts.data?.items ?? [];
  const chosen = items.find((a) => a.id === params.get("account"));
  const choose = (id: string) => setParams({ account: id }, { replace: true });

  return (
    <Stack gap="lg">
      <Title order={1}>{t("finance.title")}</Title>
      {accounts.error ? <ProblemAlert error={accounts.error} onRetry={() => void accounts.refetch()} /> : null}
      {accounts.isPending ? <Loading /> : null}
      {accounts.data && items.length === 0 ? <Text c="dimmed">{t("home.noAccounts")}</Text> : null}
      <section aria-labelledby="accounts-title">
        <Title order={2} size="h3" id="accounts-title" mb="sm">
          {t("finance.accounts")}
        </Title>
        <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
          {items.map((account) => (
            <AccountCard key={account.id} account={account} chosen={account.id === chosen?.id} onChoose={choose} />
          ))}
        </SimpleGrid>
      </section>
      {can("finance.transfer") && items.length > 1 ? <Transfer accounts={items} /> : null}
      {chosen ? <AccountDetails key={chosen.id} account={chosen} /> : null}
    </Stack>
  );
}

function AccountCard({ account, chosen, onChoose }: { account: Account; chosen: boolean; onChoose: (id: string) => void }) {
  const { t, i18n } = useTranslation();
  const money = (m: Schemas["Money"]) => formatMoney(m, i18n.language);
  const titleId = `account-${account.id}`;
  return (
    <Card
      withBorder
      component="article"
      aria-labelledby={titleId}
      data-testid="account"
      style={chosen ? { borderColor: "var(--mantine-color-red-9)" } : undefined}
    >
      <Stack gap={4}>
        <Group justify="space-between" gap="xs">
          <Title order={3} size="h5" id={titleId}>
            {t("finance.account", { number: account.number })}
          </Title>
          {account.blocked ? <Badge color="red">{t("home.blocked")}</Badge> : null}
        </Group>
        {account.name ? (
          <Text size="sm" c="dimmed">
            {account.name}
          </Text>
        ) : null}
        <Text size="xl" fw={700} data-testid="balance">
          {money(account.balance)}
        </Text>
        <Text size="sm" data-testid="available">
          {t("home.available")}: {money(account.available)}
        </Text>
        <Text size="sm">
          {t("finance.method")}: {t(`settlement.${account.settlement_method}` as "settlement.advance", { defaultValue: account.settlement_method })}
          {account.settlement_method === "credit" ? `, ${t("finance.creditLimit")}: ${money(account.credit_limit)}` : ""}
        </Text>
        <Text size="sm">{t("finance.numberCount", { count: account.number_count })}</Text>
        {account.pending_settlement_change?.status === "pending" ? (
          <Text size="sm" c="dimmed">
            {t("finance.pendingChange")}
          </Text>
        ) : null}
        <Button
          mt="xs"
          variant={chosen ? "filled" : "default"}
          onClick={() => onChoose(account.id)}
          aria-label={t("finance.openAccount", { number: account.number })}
          aria-pressed={chosen}
        >
          {t("finance.open")}
        </Button>
      </Stack>
    </Card>
  );
}

function Transfer({ accounts }: { accounts: Account[] }) {
  const { t, i18n } = useTranslation();
  const client = useQueryClient();
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [amount, setAmount] = useState("");
  const [missing, setMissing] = useState<string | null>(null);
  const transfer = useMutation({
    mutationFn: (kopecks: number) =>
      ok(
        api.POST("/api/v1/transfers", {
          params: { header: { "Idempotency-Key": idempotencyKey() } },
          body: { from_account_id: from, to_account_id: to, amount: { amount: kopecks, currency: "RUB" } },
        }),
      ),
    onSuccess: () => {
      setAmount("");
      void client.invalidateQueries({ queryKey: ["accounts"] });
      void client.invalidateQueries({ queryKey: ["entries"] });
    },
  });
  const label = (a: Account) => `${a.number} — ${t("home.available").toLowerCase()} ${formatMoney(a.available, i18n.language)}`;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const kopecks = parseRubles(amount);
    if (!from) return setMissing("from");
    if (!to) return setMissing("to");
    if (kopecks === null) return setMissing("amount");
    setMissing(null);
    transfer.mutate(kopecks);
  };
  const number = (id: string) => accounts.find((a) => a.id === id)?.number ?? id;
  const required = (field: string) => (missing === field ? t("bulk.required") : undefined);
  return (
    <Card withBorder component="form" onSubmit={submit} noValidate aria-labelledby="transfer-title">
      <Stack gap="sm">
        <Title order={2} size="h3" id="transfer-title">
          {t("functions.transfers")}
        </Title>
        <Text size="sm" c="dimmed">
          {t("finance.transferIntro")}
        </Text>
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <NativeSelect
            label={t("finance.donor")}
            value={from}
            onChange={(e) => setFrom(e.currentTarget.value)}
            data={[{ value: "", label: t("bulk.choose") }, ...accounts.map((a) => ({ value: a.id, label: label(a) }))]}
            error={required("from") ?? fieldError(transfer.error, "from_account_id")}
          />
          <NativeSelect
            label={t("finance.recipient")}
            value={to}
            onChange={(e) => setTo(e.currentTarget.value)}
            data={[
              { value: "", label: t("bulk.choose") },
              ...accounts.filter((a) => a.id !== from).map((a) => ({ value: a.id, label: a.number })),
            ]}
            error={required("to") ?? fieldError(transfer.error, "to_account_id")}
          />
          <TextInput
            label={t("finance.amount")}
            inputMode="decimal"
            value={amount}
            onChange={(e) => setAmount(e.currentTarget.value)}
            error={required("amount") ?? fieldError(transfer.error, "amount")}
          />
        </SimpleGrid>
        {transfer.error ? <ProblemAlert error={transfer.error} /> : null}
        {transfer.data ? (
          <Alert color="green" variant="light" role="status">
            {t("finance.transferred", {
              amount: formatMoney(transfer.data.amount, i18n.language),
              from: number(transfer.data.from_account_id),
              to: number(transfer.data.to_account_id),
            })}
          </Alert>
        ) : null}
        <Button type="submit" loading={transfer.isPending} style={{ alignSelf: "flex-start" }}>
          {t("finance.transfer")}
        </Button>
      </Stack>
    </Card>
  );
}
