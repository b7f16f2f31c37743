// One personal account: its statement (ledger entries for chosen dates, in pages), promised
// payments, settlement method, bill delivery and the low balance threshold.
import {
  Alert,
  Badge,
  Button,
  Card,
  Group,
  NativeSelect,
  Radio,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Loading } from "../../components/Loading";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, fieldError, idempotencyKey, ok, type Schemas } from "../../lib/api";
import { useCan } from "../../lib/auth";
import { formatDate, formatDateTime, formatMoney, parseRubles } from "../../lib/format";

type Account = Schemas["AccountOut"];

/** "YYYY-MM-DD" + one day: the statement's `to` is exclusive, the person's last day is not. */
function dayAfter(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

export function AccountDetails({ account }: { account: Account }) {
  const { t } = useTranslation();
  const can = useCan();
  return (
    <Stack gap="md">
      <Title order={2} size="h3">
        {t("finance.account", { number: account.number })}
      </Title>
      <Statement account={account} />
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        {account.settlement_method === "advance" ? (
          <PromisedPayments account={account} allowed={can("finance.promised_payment")} />
        ) : null}
        {can("finance.settings") ? <SettlementMethod account={account} /> : null}
        {can("finance.settings") ? <BillDelivery account={account} /> : null}
        {can("finance.settings") ? <LowBalanceThreshold account={account} /> : null}
      </SimpleGrid>
    </Stack>
  );
}

function Statement({ account }: { account: Account }) {
  const { t, i18n } = useTranslation();
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const entries = useInfiniteQuery({
    queryKey: ["entries", account.id, from, to],
    queryFn: ({ pageParam }) =>
      ok(
        api.GET("/api/v1/accounts/{account_id}/entries", {
          params: {
            path: { account_id: account.id },
            query: {
              page_size: 50,
              page_token: pageParam,
              ...(from ? { from } : {}),
              ...(to ? { to: dayAfter(to) } : {}),
            },
          },
        }),
      ),
    initialPageParam: "",
    getNextPageParam: (last) => last.next_page_token || undefined,
  });
  const items = entries.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Card withBorder component="section" aria-labelledby="statement-title">
      <Title order={3} size="h4" id="statement-title" mb="xs">
        {t("finance.statement")}
      </Title>
      <Group mb="sm" align="flex-end">
        <TextInput type="date" label={t("finance.from")} value={from} onChange={(e) => setFrom(e.currentTarget.value)} />
        <TextInput type="date" label={t("finance.to")} value={to} onChange={(e) => setTo(e.currentTarget.value)} />
      </Group>
      {entries.error ? <ProblemAlert error={entries.error} onRetry={() => void entries.refetch()} /> : null}
      {entries.isPending ? <Loading /> : null}
      {entries.data && items.length === 0 ? <Text c="dimmed">{t("finance.noEntries")}</Text> : null}
      {items.length > 0 ? (
        <Table.ScrollContainer
          minWidth={520}
          // Scrolled sideways on a phone: reachable from the keyboard.
          scrollAreaProps={{ viewportProps: { tabIndex: 0, "aria-label": t("finance.statement") } }}
        >
          <Table striped aria-label={t("finance.statement")}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t("finance.at")}</Table.Th>
                <Table.Th>{t("finance.entry")}</Table.Th>
                <Table.Th ta="right">{t("finance.sum")}</Table.Th>
                <Table.Th ta="right">{t("finance.balanceAfter")}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((e) => (
                <Table.Tr key={e.id}>
                  <Table.Td style={{ whiteSpace: "nowrap" }}>{formatDateTime(e.at, i18n.language)}</Table.Td>
                  <Table.Td>
                    {t(`entryKind.${e.kind}` as "entryKind.payment", { defaultValue: e.kind })}
                    {e.description &&
                    e.description.toLowerCase() !==
                      t(`entryKind.${e.kind}` as "entryKind.payment", { defaultValue: e.kind }).toLowerCase() ? (
                      <Text size="xs" c="dimmed">
                        {e.description}
                      </Text>
                    ) : null}
                  </Table.Td>
                  <Table.Td ta="right" style={{ whiteSpace: "nowrap" }} c={e.amount.amount < 0 ? "red.9" : undefined}>
                    {formatMoney(e.amount, i18n.language)}
                  </Table.Td>
                  <Table.Td ta="right" style={{ whiteSpace: "nowrap" }}>
                    {formatMoney(e.balance_after, i18n.language)}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      ) : null}
      {entries.hasNextPage ? (
        <Button variant="default" mt="sm" onClick={() => void entries.fetchNextPage()} loading={entries.isFetchingNextPage}>
          {t("hierarchy.more")}
        </Button>
      ) : null}
    </Card>
  );
}

function PromisedPayments({ account, allowed }: { account: Account; allowed: boolean }) {
  const { t, i18n } = useTranslation();
  const client = useQueryClient();
  const [amount, setAmount] = useState("");
  const [missing, setMissing] = useState(false);
  const promises = useQuery({
    queryKey: ["promises", account.id],
    queryFn: () =>
      ok(
        api.GET("/api/v1/accounts/{account_id}/promised-payments", {
          params: { path: { account_id: account.id }, query: { page_size: 20 } },
        }),
      ),
  });
  const take = useMutation({
    mutationFn: (kopecks: number) =>
      ok(
        api.POST("/api/v1/accounts/{account_id}/promised-payments", {
          params: { path: { account_id: account.id }, header: { "Idempotency-Key": idempotencyKey() } },
          body: { amount: { amount: kopecks, currency: "RUB" } },
        }),
      ),
    onSuccess: () => {
      setAmount("");
      void client.invalidateQueries({ queryKey: ["promises", account.id] });
      void client.invalidateQueries({ queryKey: ["accounts"] });
      void client.invalidateQueries({ queryKey: ["entries", account.id] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const kopecks = parseRubles(amount);
    setMissing(kopecks === null);
    if (kopecks !== null) take.mutate(kopecks);
  };
  const items = promises.data?.items ?? [];
  const open = items.some((p) => p.status === "open");
  return (
    <Card withBorder component="section" aria-labelledby="promised-title">
      <Stack gap="sm">
        <Title order={3} size="h4" id="promised-title">
          {t("functions.promised_payment")}
        </Title>
        {promises.error ? <ProblemAlert error={promises.error} /> : null}
        {promises.isPending ? <Loading /> : null}
        {items.length === 0 && promises.data ? <Text c="dimmed">{t("finance.noPromises")}</Text> : null}
        {items.map((p) => (
          <Group key={p.id} gap="xs" data-testid="promise">
            <Text fw={600}>{formatMoney(p.amount, i18n.language)}</Text>
            <Badge color={p.status === "open" ? "gray" : "green"} variant="light">
              {t(`promiseStatus.${p.status}` as "promiseStatus.open", { defaultValue: p.status })}
            </Badge>
            <Text size="sm" c="dimmed">
              {p.repaid_at
                ? t("finance.repaidAt", { at: formatDate(p.repaid_at, i18n.language) })
                : t("finance.dueAt", { at: formatDate(p.due_at, i18n.language) })}
            </Text>
          </Group>
        ))}
        {allowed && !open ? (
          <form onSubmit={submit} noValidate>
            <Stack gap="xs">
              {promises.data ? (
                <Text size="sm">{t("finance.cap", { amount: formatMoney(promises.data.cap, i18n.language) })}</Text>
              ) : null}
              <TextInput
                label={t("finance.amount")}
                inputMode="decimal"
                value={amount}
                onChange={(e) => setAmount(e.currentTarget.value)}
                error={missing ? t("bulk.required") : fieldError(take.error, "amount")}
              />
              {take.error ? <ProblemAlert error={take.error} /> : null}
              <Button type="submit" loading={take.isPending} style={{ alignSelf: "flex-start" }}>
                {t("finance.takePromise")}
              </Button>
            </Stack>
          </form>
        ) : null}
      </Stack>
    </Card>
  );
}

function SettlementMethod({ account }: { account: Account }) {
  const { t, i18n } = useTranslation();
  const client = useQueryClient();
  const [method, setMethod] = useState(account.settlement_method);
  const [limit, setLimit] = useState("");
  const [missing, setMissing] = useState(false);
  const change = useMutation({
    mutationFn: (body: Schemas["AdvanceIn"] | Schemas["CreditIn"]) =>
      ok(api.PUT("/api/v1/accounts/{account_id}/settlement-method", { params: { path: { account_id: account.id } }, body })),
    onSuccess: (updated) => {
      client.setQueryData<Schemas["AccountPage"]>(["accounts"], (old) =>
        old ? { ...old, items: old.items.map((a) => (a.id === updated.id ? updated : a)) } : old,
      );
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (method === "advance") return change.mutate({ method: "advance" });
    const kopecks = parseRubles(limit);
    setMissing(kopecks === null);
    if (kopecks !== null) change.mutate({ method: "credit", credit_limit: { amount: kopecks, currency: "RUB" } });
  };
  const pending = account.pending_settlement_change;
  return (
    <Card withBorder component="form" onSubmit={submit} noValidate aria-labelledby="method-title">
      <Stack gap="sm">
        <Title order={3} size="h4" id="method-title">
          {t("functions.settlement_method")}
        </Title>
        <Text size="sm">
          {t("finance.current")}: {t(`settlement.${account.settlement_method}` as "settlement.advance", { defaultValue: account.settlement_method })}
        </Text>
        {pending?.status === "pending" ? (
          <Alert color="gray" variant="light">
            {t("finance.pendingRequest", {
              limit: formatMoney(pending.credit_limit, i18n.language),
              at: formatDate(pending.requested_at, i18n.language),
            })}
          </Alert>
        ) : null}
        <Radio.Group label={t("finance.method")} value={method} onChange={setMethod}>
          <Group mt={4}>
            <Radio value="advance" label={t("settlement.advance")} />
            <Radio value="credit" label={t("settlement.credit")} />
          </Group>
        </Radio.Group>
        {method === "credit" ? (
          <TextInput
            label={t("finance.creditLimitAsked")}
            description={t("finance.creditHint")}
            inputMode="decimal"
            value={limit}
            onChange={(e) => setLimit(e.currentTarget.value)}
            error={missing ? t("bulk.required") : fieldError(change.error, "credit_limit")}
          />
        ) : null}
        {change.error ? <ProblemAlert error={change.error} /> : null}
        {change.isSuccess ? (
          <Alert color="green" variant="light" role="status">
            {t("finance.saved")}
          </Alert>
        ) : null}
        <Button type="submit" variant="default" loading={change.isPending} style={{ alignSelf: "flex-start" }}>
          {t("finance.changeMethod")}
        </Button>
      </Stack>
    </Card>
  );
}

function BillDelivery({ account }: { account: Account }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [method, setMethod] = useState(account.bill_delivery.method === "post" ? "post" : "email");
  const [address, setAddress] = useState(account.bill_delivery.address);
  const [missing, setMissing] = useState(false);
  const save = useMutation({
    mutationFn: () =>
      ok(
        api.PUT("/api/v1/accounts/{account_id}/bill-delivery", {
          params: { path: { account_id: account.id } },
          body: method === "post" ? { method: "post", address: address.trim() } : { method: "email", address: address.trim() },
        }),
      ),
    onSuccess: (updated) => {
      client.setQueryData<Schemas["AccountPage"]>(["accounts"], (old) =>
        old ? { ...old, items: old.items.map((a) => (a.id === updated.id ? updated : a)) } : old,
      );
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setMissing(!address.trim());
    if (address.trim()) save.mutate();
  };
  return (
    <Card withBorder component="form" onSubmit={submit} noValidate aria-labelledby="delivery-title">
      <Stack gap="sm">
        <Title order={3} size="h4" id="delivery-title">
          {t("functions.bill_delivery")}
        </Title>
        <NativeSelect
          label={t("finance.deliveryMethod")}
          value={method}
          onChange={(e) => setMethod(e.currentTarget.value === "post" ? "post" : "email")}
          data={[
            { value: "email", label: t("delivery.email") },
            { value: "post", label: t("delivery.post") },
          ]}
        />
        <TextInput
          label={method === "post" ? t("finance.postAddress") : t("finance.emailAddress")}
          type={method === "post" ? "text" : "email"}
          value={address}
          onChange={(e) => setAddress(e.currentTarget.value)}
          error={missing ? t("bulk.required") : fieldError(save.error, "address")}
        />
        {save.error ? <ProblemAlert error={save.error} /> : null}
        {save.isSuccess ? (
          <Alert color="green" variant="light" role="status">
            {t("finance.saved")}
          </Alert>
        ) : null}
        <Button type="submit" variant="default" loading={save.isPending} style={{ alignSelf: "flex-start" }}>
          {t("finance.save")}
        </Button>
      </Stack>
    </Card>
  );
}

/** Kopecks from "1000", "1 000,50" or "0" (0 turns the notice off); null if not an amount. */
function thresholdKopecks(text: string): number | null {
  const trimmed = text.replace(/[\s\u00a0₽]/g, "");
  if (/^0+(?:[.,]0{1,2})?$/.test(trimmed)) return 0;
  return parseRubles(trimmed);
}

function LowBalanceThreshold({ account }: { account: Account }) {
  const { t, i18n } = useTranslation();
  const client = useQueryClient();
  const current = account.low_balance_threshold.amount;
  const [amount, setAmount] = useState(current ? String(current / 100) : "0");
  const [invalid, setInvalid] = useState(false);
  const save = useMutation({
    mutationFn: (kopecks: number) =>
      ok(
        api.PUT("/api/v1/accounts/{account_id}/low-balance-threshold", {
          params: { path: { account_id: account.id } },
          body: { amount: kopecks, currency: "RUB" },
        }),
      ),
    onSuccess: (updated) => {
      client.setQueryData<Schemas["AccountPage"]>(["accounts"], (old) =>
        old ? { ...old, items: old.items.map((a) => (a.id === updated.id ? updated : a)) } : old,
      );
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const kopecks = thresholdKopecks(amount);
    setInvalid(kopecks === null);
    if (kopecks !== null) save.mutate(kopecks);
  };
  return (
    <Card withBorder component="form" onSubmit={submit} noValidate aria-labelledby="low-balance-title">
      <Stack gap="sm">
        <Title order={3} size="h4" id="low-balance-title">
          {t("finance.lowBalance")}
        </Title>
        <TextInput
          label={t("finance.lowBalanceAmount")}
          description={t("finance.lowBalanceHint")}
          inputMode="decimal"
          value={amount}
          onChange={(e) => setAmount(e.currentTarget.value)}
          error={invalid ? t("finance.lowBalanceInvalid") : fieldError(save.error, "amount")}
        />
        {save.error ? <ProblemAlert error={save.error} /> : null}
        {save.isSuccess ? (
          <Alert color="green" variant="light" role="status">
            {t("finance.saved")} {formatMoney(save.data.low_balance_threshold, i18n.language)}
          </Alert>
        ) : null}
        <Button type="submit" variant="default" loading={save.isPending} style={{ alignSelf: "flex-start" }}>
          {t("finance.save")}
        </Button>
      </Stack>
    </Card>
  );
}
