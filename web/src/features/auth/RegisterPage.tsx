// «Регистрация»: the company's main number and contact e-mail; a code comes by SMS to the
// main number and another by e-mail; both codes and a password create the company's
// global administrator, who is then signed in.
import { Anchor, Button, Stack, Text, TextInput, Title } from "@mantine/core";
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router";
import { CodeAndPasswordStep } from "../../components/CodeAndPasswordStep";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, fieldError, ok } from "../../lib/api";
import { session } from "../../lib/session";
import { PublicFrame } from "./PublicFrame";

export function RegisterPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [mainNumber, setMainNumber] = useState("");
  const [email, setEmail] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const start = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/auth/registrations", { body: { main_number: mainNumber.trim(), email: email.trim() } })),
  });
  const confirm = useMutation({
    mutationFn: ({ id, ...body }: { id: string; sms_code: string; email_code: string; password: string }) =>
      ok(
        api.POST("/api/v1/auth/registrations/{registration_id}/confirm", {
          params: { path: { registration_id: id } },
          body,
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
        <CodeAndPasswordStep
          titleId="register-confirm-title"
          title={t("register.confirmTitle")}
          notice={t("register.codesSent")}
          codes={[
            { name: "sms_code", label: t("register.smsCode"), autoComplete: "one-time-code" },
            { name: "email_code", label: t("register.emailCode") },
          ]}
          passwordField="password"
          submitLabel={t("register.finish")}
          error={confirm.error}
          pending={confirm.isPending}
          onSubmit={(codes, password) => confirm.mutate({ id: start.data.registration_id, ...codes, password })}
        />
      )}
      <Anchor component={Link} to="/" size="sm">
        {t("register.toLogin")}
      </Anchor>
    </PublicFrame>
  );
}
