// «Забыли пароль?»: the login; a code comes by SMS or e-mail; the code and a new password.
import { Alert, Anchor, Button, Stack, Text, TextInput, Title } from "@mantine/core";
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { CodeAndPasswordStep } from "../../components/CodeAndPasswordStep";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, fieldError, ok } from "../../lib/api";
import { PublicFrame } from "./PublicFrame";

export function ResetPage() {
  const { t } = useTranslation();
  const [login, setLogin] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const start = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/auth/password-resets", { body: { login: login.trim() } })),
  });
  const confirm = useMutation({
    mutationFn: ({ id, ...body }: { id: string; code: string; new_password: string }) =>
      ok(
        api.POST("/api/v1/auth/password-resets/{reset_id}/confirm", {
          params: { path: { reset_id: id } },
          body,
        }),
      ),
  });
  const required = (value: string) => (problem === "required" && !value.trim() ? t("bulk.required") : undefined);
  const submitStart = (event: FormEvent) => {
    event.preventDefault();
    if (!login.trim()) return setProblem("required");
    setProblem(null);
    start.mutate();
  };
  return (
    <PublicFrame>
      {confirm.isSuccess ? (
        <Stack>
          <Title order={1} size="h2">
            {t("reset.title")}
          </Title>
          <Alert color="green" variant="light" role="status">
            {t("reset.done")}
          </Alert>
        </Stack>
      ) : !start.data ? (
        <form onSubmit={submitStart} noValidate aria-labelledby="reset-title">
          <Stack>
            <Title order={1} size="h2" id="reset-title">
              {t("reset.title")}
            </Title>
            <Text size="sm" c="dimmed">
              {t("reset.intro")}
            </Text>
            {start.error && !fieldError(start.error, "login") ? <ProblemAlert error={start.error} /> : null}
            <TextInput
              label={t("login.login")}
              description={t("login.loginHint")}
              autoComplete="username"
              value={login}
              onChange={(e) => setLogin(e.currentTarget.value)}
              error={required(login) ?? fieldError(start.error, "login")}
              required
            />
            <Button type="submit" loading={start.isPending}>
              {t("reset.getCode")}
            </Button>
          </Stack>
        </form>
      ) : (
        <CodeAndPasswordStep
          titleId="reset-confirm-title"
          title={t("reset.newPasswordTitle")}
          notice={t("reset.codeSent")}
          codes={[{ name: "code", label: t("login.code"), autoComplete: "one-time-code" }]}
          passwordField="new_password"
          submitLabel={t("reset.save")}
          error={confirm.error}
          pending={confirm.isPending}
          onSubmit={({ code }, password) => confirm.mutate({ id: start.data.reset_id, code, new_password: password })}
        />
      )}
      <Anchor component={Link} to="/" size="sm">
        {t("register.toLogin")}
      </Anchor>
    </PublicFrame>
  );
}
