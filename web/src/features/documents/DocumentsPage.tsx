// «Документы и отчёты»: financial documents ordered for chosen accounts and a period (sent
// by e-mail and downloadable), reports for chosen numbers or a subtree in XLSX, CSV or PDF.
// Each order is an operation: its progress here, its files here and in «Результаты операций».
import { Anchor, Button, Card, Checkbox, Group, NativeSelect, SimpleGrid, Stack, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Loading } from "../../components/Loading";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, fieldError, idempotencyKey, ok, type Schemas } from "../../lib/api";
import { useCan } from "../../lib/auth";
import { currentMonth } from "../../lib/format";
import { targetsBody, useNodeOptions, type TargetsValue } from "../operations/hooks";
import { OperationView } from "../operations/OperationView";
import { Targets } from "../operations/Targets";

export function DocumentsPage() {
  const { t } = useTranslation();
  const can = useCan();
  return (
    <Stack gap="lg">
      <Title order={1}>{t("documents.title")}</Title>
      <Text>
        {t("documents.intro")}{" "}
        <Anchor component={Link} to="/results">
          {t("results.title")}
        </Anchor>
        .
      </Text>
      <SimpleGrid cols={{ base: 1, lg: 2 }}>
        {can("documents.finance") ? <FinancialDocuments /> : null}
        {can("reports.run") ? <Reports /> : null}
      </SimpleGrid>
    </Stack>
  );
}

function FinancialDocuments() {
  const { t } = useTranslation();
  const [accountIds, setAccountIds] = useState<string[]>([]);
  const [types, setTypes] = useState<string[]>([]);
  const [month, setMonth] = useState(currentMonth);
  const [email, setEmail] = useState("");
  const [missing, setMissing] = useState<string | null>(null);
  const accounts = useQuery({
    queryKey: ["accounts"],
    queryFn: () => ok(api.GET("/api/v1/accounts", { params: { query: { page_size: 100 } } })),
  });
  const documentTypes = useQuery({
    queryKey: ["document-types"],
    queryFn: () => ok(api.GET("/api/v1/document-types", { params: { query: { page_size: 50 } } })),
    staleTime: 300_000,
  });
  const order = useMutation({
    mutationFn: () =>
      ok(
        api.POST("/api/v1/documents", {
          params: { header: { "Idempotency-Key": idempotencyKey() } },
          body: {
            account_ids: accountIds,
            types: types as Schemas["DocumentsIn"]["types"],
            period: month,
            email: email.trim() || null,
          },
        }),
      ),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (accountIds.length === 0) return setMissing("accounts");
    if (types.length === 0) return setMissing("types");
    if (!month) return setMissing("month");
    setMissing(null);
    order.mutate();
  };
  const required = (field: string) => (missing === field ? t("documents.chooseOne") : undefined);
  const error = accounts.error ?? documentTypes.error;
  return (
    <Stack gap="md">
      <Card withBorder component="form" onSubmit={submit} noValidate aria-labelledby="documents-title">
        <Stack gap="sm">
          <Title order={2} size="h3" id="documents-title">
            {t("functions.financial_documents")}
          </Title>
          {error ? <ProblemAlert error={error} /> : null}
          {accounts.isPending || documentTypes.isPending ? <Loading /> : null}
          <Checkbox.Group
            label={t("documents.accounts")}
            value={accountIds}
            onChange={setAccountIds}
            error={required("accounts") ?? fieldError(order.error, "account_ids")}
          >
            <Stack gap={6} mt={6}>
              {(accounts.data?.items ?? []).map((a) => (
                <Checkbox key={a.id} value={a.id} label={`${a.number}${a.name ? ` — ${a.name}` : ""}`} />
              ))}
            </Stack>
          </Checkbox.Group>
          <Checkbox.Group
            label={t("documents.types")}
            value={types}
            onChange={setTypes}
            error={required("types") ?? fieldError(order.error, "types")}
          >
            <Stack gap={6} mt={6}>
              {(documentTypes.data?.items ?? []).map((d) => (
                <Checkbox key={d.id} value={d.id} label={d.title} description={d.description} />
              ))}
            </Stack>
          </Checkbox.Group>
          <TextInput
            type="month"
            label={t("documents.period")}
            value={month}
            onChange={(e) => setMonth(e.currentTarget.value)}
            error={required("month") ?? fieldError(order.error, "period")}
            maw={240}
          />
          <TextInput
            type="email"
            label={t("documents.email")}
            description={t("documents.emailHint")}
            value={email}
            onChange={(e) => setEmail(e.currentTarget.value)}
            error={fieldError(order.error, "email")}
          />
          {order.error ? <ProblemAlert error={order.error} /> : null}
          <Button type="submit" loading={order.isPending} style={{ alignSelf: "flex-start" }}>
            {t("documents.order")}
          </Button>
        </Stack>
      </Card>
      {order.data ? <OperationView id={order.data.id} /> : null}
    </Stack>
  );
}

function Reports() {
  const { t } = useTranslation();
  const nodes = useNodeOptions();
  const [type, setType] = useState("");
  const [format, setFormat] = useState("");
  const [targets, setTargets] = useState<TargetsValue>({ mode: "node", numbers: "", nodeId: "" });
  const [month, setMonth] = useState(currentMonth);
  const [missing, setMissing] = useState<string | null>(null);
  const reportTypes = useQuery({
    queryKey: ["report-types"],
    queryFn: () => ok(api.GET("/api/v1/report-types", { params: { query: { page_size: 50 } } })),
    staleTime: 300_000,
  });
  const chosen = reportTypes.data?.items.find((r) => r.id === type);
  const formats = chosen?.formats ?? [];
  // The whole company (the root) unless another node is chosen.
  const effective: TargetsValue = { ...targets, nodeId: targets.nodeId || (nodes[0]?.value ?? "") };
  const order = useMutation({
    mutationFn: () =>
      ok(
        api.POST("/api/v1/reports", {
          params: { header: { "Idempotency-Key": idempotencyKey() } },
          body: {
            type: type as Schemas["ReportIn"]["type"],
            format: (formats.includes(format) ? format : formats[0]) as "xlsx" | "csv" | "pdf",
            period: month,
            ...targetsBody(effective),
          },
        }),
      ),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const b = targetsBody(effective);
    if (!type) return setMissing("type");
    if ("msisdns" in b && b.msisdns.length === 0) return setMissing("targets");
    if (!month) return setMissing("month");
    setMissing(null);
    order.mutate();
  };
  const required = (field: string) => (missing === field ? t("bulk.required") : undefined);
  return (
    <Stack gap="md">
      <Card withBorder component="form" onSubmit={submit} noValidate aria-labelledby="reports-title">
        <Stack gap="sm">
          <Title order={2} size="h3" id="reports-title">
            {t("functions.reports")}
          </Title>
          {reportTypes.error ? <ProblemAlert error={reportTypes.error} /> : null}
          <NativeSelect
            label={t("documents.reportType")}
            description={chosen?.description}
            value={type}
            onChange={(e) => setType(e.currentTarget.value)}
            data={[
              { value: "", label: t("bulk.choose") },
              ...(reportTypes.data?.items ?? []).map((r) => ({ value: r.id, label: r.title })),
            ]}
            error={required("type") ?? fieldError(order.error, "type")}
          />
          <Group grow align="flex-start">
            <NativeSelect
              label={t("documents.format")}
              value={formats.includes(format) ? format : (formats[0] ?? "")}
              onChange={(e) => setFormat(e.currentTarget.value)}
              data={formats.map((f) => ({ value: f, label: f.toUpperCase() }))}
              error={fieldError(order.error, "format")}
            />
            <TextInput
              type="month"
              label={t("documents.period")}
              value={month}
              onChange={(e) => setMonth(e.currentTarget.value)}
              error={required("month") ?? fieldError(order.error, "period")}
            />
          </Group>
          <Targets
            value={effective}
            onChange={setTargets}
            error={required("targets") ?? fieldError(order.error, "msisdns", "node_id")}
          />
          {order.error ? <ProblemAlert error={order.error} /> : null}
          <Button type="submit" loading={order.isPending} style={{ alignSelf: "flex-start" }}>
            {t("documents.runReport")}
          </Button>
        </Stack>
      </Card>
      {order.data ? <OperationView id={order.data.id} /> : null}
    </Stack>
  );
}
