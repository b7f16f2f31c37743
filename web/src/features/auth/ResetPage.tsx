// «Забыли пароль?»: the login; a code comes by SMS or e-mail; the code and a new password.
import { Alert, Anchor, Button, PasswordInput, Stack, Text, TextInput, Title } from "@mantine/core";
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, fieldError, ok } from "../../lib/api";
import { PublicFrame } from "./PublicFrame";

export function ResetPage() {
  const { t } = useTranslation();
  const [login, setLogin] = useState("");
  const [code, setCode] = useState("");
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const start = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/auth/password-resets", { body: { login: login.trim() } })),
  });
  const confirm = useMutation({
    mutationFn: (id: string) =>
      ok(
        api.POST("/api/v1/auth/password-resets/{reset_id}/confirm", {
          params: { path: { reset_id: id } },
          body: { code: code.trim(), new_password: password },
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
  const submitConfirm = (event: FormEvent) => {
    event.preventDefault();
    if (!start.data) return;
    if (!code.trim() || !password) return setProblem("required");
    if (password !== repeat) return setProblem("mismatch");
    setProblem(null);
    confirm.mutate(start.data.reset_id);
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
        <form onSubmit={submitConfirm} noValidate aria-labelledby="reset-confirm-title">
          <Stack>
            <Title order={1} size="h2" id="reset-confirm-title">
              {t("reset.newPasswordTitle")}
            </Title>
            <Alert color="green" variant="light" role="status">
              {t("reset.codeSent")}
            </Alert>
            {confirm.error && !fieldError(confirm.error, "code", "new_password") ? <ProblemAlert error={confirm.error} /> : null}
            <TextInput
              label={t("login.code")}
              inputMode="numeric"
              autoComplete="one-time-code"
              value={code}
              onChange={(e) => setCode(e.currentTarget.value)}
              error={required(code) ?? fieldError(confirm.error, "code")}
              required
            />
            <PasswordInput
              label={t("settings.newPassword")}
              description={t("admin.passwordHint")}
              autoComplete="new-password"
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
              error={required(password) ?? fieldError(confirm.error, "new_password")}
              required
            />
            <PasswordInput
              label={t("settings.repeatPassword")}
              autoComplete="new-password"
              value={repeat}
              onChange={(e) => setRepeat(e.currentTarget.value)}
              error={problem === "mismatch" ? t("settings.mismatch") : undefined}
              required
            />
            <Button type="submit" loading={confirm.isPending}>
              {t("reset.save")}
            </Button>
          </Stack>
        </form>
      )}
      <Anchor component={Link} to="/" size="sm">
        {t("register.toLogin")}
      </Anchor>
    </PublicFrame>
  );
}
