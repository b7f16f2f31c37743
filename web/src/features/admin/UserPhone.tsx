// A user's own mobile number, where their SMS notices go: set, changed or removed (empty).
import { Alert, Button, Card, Group, Stack, TextInput, Title } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, fieldError, ok } from "../../lib/api";
import { formatMsisdn } from "../../lib/format";
import type { User } from "./hooks";

export function UserPhone({ user }: { user: User }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [phone, setPhone] = useState(() => (user.phone ? formatMsisdn(user.phone) : ""));
  const save = useMutation({
    mutationFn: () =>
      ok(
        api.PATCH("/api/v1/users/{user_id}", {
          params: { path: { user_id: user.id } },
          body: { phone: phone.trim() },
        }),
      ),
    onSuccess: (saved) => {
      setPhone(saved.phone ? formatMsisdn(saved.phone) : "");
      void client.invalidateQueries({ queryKey: ["users"] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <Card withBorder component="form" onSubmit={submit} noValidate aria-labelledby="user-phone-title">
      <Stack gap="sm">
        <Title order={2} size="h3" id="user-phone-title">
          {t("admin.phoneOf", { login: user.login })}
        </Title>
        <Group align="flex-end" wrap="wrap">
          <TextInput
            label={t("admin.phone")}
            description={t("admin.phoneEditHint")}
            inputMode="tel"
            autoComplete="off"
            value={phone}
            onChange={(e) => {
              save.reset();
              setPhone(e.currentTarget.value);
            }}
            error={fieldError(save.error, "phone")}
            style={{ flex: "1 1 16rem", maxWidth: "32rem" }}
          />
          <Button type="submit" loading={save.isPending}>
            {t("admin.savePhone")}
          </Button>
        </Group>
        {save.error && !fieldError(save.error, "phone") ? <ProblemAlert error={save.error} /> : null}
        {save.isSuccess ? (
          <Alert color="green" variant="light" role="status">
            {t("finance.saved")}
          </Alert>
        ) : null}
      </Stack>
    </Card>
  );
}
