// Users of the company: the list, a new user (login, full name, e-mail, password, mobile
// number), deactivation and deletion, each user's mobile number and roles with their scopes.
import { Alert, Badge, Button, Card, Group, PasswordInput, SimpleGrid, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { PagedTable } from "../../components/PagedTable";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, fieldError, ok } from "../../lib/api";
import { useMe } from "../../lib/auth";
import { formatMsisdn } from "../../lib/format";
import { Assignments } from "./Assignments";
import { useRoles, useScopeName, useUsers, type User } from "./hooks";
import { UserPhone } from "./UserPhone";

export function Users() {
  const { t } = useTranslation();
  const [searchText, setSearch] = useState("");
  const [q] = useDebouncedValue(searchText.trim(), 300);
  const users = useUsers(true, q);
  const roles = useRoles();
  const me = useMe();
  const client = useQueryClient();
  const scopeName = useScopeName();
  const [editing, setEditing] = useState<string | null>(null);
  const roleName = (id: string) => roles.data?.items.find((r) => r.id === id)?.name ?? id;
  const refresh = () => void client.invalidateQueries({ queryKey: ["users"] });
  const status = useMutation({
    mutationFn: ({ id, to }: { id: string; to: "active" | "deactivated" }) =>
      ok(api.PATCH("/api/v1/users/{user_id}", { params: { path: { user_id: id } }, body: { status: to } })),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: (id: string) => ok(api.DELETE("/api/v1/users/{user_id}", { params: { path: { user_id: id } } })),
    onSuccess: refresh,
  });
  const items = users.data?.items ?? [];
  const chosen = items.find((u) => u.id === editing);
  const self = me.data?.user?.id;

  return (
    <Stack gap="lg">
      <NewUser onCreated={(user) => setEditing(user.id)} />
      <Card withBorder component="section" aria-labelledby="users-title">
        <Title order={2} size="h3" id="users-title" mb="sm">
          {t("admin.users")}
        </Title>
        <TextInput
          type="search"
          label={t("admin.searchUsers")}
          placeholder={t("admin.searchUsersHint")}
          value={searchText}
          onChange={(e) => setSearch(e.currentTarget.value)}
          maw={420}
          mb="sm"
        />
        {/* One page of up to 200 (useUsers, shared with the audit's filter): no «Показать ещё». */}
        <PagedTable
          query={users}
          empty={q ? t("admin.noUsersFound") : undefined}
          actionError={status.error ?? remove.error}
          label={t("admin.users")}
          minWidth={900}
          keyboardScroll
          head={
            <>
              <Table.Th>{t("admin.login")}</Table.Th>
              <Table.Th>{t("admin.fullName")}</Table.Th>
              <Table.Th>{t("admin.roles")}</Table.Th>
              <Table.Th>{t("admin.status")}</Table.Th>
              <Table.Th>{t("admin.actions")}</Table.Th>
            </>
          }
          rowKey={(user) => user.id}
          row={(user) => (
            <Table.Tr>
              <Table.Td>{user.login}</Table.Td>
              <Table.Td>
                {user.full_name}
                <Text size="xs" c="dimmed">
                  {user.email}
                </Text>
                {user.phone ? (
                  <Text size="xs" c="dimmed">
                    {formatMsisdn(user.phone)}
                  </Text>
                ) : null}
              </Table.Td>
              <Table.Td>
                {user.assignments.length === 0 ? (
                  <Text size="sm" c="dimmed">
                    {t("admin.noRoles")}
                  </Text>
                ) : (
                  user.assignments.map((a, i) => (
                    <Text size="sm" key={i}>
                      {roleName(a.role_id)} — {scopeName(a.node_id)}
                    </Text>
                  ))
                )}
              </Table.Td>
              <Table.Td>
                <Badge color={user.status === "active" ? "green" : "gray"} variant="light">
                  {t(`userStatus.${user.status}` as "userStatus.active", { defaultValue: user.status })}
                </Badge>
              </Table.Td>
              <Table.Td>
                <Group gap={6} wrap="nowrap">
                  <Button
                    size="compact-sm"
                    variant={editing === user.id ? "filled" : "default"}
                    aria-label={t("admin.editRolesOf", { login: user.login })}
                    aria-pressed={editing === user.id}
                    onClick={() => setEditing(user.id)}
                  >
                    {t("admin.editRoles")}
                  </Button>
                  {user.id !== self ? (
                    <>
                      <Button
                        size="compact-sm"
                        variant="default"
                        aria-label={t(user.status === "active" ? "admin.deactivateUser" : "admin.activateUser", {
                          login: user.login,
                        })}
                        onClick={() =>
                          status.mutate({ id: user.id, to: user.status === "active" ? "deactivated" : "active" })
                        }
                      >
                        {user.status === "active" ? t("admin.deactivate") : t("admin.activate")}
                      </Button>
                      <Button
                        size="compact-sm"
                        variant="outline"
                        aria-label={t("admin.deleteUser", { login: user.login })}
                        onClick={() => {
                          if (window.confirm(t("admin.confirmDelete", { name: user.login }))) remove.mutate(user.id);
                        }}
                      >
                        {t("admin.delete")}
                      </Button>
                    </>
                  ) : null}
                </Group>
              </Table.Td>
            </Table.Tr>
          )}
        />
      </Card>
      {chosen ? <UserPhone key={chosen.id} user={chosen} /> : null}
      {chosen ? <Assignments key={chosen.id} user={chosen} onClose={() => setEditing(null)} /> : null}
    </Stack>
  );
}

function NewUser({ onCreated }: { onCreated: (user: User) => void }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const empty = { login: "", full_name: "", email: "", password: "", phone: "" };
  // The mobile number is optional: SMS notices need it, nothing else does.
  const optional: (keyof typeof empty)[] = ["phone"];
  const [form, setForm] = useState(empty);
  const [missing, setMissing] = useState<string[]>([]);
  const create = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/users", { body: { ...form, phone: form.phone.trim() } })),
    onSuccess: (user) => {
      setForm(empty);
      void client.invalidateQueries({ queryKey: ["users"] });
      onCreated(user);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const absent = Object.entries(form)
      .filter(([k, v]) => !optional.includes(k as keyof typeof empty) && !v.trim())
      .map(([k]) => k);
    setMissing(absent);
    if (absent.length === 0) create.mutate();
  };
  const field = (name: keyof typeof empty) => ({
    value: form[name],
    onChange: (e: { currentTarget: { value: string } }) => {
      const value = e.currentTarget.value;
      setForm((f) => ({ ...f, [name]: value }));
    },
    error: missing.includes(name) ? t("bulk.required") : fieldError(create.error, name),
    required: !optional.includes(name),
  });
  return (
    <Card withBorder component="form" onSubmit={submit} noValidate aria-labelledby="new-user-title">
      <Stack gap="sm">
        <Title order={2} size="h3" id="new-user-title">
          {t("admin.newUser")}
        </Title>
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <TextInput label={t("admin.login")} autoComplete="off" {...field("login")} />
          <TextInput label={t("admin.fullName")} {...field("full_name")} />
          <TextInput label={t("admin.email")} type="email" {...field("email")} />
          <PasswordInput label={t("admin.password")} autoComplete="new-password" description={t("admin.passwordHint")} {...field("password")} />
          <TextInput label={t("admin.phone")} inputMode="tel" autoComplete="off" description={t("admin.phoneHint")} {...field("phone")} />
        </SimpleGrid>
        {create.error && !fieldError(create.error, "login", "full_name", "email", "password", "phone") ? (
          <ProblemAlert error={create.error} />
        ) : null}
        {create.data ? (
          <Alert color="green" variant="light" role="status">
            {t("admin.userCreated", { login: create.data.login })}
          </Alert>
        ) : null}
        <Button type="submit" loading={create.isPending} style={{ alignSelf: "flex-start" }}>
          {t("admin.createUser")}
        </Button>
      </Stack>
    </Card>
  );
}
