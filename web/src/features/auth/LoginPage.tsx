// «Вход»: the main number or a login + password; a TOTP code when the user has 2FA on.
import { Anchor, Button, Center, Group, Paper, PasswordInput, PinInput, Stack, Text, TextInput, Title } from "@mantine/core";
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, ok, type Schemas } from "../../lib/api";
import { session } from "../../lib/session";
import { LanguageSwitch } from "../settings/LanguageSwitch";

type LoginAnswer = Schemas["TokensOut"] | Schemas["MfaRequiredOut"];

export function LoginPage() {
  const { t } = useTranslation();
  const [login, setLogin] = useState("");
  const [password, setPassword] = useState("");
  const [mfaToken, setMfaToken] = useState<string | null>(null);
  const [code, setCode] = useState("");

  const signIn = useMutation({
    mutationFn: () =>
      ok<LoginAnswer>(api.POST("/api/v1/auth/login", { body: { login: login.trim(), password } })),
    onSuccess: (answer) => {
      if ("access_token" in answer) session.start(answer);
      else setMfaToken(answer.mfa_token);
    },
  });
  const confirm = useMutation({
    mutationFn: (token: string) =>
      ok(api.POST("/api/v1/auth/login/mfa", { body: { mfa_token: token, code } })),
    onSuccess: (tokens) => session.start(tokens),
  });

  const submitLogin = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate();
  };
  const submitCode = (event: FormEvent) => {
    event.preventDefault();
    if (mfaToken) confirm.mutate(mfaToken);
  };

  return (
    <Center component="main" mih="100dvh" p="md" bg="gray.0">
      <Paper withBorder shadow="sm" p="xl" radius="md" w="100%" maw={420}>
        <Stack>
          <Text fw={700} c="red.8">
            {t("app.title")}
          </Text>
          {mfaToken === null ? (
            <form onSubmit={submitLogin} aria-labelledby="login-title">
              <Stack>
                <Title order={1} size="h2" id="login-title">
                  {t("login.title")}
                </Title>
                <Text size="sm" c="dimmed">
                  {t("login.intro")}
                </Text>
                {signIn.error ? <ProblemAlert error={signIn.error} /> : null}
                <TextInput
                  label={t("login.login")}
                  description={t("login.loginHint")}
                  name="login"
                  autoComplete="username"
                  required
                  value={login}
                  onChange={(e) => setLogin(e.currentTarget.value)}
                />
                <PasswordInput
                  label={t("login.password")}
                  name="password"
                  autoComplete="current-password"
                  required
                  value={password}
                  onChange={(e) => setPassword(e.currentTarget.value)}
                />
                <Button type="submit" loading={signIn.isPending}>
                  {t("login.submit")}
                </Button>
                <Group justify="space-between">
                  <Anchor component={Link} to="/password-reset" size="sm">
                    {t("reset.link")}
                  </Anchor>
                  <Anchor component={Link} to="/register" size="sm">
                    {t("register.link")}
                  </Anchor>
                </Group>
              </Stack>
            </form>
          ) : (
            <form onSubmit={submitCode} aria-labelledby="mfa-title">
              <Stack>
                <Title order={1} size="h2" id="mfa-title">
                  {t("login.mfaTitle")}
                </Title>
                <Text size="sm" c="dimmed" id="mfa-intro">
                  {t("login.mfaIntro")}
                </Text>
                {confirm.error ? <ProblemAlert error={confirm.error} /> : null}
                <PinInput
                  length={6}
                  type="number"
                  oneTimeCode
                  autoFocus
                  aria-label={t("login.code")}
                  value={code}
                  onChange={setCode}
                />
                <Button type="submit" loading={confirm.isPending} disabled={code.length !== 6}>
                  {t("login.confirm")}
                </Button>
                <Button variant="subtle" onClick={() => setMfaToken(null)}>
                  {t("login.back")}
                </Button>
              </Stack>
            </form>
          )}
          <LanguageSwitch />
        </Stack>
      </Paper>
    </Center>
  );
}
