// One ticket with its whole history (every status change, comment and file, who and
// when); with tickets.manage: comment, attach a file, close, reopen.
import { Alert, Anchor, Button, Card, FileInput, Group, Stack, Text, Textarea, Timeline, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { Loading } from "../../components/Loading";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, download, fieldError, ok, type Schemas } from "../../lib/api";
import { useCan } from "../../lib/auth";
import { formatDateTime, formatMsisdn } from "../../lib/format";
import { StatusBadge } from "./TicketsPage";

type Ticket = Schemas["TicketOut"];

export function TicketPage() {
  const { id = "" } = useParams();
  const { t } = useTranslation();
  const ticket = useQuery({
    queryKey: ["ticket", id],
    queryFn: () => ok(api.GET("/api/v1/tickets/{ticket_id}", { params: { path: { ticket_id: id } } })),
  });
  return (
    <Stack gap="lg">
      <Anchor component={Link} to="/tickets" size="sm">
        ← {t("tickets.back")}
      </Anchor>
      {ticket.error ? <ProblemAlert error={ticket.error} onRetry={() => void ticket.refetch()} /> : null}
      {ticket.isPending ? <Loading /> : null}
      {ticket.data ? <TicketBody ticket={ticket.data} /> : null}
    </Stack>
  );
}

function TicketBody({ ticket }: { ticket: Ticket }) {
  const { t, i18n } = useTranslation();
  const can = useCan();
  const client = useQueryClient();
  const manage = can("tickets.manage");
  const updated = (next: Ticket) => {
    client.setQueryData(["ticket", ticket.id], next);
    void client.invalidateQueries({ queryKey: ["tickets"] });
  };
  const close = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/tickets/{ticket_id}/close", { params: { path: { ticket_id: ticket.id } }, body: null })),
    onSuccess: updated,
  });
  const reopen = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/tickets/{ticket_id}/reopen", { params: { path: { ticket_id: ticket.id } }, body: null })),
    onSuccess: updated,
  });
  const files = new Map(ticket.attachments.map((a) => [a.id, a]));
  const [downloadError, setDownloadError] = useState<unknown>(null);
  const save = (a: Schemas["AttachmentOut"]) => {
    setDownloadError(null);
    download(a.url, a.filename).catch(setDownloadError);
  };
  const kind = (k: string) => t(`ticketHistory.${k}` as "ticketHistory.comment", { defaultValue: k });
  return (
    <>
      <Stack gap="xs">
        <Title order={1}>{ticket.subject}</Title>
        <Group gap="sm">
          <StatusBadge status={ticket.status} />
          <Text size="sm">{t(`ticketCategory.${ticket.category}` as "ticketCategory.other", { defaultValue: ticket.category })}</Text>
          <Text size="sm" c="dimmed">
            {t("tickets.dueAt", { at: formatDateTime(ticket.due_at, i18n.language) })}
          </Text>
        </Group>
        {ticket.msisdns.length ? (
          <Text size="sm">
            {t("tickets.numbers")}:{" "}
            {ticket.msisdns.map((m, i) => (
              <span key={m}>
                {i ? ", " : ""}
                <Anchor component={Link} to={`/numbers/${m}`}>
                  {formatMsisdn(m)}
                </Anchor>
              </span>
            ))}
          </Text>
        ) : null}
      </Stack>
      <Card withBorder component="section" aria-labelledby="history-title">
        <Title order={2} size="h3" id="history-title" mb="md">
          {t("tickets.history")}
        </Title>
        {downloadError ? <ProblemAlert error={downloadError} /> : null}
        <Timeline bulletSize={14} lineWidth={2} data-testid="history">
          {ticket.history.map((entry, i) => {
            const file = entry.attachment_id ? files.get(entry.attachment_id) : undefined;
            return (
              <Timeline.Item
                key={i}
                title={
                  <Text fw={600} size="sm">
                    {kind(entry.kind)}
                    {entry.status
                      ? `: ${t(`ticketStatus.${entry.status}` as "ticketStatus.open", { defaultValue: entry.status })}`
                      : ""}
                  </Text>
                }
              >
                <Text size="xs" c="dimmed">
                  {entry.actor.name || t(`actorKind.${entry.actor.kind}` as "actorKind.system", { defaultValue: entry.actor.kind })}
                  {", "}
                  {formatDateTime(entry.at, i18n.language)}
                </Text>
                {entry.text ? (
                  <Text size="sm" style={{ whiteSpace: "pre-wrap" }}>
                    {entry.text}
                  </Text>
                ) : null}
                {file ? (
                  <Anchor
                    component="button"
                    type="button"
                    size="sm"
                    onClick={() => save(file)}
                    aria-label={t("operation.downloadFile", { name: file.filename })}
                  >
                    {file.filename} ({Math.max(1, Math.round(file.size / 1024))} {t("operation.kb")})
                  </Anchor>
                ) : null}
              </Timeline.Item>
            );
          })}
        </Timeline>
      </Card>
      {manage ? (
        <>
          {ticket.status !== "closed" ? <Comment ticket={ticket} onDone={updated} /> : null}
          {ticket.status !== "closed" ? <Attach ticket={ticket} /> : null}
          <Group>
            {close.error ?? reopen.error ? <ProblemAlert error={close.error ?? reopen.error} /> : null}
            {ticket.status !== "closed" ? (
              <Button variant="outline" loading={close.isPending} onClick={() => close.mutate()}>
                {t("tickets.close")}
              </Button>
            ) : (
              <Button variant="outline" loading={reopen.isPending} onClick={() => reopen.mutate()}>
                {t("tickets.reopen")}
              </Button>
            )}
          </Group>
        </>
      ) : null}
    </>
  );
}

function Comment({ ticket, onDone }: { ticket: Ticket; onDone: (t: Ticket) => void }) {
  const { t } = useTranslation();
  const [text, setText] = useState("");
  const [missing, setMissing] = useState(false);
  const comment = useMutation({
    mutationFn: () =>
      ok(api.POST("/api/v1/tickets/{ticket_id}/comments", { params: { path: { ticket_id: ticket.id } }, body: { text } })),
    onSuccess: (next) => {
      setText("");
      onDone(next);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setMissing(!text.trim());
    if (text.trim()) comment.mutate();
  };
  return (
    <Card withBorder component="form" onSubmit={submit} noValidate aria-labelledby="comment-title">
      <Stack gap="sm">
        <Title order={2} size="h4" id="comment-title">
          {t("tickets.comment")}
        </Title>
        <Textarea
          label={t("tickets.commentText")}
          value={text}
          autosize
          minRows={2}
          maxLength={5000}
          onChange={(e) => setText(e.currentTarget.value)}
          error={missing ? t("bulk.required") : fieldError(comment.error, "text")}
        />
        {comment.error && !fieldError(comment.error, "text") ? <ProblemAlert error={comment.error} /> : null}
        <Button type="submit" loading={comment.isPending} style={{ alignSelf: "flex-start" }}>
          {t("tickets.send")}
        </Button>
      </Stack>
    </Card>
  );
}

function Attach({ ticket }: { ticket: Ticket }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [missing, setMissing] = useState(false);
  const attach = useMutation({
    mutationFn: (chosen: File) =>
      ok(
        api.POST("/api/v1/tickets/{ticket_id}/attachments", {
          params: { path: { ticket_id: ticket.id } },
          body: { file: chosen.name },
          bodySerializer: () => {
            const form = new FormData();
            form.append("file", chosen, chosen.name);
            return form;
          },
        }),
      ),
    onSuccess: () => {
      setFile(null);
      void client.invalidateQueries({ queryKey: ["ticket", ticket.id] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setMissing(!file);
    if (file) attach.mutate(file);
  };
  return (
    <Card withBorder component="form" onSubmit={submit} noValidate aria-labelledby="attach-title">
      <Stack gap="sm">
        <Title order={2} size="h4" id="attach-title">
          {t("tickets.attach")}
        </Title>
        <FileInput
          label={t("tickets.file")}
          description={t("tickets.fileHint")}
          value={file}
          onChange={(f) => {
            attach.reset();
            setFile(f);
          }}
          clearable
          error={missing ? t("bulk.required") : fieldError(attach.error, "file")}
        />
        {attach.error && !fieldError(attach.error, "file") ? <ProblemAlert error={attach.error} /> : null}
        {attach.isSuccess ? (
          <Alert color="green" variant="light" role="status">
            {t("tickets.attached", { name: attach.data.filename })}
          </Alert>
        ) : null}
        <Button type="submit" loading={attach.isPending} style={{ alignSelf: "flex-start" }}>
          {t("tickets.upload")}
        </Button>
      </Stack>
    </Card>
  );
}
