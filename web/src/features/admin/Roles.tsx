// Roles: the preset ones (read-only, their permissions ticked) and the company's own
// («Своя роль»), made and changed with the permission checkboxes grouped by category.
import { Alert, Badge, Button, Card, Checkbox, Grid, Group, NavLink, Stack, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Loading } from "../../components/Loading";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, fieldError, ok } from "../../lib/api";
import { usePermissionCatalogue, useRoles, type Role, type RolePermission } from "./hooks";

const NEW = "new";

export function Roles() {
  const { t } = useTranslation();
  const roles = useRoles();
  const [chosen, setChosen] = useState<string | null>(null);
  const items = roles.data?.items ?? [];
  const role = items.find((r) => r.id === chosen);
  return (
    <Grid>
      <Grid.Col span={{ base: 12, md: 4 }}>
        <Card withBorder component="nav" aria-labelledby="roles-title">
          <Title order={2} size="h3" id="roles-title" mb="xs">
            {t("admin.rolesTitle")}
          </Title>
          {roles.error ? <ProblemAlert error={roles.error} onRetry={() => void roles.refetch()} /> : null}
          {roles.isPending ? <Loading /> : null}
          {items.map((r) => (
            <NavLink
              key={r.id}
              component="button"
              type="button"
              label={r.name}
              description={r.preset ? t("admin.preset") : undefined}
              active={r.id === chosen}
              aria-current={r.id === chosen ? "true" : undefined}
              onClick={() => setChosen(r.id)}
            />
          ))}
          <Button mt="sm" variant="outline" onClick={() => setChosen(NEW)} fullWidth>
            {t("admin.ownRole")}
          </Button>
        </Card>
      </Grid.Col>
      <Grid.Col span={{ base: 12, md: 8 }}>
        {chosen === NEW ? <RoleEditor key={NEW} onSaved={setChosen} /> : null}
        {role ? <RoleEditor key={role.id} role={role} onSaved={setChosen} onDeleted={() => setChosen(null)} /> : null}
        {!chosen ? <Text c="dimmed">{t("admin.pickRole")}</Text> : null}
      </Grid.Col>
    </Grid>
  );
}

function RoleEditor({
  role,
  onSaved,
  onDeleted,
}: {
  role?: Role;
  onSaved: (id: string) => void;
  onDeleted?: () => void;
}) {
  const { t } = useTranslation();
  const catalogue = usePermissionCatalogue();
  const client = useQueryClient();
  const readOnly = !!role?.preset;
  const [name, setName] = useState(role?.name ?? "");
  const [granted, setGranted] = useState<Set<string>>(() => new Set(role?.permissions ?? []));
  const [missing, setMissing] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: () => {
      const permissions = [...granted] as RolePermission[];
      return role
        ? ok(api.PATCH("/api/v1/roles/{role_id}", { params: { path: { role_id: role.id } }, body: { name, permissions } }))
        : ok(api.POST("/api/v1/roles", { body: { name, permissions } }));
    },
    onSuccess: (saved) => {
      void client.invalidateQueries({ queryKey: ["roles"] });
      onSaved(saved.id);
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => ok(api.DELETE("/api/v1/roles/{role_id}", { params: { path: { role_id: id } } })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ["roles"] });
      onDeleted?.();
    },
  });
  const toggle = (id: string, on: boolean) => {
    save.reset();
    setGranted((current) => {
      const next = new Set(current);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!name.trim()) return setMissing("name");
    if (granted.size === 0) return setMissing("permissions");
    setMissing(null);
    save.mutate();
  };
  const title = role ? role.name : t("admin.ownRole");
  return (
    <Card withBorder component="form" onSubmit={submit} noValidate aria-labelledby="role-title">
      <Stack gap="sm">
        <Group gap="xs">
          <Title order={2} size="h3" id="role-title">
            {title}
          </Title>
          {readOnly ? <Badge variant="light" color="gray">{t("admin.preset")}</Badge> : null}
        </Group>
        {readOnly ? (
          <Text size="sm" c="dimmed">
            {t("admin.presetReadOnly")}
          </Text>
        ) : (
          <TextInput
            label={t("admin.roleName")}
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            error={missing === "name" ? t("bulk.required") : fieldError(save.error, "name")}
            required
          />
        )}
        {catalogue.error ? <ProblemAlert error={catalogue.error} /> : null}
        {catalogue.isPending ? <Loading /> : null}
        {catalogue.data?.categories.map((category) => (
          <Checkbox.Group
            key={category.id}
            label={category.title}
            value={category.permissions.filter((p) => granted.has(p.id)).map((p) => p.id)}
            onChange={(values) => category.permissions.forEach((p) => toggle(p.id, values.includes(p.id)))}
          >
            <Stack gap={6} mt={6}>
              {category.permissions.map((permission) => (
                <Checkbox
                  key={permission.id}
                  value={permission.id}
                  label={permission.title}
                  description={permission.company_level ? t("admin.companyLevel") : undefined}
                  disabled={readOnly}
                />
              ))}
            </Stack>
          </Checkbox.Group>
        ))}
        {missing === "permissions" ? (
          <Text c="red.9" size="sm" role="alert">
            {t("admin.choosePermission")}
          </Text>
        ) : null}
        {save.error && !fieldError(save.error, "name") ? <ProblemAlert error={save.error} /> : null}
        {remove.error ? <ProblemAlert error={remove.error} /> : null}
        {save.isSuccess ? (
          <Alert color="green" variant="light" role="status">
            {t("admin.roleSaved")}
          </Alert>
        ) : null}
        {readOnly ? null : (
          <Group>
            <Button type="submit" loading={save.isPending}>
              {role ? t("finance.save") : t("admin.createRole")}
            </Button>
            {role ? (
              <Button
                variant="outline"
                loading={remove.isPending}
                onClick={() => {
                  if (window.confirm(t("admin.confirmDelete", { name: role.name }))) remove.mutate(role.id);
                }}
              >
                {t("admin.deleteRole")}
              </Button>
            ) : null}
          </Group>
        )}
      </Stack>
    </Card>
  );
}
