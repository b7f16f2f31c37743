// «Обращения»: the company's tickets with filters (status, category, number), and a new
// ticket (category, subject, text, numbers) for users with tickets.manage.
import { Anchor, Badge, Button, Card, Group, NativeSelect, SimpleGrid, Stack, Table, Text, TextInput, Textarea, Title } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useSearchParams } from "react-router";
import { PagedTable } from "../../components/PagedTable";
import { ProblemAlert } from "../../components/ProblemAlert";
import { useKeysetQuery } from "../../components/useKeysetQuery";
import { useAddressText } from "../../lib/addressText";
import { api, fieldError, ok } from "../../lib/api";
import { useCan } from "../../lib/auth";
import { formatDateTime, formatMsisdn } from "../../lib/format";
import { CATEGORIES, STATUSES, type Category } from "./model";

export function TicketsPage() {
  const { t } = useTranslation();
  const can = useCan();
  return (
    <Stack gap="lg">
      <Title order={1}>{t("tickets.title")}</Title>
      <Anchor component={Link} to="/forms">
        {t("tickets.forms")}
      </Anchor>
      {can("tickets.manage") ? <NewTicket /> : null}
      <TicketList />
    </Stack>
  );
}

function TicketList() {
  const { t, i18n } = useTranslation();
  const [params, setParams] = useSearchParams();
  const status = STATUSES.find((s) => s === params.get("status")) ?? null;
  const category = CATEGORIES.find((c) => c === params.get("category")) ?? null;
  const update = (key: string, value: string) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        if (value) next.set(key, value);
        else next.delete(key);
        return next;
      },
      { replace: true },
    );
  const [msisdnText, setMsisdnText] = useAddressText(params.get("msisdn") ?? "", (text) => update("msisdn", text));
  const msisdn = (params.get("msisdn") ?? "").replace(/\D/g, "");
  const tickets = useKeysetQuery(["tickets", status, category, msisdn], (pageToken) =>
    ok(
      api.GET("/api/v1/tickets", {
        params: { query: { status, category, msisdn: msisdn.length >= 10 ? msisdn : null, page_size: 50, page_token: pageToken } },
      }),
    ),
  );
  return (
    <Card withBorder component="section" aria-labelledby="tickets-title">
      <Stack gap="sm">
        <Title order={2} size="h3" id="tickets-title">
          {t("tickets.list")}
        </Title>
        <Group align="flex-end" wrap="wrap">
          <NativeSelect
            label={t("tickets.status")}
            value={status ?? ""}
            onChange={(e) => update("status", e.currentTarget.value)}
            data={[{ value: "", label: t("hierarchy.anyStatus") }, ...STATUSES.map((s) => ({ value: s, label: t(`ticketStatus.${s}`) }))]}
            style={{ flex: "1 1 12rem" }}
          />
          <NativeSelect
            label={t("tickets.category")}
            value={category ?? ""}
            onChange={(e) => update("category", e.currentTarget.value)}
            data={[{ value: "", label: t("hierarchy.anyStatus") }, ...CATEGORIES.map((c) => ({ value: c, label: t(`ticketCategory.${c}`) }))]}
            style={{ flex: "1 1 12rem" }}
          />
          <TextInput
            type="search"
            inputMode="tel"
            label={t("tickets.number")}
            placeholder={t("login.loginHint")}
            value={msisdnText}
            onChange={(e) => setMsisdnText(e.currentTarget.value)}
            style={{ flex: "1 1 12rem" }}
          />
        </Group>
        <PagedTable
          query={tickets}
          label={t("tickets.list")}
          empty={t("tickets.empty")}
          minWidth={640}
          striped
          head={
            <>
              <Table.Th>{t("tickets.subject")}</Table.Th>
              <Table.Th>{t("tickets.category")}</Table.Th>
              <Table.Th>{t("tickets.status")}</Table.Th>
              <Table.Th>{t("tickets.created")}</Table.Th>
              <Table.Th>{t("tickets.due")}</Table.Th>
            </>
          }
          rowKey={(ticket) => ticket.id}
          row={(ticket) => (
            <Table.Tr>
              <Table.Td>
                <Anchor component={Link} to={`/tickets/${ticket.id}`}>
                  {ticket.subject}
                </Anchor>
                {ticket.msisdns.length ? (
                  <Text size="xs" c="dimmed">
                    {ticket.msisdns.map(formatMsisdn).join(", ")}
                  </Text>
                ) : null}
              </Table.Td>
              <Table.Td>{t(`ticketCategory.${ticket.category}` as "ticketCategory.other", { defaultValue: ticket.category })}</Table.Td>
              <Table.Td>
                <StatusBadge status={ticket.status} />
              </Table.Td>
              <Table.Td>{formatDateTime(ticket.created_at, i18n.language)}</Table.Td>
              <Table.Td>
                {formatDateTime(ticket.due_at, i18n.language)}
                {ticket.overdue ? (
                  <Badge ml={4} color="red" variant="light">
                    {t("tickets.overdue")}
                  </Badge>
                ) : null}
              </Table.Td>
            </Table.Tr>
          )}
        />
      </Stack>
    </Card>
  );
}

export function StatusBadge({ status }: { status: string }) {
  const { t } = useTranslation();
  const color = status === "closed" || status === "resolved" ? "gray" : status === "waiting_for_customer" ? "red" : "green";
  return (
    <Badge color={color} variant="light" data-testid="ticket-status">
      {t(`ticketStatus.${status}` as "ticketStatus.open", { defaultValue: status })}
    </Badge>
  );
}

function NewTicket() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const navigate = useNavigate();
  const [category, setCategory] = useState<Category | "">("");
  const [subject, setSubject] = useState("");
  const [text, setText] = useState("");
  const [numbers, setNumbers] = useState("");
  const [missing, setMissing] = useState<string[]>([]);
  const create = useMutation({
    mutationFn: () =>
      ok(
        api.POST("/api/v1/tickets", {
          body: {
            category: category || "other",
            subject,
            text,
            msisdns: numbers.split(/[\n,;]+/).map((m) => m.trim()).filter(Boolean),
          },
        }),
      ),
    onSuccess: (ticket) => {
      void client.invalidateQueries({ queryKey: ["tickets"] });
      void navigate(`/tickets/${ticket.id}`);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const absent = [!category && "category", !subject.trim() && "subject", !text.trim() && "text"].filter(
      (x): x is string => !!x,
    );
    setMissing(absent);
    if (absent.length === 0) create.mutate();
  };
  const values: Record<string, string> = { category, subject, text };
  const required = (f: string) => (missing.includes(f) && !values[f]?.trim() ? t("bulk.required") : undefined);
  return (
    <Card withBorder component="form" onSubmit={submit} noValidate aria-labelledby="new-ticket-title">
      <Stack gap="sm">
        <Title order={2} size="h3" id="new-ticket-title">
          {t("tickets.new")}
        </Title>
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <NativeSelect
            label={t("tickets.category")}
            value={category}
            onChange={(e) => setCategory(CATEGORIES.find((c) => c === e.currentTarget.value) ?? "")}
            data={[{ value: "", label: t("bulk.choose") }, ...CATEGORIES.map((c) => ({ value: c, label: t(`ticketCategory.${c}`) }))]}
            error={required("category") ?? fieldError(create.error, "category")}
            required
          />
          <TextInput
            label={t("tickets.subject")}
            value={subject}
            maxLength={200}
            onChange={(e) => setSubject(e.currentTarget.value)}
            error={required("subject") ?? fieldError(create.error, "subject")}
            required
          />
        </SimpleGrid>
        <Textarea
          label={t("tickets.text")}
          value={text}
          autosize
          minRows={3}
          maxLength={5000}
          onChange={(e) => setText(e.currentTarget.value)}
          error={required("text") ?? fieldError(create.error, "text")}
          required
        />
        <Textarea
          label={t("tickets.numbers")}
          description={t("bulk.numbersHint")}
          value={numbers}
          autosize
          minRows={1}
          onChange={(e) => setNumbers(e.currentTarget.value)}
          error={fieldError(create.error, "msisdns")}
        />
        {create.error && !fieldError(create.error, "category", "subject", "text", "msisdns") ? <ProblemAlert error={create.error} /> : null}
        <Button type="submit" loading={create.isPending} style={{ alignSelf: "flex-start" }}>
          {t("tickets.create")}
        </Button>
      </Stack>
    </Card>
  );
}
