// A user's roles, each with its scope: the whole company or one node of the hierarchy.
import { Alert, Button, Card, CloseButton, Group, NativeSelect, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, fieldError, ok } from "../../lib/api";
import { useRoles, type Assignment, type User } from "./hooks";
import { ScopePicker } from "./ScopePicker";

export function Assignments({ user, onClose }: { user: User; onClose: () => void }) {
  const { t } = useTranslation();
  const roles = useRoles();
  const client = useQueryClient();
  const [rows, setRows] = useState<Assignment[]>(() =>
    user.assignments.map((a) => ({ role_id: a.role_id, node_id: a.node_id ?? null })),
  );
  const [missing, setMissing] = useState(false);
  const save = useMutation({
    mutationFn: () =>
      ok(api.PUT("/api/v1/users/{user_id}/assignments", { params: { path: { user_id: user.id } }, body: rows })),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["users"] }),
  });
  const change = (i: number, patch: Partial<Assignment>) => {
    save.reset();
    setRows((current) => current.map((row, j) => (j === i ? { ...row, ...patch } : row)));
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const incomplete = rows.some((r) => !r.role_id);
    setMissing(incomplete);
    if (!incomplete) save.mutate();
  };
  const options = [
    { value: "", label: t("bulk.choose") },
    ...(roles.data?.items ?? []).map((r) => ({ value: r.id, label: r.name })),
  ];
  return (
    <Card withBorder component="form" onSubmit={submit} noValidate aria-labelledby="assignments-title">
      <Stack gap="sm">
        <Group justify="space-between" wrap="nowrap">
          <Title order={2} size="h3" id="assignments-title">
            {t("admin.rolesOf", { login: user.login })}
          </Title>
          <CloseButton aria-label={t("admin.close")} onClick={onClose} />
        </Group>
        <Text size="sm" c="dimmed">
          {t("admin.assignmentsIntro")}
        </Text>
        {rows.length === 0 ? <Text c="dimmed">{t("admin.noRoles")}</Text> : null}
        {rows.map((row, i) => (
          <Card key={i} withBorder padding="sm" component="fieldset" aria-label={t("admin.assignmentN", { n: i + 1 })}>
            <SimpleGrid cols={{ base: 1, sm: 2 }}>
              <NativeSelect
                label={t("admin.role")}
                value={row.role_id}
                data={options}
                onChange={(e) => change(i, { role_id: e.currentTarget.value })}
                error={(missing && !row.role_id ? t("bulk.required") : undefined) ?? fieldError(save.error, `${i}.role_id`)}
              />
              <ScopePicker
                value={row.node_id ?? null}
                onChange={(node_id) => change(i, { node_id })}
                error={fieldError(save.error, `${i}.node_id`)}
              />
            </SimpleGrid>
            <Button
              mt="xs"
              size="compact-sm"
              variant="subtle"
              onClick={() => {
                save.reset();
                setRows((current) => current.filter((_, j) => j !== i));
              }}
            >
              {t("admin.removeAssignment")}
            </Button>
          </Card>
        ))}
        {save.error ? <ProblemAlert error={save.error} /> : null}
        {save.isSuccess ? (
          <Alert color="green" variant="light" role="status">
            {t("finance.saved")}
          </Alert>
        ) : null}
        <Group>
          <Button
            variant="default"
            onClick={() => {
              save.reset();
              setRows((current) => [...current, { role_id: "", node_id: null }]);
            }}
          >
            {t("admin.addAssignment")}
          </Button>
          <Button type="submit" loading={save.isPending}>
            {t("admin.saveAssignments")}
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}
