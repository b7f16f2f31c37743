// «Регистрация»: the company's main number and contact e-mail; a code comes by SMS to the
// main number and another by e-mail; both codes and a password create the company's
// global administrator, who is then signed in.
import { Alert, Anchor, Button, PasswordInput, Stack, Text, TextInput, Title } from "@mantine/core";
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, fieldError, ok } from "../../lib/api";
import { session } from "../../lib/session";
import { PublicFrame } from "./PublicFrame";

export function RegisterPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [mainNumber, setMainNumber] = useState("");
  const [email, setEmail] = useState("");
  const [smsCode, setSmsCode] = useState("");
  const [emailCode, setEmailCode] = useState("");
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const start = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/auth/registrations", { body: { main_number: mainNumber.trim(), email: email.trim() } })),
  });
  const confirm = useMutation({
    mutationFn: (id: string) =>
      ok(
        api.POST("/api/v1/auth/registrations/{registration_id}/confirm", {
          params: { path: { registration_id: id } },
          body: { sms_code: smsCode.trim(), email_code: emailCode.trim(), password },
        }),
      ),
    onSuccess: (tokens) => {
      void navigate("/", { replace: true });
      session.start(tokens);
    },
  });
  const submitStart = (event: FormEvent) => {
    event.preventDefault();
    if (!mainNumber.trim() || !email.trim()) return setProblem("required");
    setProblem(null);
    start.mutate();
  };
  const submitConfirm = (event: FormEvent) => {
    event.preventDefault();
    if (!start.data) return;
    if (!smsCode.trim() || !emailCode.trim() || !password) return setProblem("required");
    if (password !== repeat) return setProblem("mismatch");
    setProblem(null);
    confirm.mutate(start.data.registration_id);
  };
  const required = (value: string) => (problem === "required" && !value.trim() ? t("bulk.required") : undefined);
  return (
    <PublicFrame>
      {!start.data ? (
        <form onSubmit={submitStart} noValidate aria-labelledby="register-title">
          <Stack>
            <Title order={1} size="h2" id="register-title">
              {t("register.title")}
            </Title>
            <Text size="sm" c="dimmed">
              {t("register.intro")}
            </Text>
            {start.error && !fieldError(start.error, "main_number", "email") ? <ProblemAlert error={start.error} /> : null}
            <TextInput
              label={t("register.mainNumber")}
              description={t("login.loginHint")}
              inputMode="tel"
              autoComplete="tel"
              value={mainNumber}
              onChange={(e) => setMainNumber(e.currentTarget.value)}
              error={required(mainNumber) ?? fieldError(start.error, "main_number")}
              required
            />
            <TextInput
              label={t("register.email")}
              type="email"
              autoComplete="email"
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
              error={required(email) ?? fieldError(start.error, "email")}
              required
            />
            <Button type="submit" loading={start.isPending}>
              {t("register.getCodes")}
            </Button>
          </Stack>
        </form>
      ) : (
        <form onSubmit={submitConfirm} noValidate aria-labelledby="register-confirm-title">
          <Stack>
            <Title order={1} size="h2" id="register-confirm-title">
              {t("register.confirmTitle")}
            </Title>
            <Alert color="green" variant="light" role="status">
              {t("register.codesSent")}
            </Alert>
            {confirm.error && !fieldError(confirm.error, "sms_code", "email_code", "password") ? (
              <ProblemAlert error={confirm.error} />
            ) : null}
            <TextInput
              label={t("register.smsCode")}
              inputMode="numeric"
              autoComplete="one-time-code"
              value={smsCode}
              onChange={(e) => setSmsCode(e.currentTarget.value)}
              error={required(smsCode) ?? fieldError(confirm.error, "sms_code")}
              required
            />
            <TextInput
              label={t("register.emailCode")}
              inputMode="numeric"
              value={emailCode}
              onChange={(e) => setEmailCode(e.currentTarget.value)}
              error={required(emailCode) ?? fieldError(confirm.error, "email_code")}
              required
            />
            <PasswordInput
              label={t("settings.newPassword")}
              description={t("admin.passwordHint")}
              autoComplete="new-password"
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
              error={required(password) ?? fieldError(confirm.error, "password")}
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
              {t("register.finish")}
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
