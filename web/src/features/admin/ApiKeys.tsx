// API keys for the company's own integrations: each with a role and a scope. The key
// itself is shown once, when it is made; revoking one stops it at once.
import { Alert, Button, Card, Code, CopyButton, NativeSelect, SimpleGrid, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { PagedTable } from "../../components/PagedTable";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, fieldError, ok } from "../../lib/api";
import { formatDateTime } from "../../lib/format";
import { useRoles, useScopeName } from "./hooks";
import { ScopePicker } from "./ScopePicker";

export function ApiKeys() {
  const { t, i18n } = useTranslation();
  const client = useQueryClient();
  const roles = useRoles();
  const scopeName = useScopeName();
  const keys = useQuery({
    queryKey: ["api-keys"],
    queryFn: () => ok(api.GET("/api/v1/api-keys", { params: { query: { page_size: 200 } } })),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => ok(api.DELETE("/api/v1/api-keys/{api_key_id}", { params: { path: { api_key_id: id } } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["api-keys"] }),
  });
  const roleName = (id: string) => roles.data?.items.find((r) => r.id === id)?.name ?? id;
  return (
    <Stack gap="lg">
      <NewKey />
      <Card withBorder component="section" aria-labelledby="keys-title">
        <Title order={2} size="h3" id="keys-title" mb="sm">
          {t("admin.apiKeys")}
        </Title>
        {/* One page of up to 200 keys: no «Показать ещё». */}
        <PagedTable
          query={keys}
          actionError={revoke.error}
          label={t("admin.apiKeys")}
          empty={t("admin.noKeys")}
          minWidth={640}
          keyboardScroll
          head={
            <>
              <Table.Th>{t("admin.keyName")}</Table.Th>
              <Table.Th>{t("admin.prefix")}</Table.Th>
              <Table.Th>{t("admin.role")}</Table.Th>
              <Table.Th>{t("admin.scope")}</Table.Th>
              <Table.Th>{t("admin.lastUsed")}</Table.Th>
              <Table.Th>{t("admin.actions")}</Table.Th>
            </>
          }
          rowKey={(key) => key.id}
          row={(key) => (
            <Table.Tr>
              <Table.Td>{key.name}</Table.Td>
              <Table.Td>
                <Code>{key.prefix}…</Code>
              </Table.Td>
              <Table.Td>{roleName(key.role_id)}</Table.Td>
              <Table.Td>{scopeName(key.node_id)}</Table.Td>
              <Table.Td>{key.last_used_at ? formatDateTime(key.last_used_at, i18n.language) : t("admin.never")}</Table.Td>
              <Table.Td>
                <Button
                  size="compact-sm"
                  variant="outline"
                  aria-label={t("admin.revokeKey", { name: key.name })}
                  onClick={() => {
                    if (window.confirm(t("admin.confirmRevoke", { name: key.name }))) revoke.mutate(key.id);
                  }}
                >
                  {t("admin.revoke")}
                </Button>
              </Table.Td>
            </Table.Tr>
          )}
        />
      </Card>
    </Stack>
  );
}

function NewKey() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const roles = useRoles();
  const [name, setName] = useState("");
  const [role, setRole] = useState("");
  const [node, setNode] = useState<string | null>(null);
  const [missing, setMissing] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/api-keys", { body: { name, role_id: role, node_id: node } })),
    onSuccess: () => {
      setName("");
      void client.invalidateQueries({ queryKey: ["api-keys"] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!name.trim()) return setMissing("name");
    if (!role) return setMissing("role");
    setMissing(null);
    create.mutate();
  };
  return (
    <Card withBorder component="form" onSubmit={submit} noValidate aria-labelledby="new-key-title">
      <Stack gap="sm">
        <Title order={2} size="h3" id="new-key-title">
          {t("admin.newKey")}
        </Title>
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <Stack gap="sm">
            <TextInput
              label={t("admin.keyName")}
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
              error={missing === "name" ? t("bulk.required") : fieldError(create.error, "name")}
              required
            />
            <NativeSelect
              label={t("admin.role")}
              value={role}
              onChange={(e) => setRole(e.currentTarget.value)}
              data={[{ value: "", label: t("bulk.choose") }, ...(roles.data?.items ?? []).map((r) => ({ value: r.id, label: r.name }))]}
              error={missing === "role" ? t("bulk.required") : fieldError(create.error, "role_id")}
              required
            />
          </Stack>
          <ScopePicker value={node} onChange={setNode} error={fieldError(create.error, "node_id")} />
        </SimpleGrid>
        {create.error && !fieldError(create.error, "name", "role_id", "node_id") ? <ProblemAlert error={create.error} /> : null}
        {create.data ? (
          <Alert color="green" variant="light" title={t("admin.keyCreated")} data-testid="new-key">
            <Text size="sm" mb="xs">
              {t("admin.keyOnce")}
            </Text>
            <Code block style={{ wordBreak: "break-all", whiteSpace: "pre-wrap" }} data-testid="secret">
              {create.data.key}
            </Code>
            <CopyButton value={create.data.key}>
              {({ copied, copy }) => (
                <Button mt="xs" size="compact-sm" variant="default" onClick={copy}>
                  {copied ? t("admin.copied") : t("admin.copy")}
                </Button>
              )}
            </CopyButton>
          </Alert>
        ) : null}
        <Button type="submit" loading={create.isPending} style={{ alignSelf: "flex-start" }}>
          {t("admin.createKey")}
        </Button>
      </Stack>
    </Card>
  );
}
