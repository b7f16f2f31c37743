// «Мои настройки»: the password, two-factor login with an authenticator app (a QR code
// of the otpauth URI, then a code to confirm), the language, the functions pinned to
// «Главная» and the channels of each kind of notification (Notifications).
import { Alert, Button, Card, Checkbox, Code, Group, NativeSelect, PasswordInput, SimpleGrid, Stack, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import QRCode from "qrcode";
import { useEffect, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { NewPasswordFields } from "../../components/NewPasswordFields";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, fieldError, ok } from "../../lib/api";
import { useMe } from "../../lib/auth";
import { isLocale, setLocale } from "../../lib/i18n";
import { FUNCTION_PATHS } from "../home/functions";
import { Notifications } from "./Notifications";
import { localeOf, pinnedIds, usePreferences } from "./preferences";

const MAX_PINNED = 12;

export function SettingsPage() {
  const { t } = useTranslation();
  const me = useMe();
  return (
    <Stack gap="lg">
      <Title order={1}>{t("settings.title")}</Title>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Password />
        {me.data?.user ? <TwoFactor enabled={!!me.data.user.two_factor_enabled} /> : null}
        <Language />
      </SimpleGrid>
      <PinnedFunctions />
      <Notifications />
    </Stack>
  );
}

function Password() {
  const { t } = useTranslation();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const change = useMutation({
    mutationFn: () => ok(api.PUT("/api/v1/me/password", { body: { current_password: current, new_password: next } })),
    onSuccess: () => {
      setCurrent("");
      setNext("");
      setRepeat("");
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!current || !next) return setProblem("required");
    if (next !== repeat) return setProblem("mismatch");
    setProblem(null);
    change.mutate();
  };
  return (
    <Card withBorder component="form" onSubmit={submit} noValidate aria-labelledby="password-title">
      <Stack gap="sm">
        <Title order={2} size="h3" id="password-title">
          {t("settings.password")}
        </Title>
        <Text size="sm" c="dimmed">
          {t("settings.passwordIntro")}
        </Text>
        <PasswordInput
          label={t("settings.currentPassword")}
          autoComplete="current-password"
          value={current}
          onChange={(e) => setCurrent(e.currentTarget.value)}
          error={problem === "required" && !current ? t("bulk.required") : fieldError(change.error, "current_password")}
        />
        <NewPasswordFields
          password={next}
          onPassword={setNext}
          repeat={repeat}
          onRepeat={setRepeat}
          error={problem === "required" && !next ? t("bulk.required") : fieldError(change.error, "new_password")}
          mismatch={problem === "mismatch"}
        />
        {change.error && !fieldError(change.error, "current_password", "new_password") ? <ProblemAlert error={change.error} /> : null}
        {change.isSuccess ? (
          <Alert color="green" variant="light" role="status">
            {t("settings.passwordChanged")}
          </Alert>
        ) : null}
        <Button type="submit" loading={change.isPending} style={{ alignSelf: "flex-start" }}>
          {t("settings.changePassword")}
        </Button>
      </Stack>
    </Card>
  );
}

function TwoFactor({ enabled }: { enabled: boolean }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [code, setCode] = useState("");
  const [qr, setQr] = useState<string | null>(null);
  const [missing, setMissing] = useState(false);
  const refreshMe = () => void client.invalidateQueries({ queryKey: ["me"] });
  const start = useMutation({ mutationFn: () => ok(api.POST("/api/v1/me/2fa")) });
  const confirm = useMutation({
    mutationFn: () => ok(api.POST("/api/v1/me/2fa/confirm", { body: { code: code.trim() } })),
    onSuccess: () => {
      setCode("");
      start.reset();
      refreshMe();
    },
  });
  const disable = useMutation({
    mutationFn: () => ok(api.DELETE("/api/v1/me/2fa", { body: { code: code.trim() } })),
    onSuccess: () => {
      setCode("");
      confirm.reset();
      refreshMe();
    },
  });
  const uri = start.data?.otpauth_uri;
  useEffect(() => {
    if (!uri) return;
    let live = true;
    void QRCode.toDataURL(uri, { margin: 2, width: 200 }).then((url) => live && setQr(url));
    return () => {
      live = false;
    };
  }, [uri]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setMissing(!code.trim());
    if (!code.trim()) return;
    if (enabled) disable.mutate();
    else confirm.mutate();
  };
  const error = start.error ?? confirm.error ?? disable.error;
  const codeInput = (
    <TextInput
      label={t("login.code")}
      inputMode="numeric"
      autoComplete="one-time-code"
      maxLength={16}
      value={code}
      onChange={(e) => setCode(e.currentTarget.value)}
      error={missing ? t("bulk.required") : fieldError(confirm.error ?? disable.error, "code")}
      w={200}
    />
  );
  return (
    <Card withBorder component="form" onSubmit={submit} noValidate aria-labelledby="two-factor-title">
      <Stack gap="sm">
        <Title order={2} size="h3" id="two-factor-title">
          {t("settings.twoFactor")}
        </Title>
        <Text size="sm" data-testid="two-factor-state">
          {enabled ? t("settings.twoFactorOn") : t("settings.twoFactorOff")}
        </Text>
        {error && !fieldError(error, "code") ? <ProblemAlert error={error} /> : null}
        {confirm.isSuccess && enabled ? (
          <Alert color="green" variant="light" role="status">
            {t("settings.twoFactorEnabled")}
          </Alert>
        ) : null}
        {disable.isSuccess && !enabled ? (
          <Alert color="green" variant="light" role="status">
            {t("settings.twoFactorDisabled")}
          </Alert>
        ) : null}
        {enabled ? (
          <>
            <Text size="sm">{t("settings.disableIntro")}</Text>
            {codeInput}
            <Button type="submit" variant="outline" loading={disable.isPending} style={{ alignSelf: "flex-start" }}>
              {t("settings.disable")}
            </Button>
          </>
        ) : start.data ? (
          <>
            <Text size="sm">{t("settings.scan")}</Text>
            {qr ? <img src={qr} width={200} height={200} alt={t("settings.qrAlt")} data-testid="qr" /> : null}
            <Text size="sm">{t("settings.orType")}</Text>
            <Code style={{ wordBreak: "break-all", alignSelf: "flex-start" }} data-testid="secret">
              {start.data.secret}
            </Code>
            <a href={start.data.otpauth_uri} data-testid="otpauth" style={{ fontSize: "var(--mantine-font-size-sm)" }}>
              {t("settings.openApp")}
            </a>
            {codeInput}
            <Button type="submit" loading={confirm.isPending} style={{ alignSelf: "flex-start" }}>
              {t("login.confirm")}
            </Button>
          </>
        ) : (
          <Button onClick={() => start.mutate()} loading={start.isPending} style={{ alignSelf: "flex-start" }}>
            {t("settings.enable")}
          </Button>
        )}
      </Stack>
    </Card>
  );
}

function Language() {
  const { t, i18n } = useTranslation();
  const preferences = usePreferences();
  const client = useQueryClient();
  const save = useMutation({
    mutationFn: (locale: "ru" | "en") =>
      ok(api.PUT("/api/v1/me/preferences", { body: { pinned: pinnedIds(preferences.data?.pinned ?? []), locale } })),
    onSuccess: (saved) => client.setQueryData(["preferences"], saved),
  });
  return (
    <Card withBorder component="section" aria-labelledby="language-title">
      <Stack gap="sm">
        <Title order={2} size="h3" id="language-title">
          {t("settings.language")}
        </Title>
        <NativeSelect
          label={t("settings.languageLabel")}
          value={isLocale(i18n.language) ? i18n.language : "ru"}
          onChange={(e) => {
            const value = e.currentTarget.value;
            if (!isLocale(value)) return;
            void setLocale(value);
            save.mutate(value);
          }}
          data={[
            { value: "ru", label: "Русский" },
            { value: "en", label: "English" },
          ]}
          w={240}
        />
        {save.error ? <ProblemAlert error={save.error} /> : null}
      </Stack>
    </Card>
  );
}

function PinnedFunctions() {
  const { t } = useTranslation();
  const preferences = usePreferences();
  const client = useQueryClient();
  const [chosen, setChosen] = useState<string[] | null>(null);
  const pinned = chosen ?? preferences.data?.pinned ?? [];
  const save = useMutation({
    mutationFn: () =>
      ok(
        api.PUT("/api/v1/me/preferences", {
          body: { pinned: pinnedIds(pinned), locale: localeOf(preferences.data?.locale) },
        }),
      ),
    onSuccess: (saved) => {
      client.setQueryData(["preferences"], saved);
      setChosen(null);
    },
  });
  const toggle = (id: string, on: boolean) => {
    save.reset();
    setChosen(on ? [...pinned, id] : pinned.filter((p) => p !== id));
  };
  return (
    <Card
      withBorder
      component="form"
      noValidate
      aria-labelledby="pinned-settings-title"
      onSubmit={(event: FormEvent) => {
        event.preventDefault();
        save.mutate();
      }}
    >
      <Stack gap="sm">
        <Title order={2} size="h3" id="pinned-settings-title">
          {t("settings.pinned")}
        </Title>
        <Text size="sm" c="dimmed">
          {t("settings.pinnedIntro", { max: MAX_PINNED })}
        </Text>
        <Checkbox.Group value={pinned} label={t("settings.pinnedLabel")}>
          <SimpleGrid cols={{ base: 1, sm: 2, md: 3 }} mt="xs">
            {Object.keys(FUNCTION_PATHS).map((id) => (
              <Checkbox
                key={id}
                value={id}
                label={t(`functions.${id}` as "functions.hierarchy", { defaultValue: id })}
                disabled={!pinned.includes(id) && pinned.length >= MAX_PINNED}
                onChange={(e) => toggle(id, e.currentTarget.checked)}
              />
            ))}
          </SimpleGrid>
        </Checkbox.Group>
        {save.error ? <ProblemAlert error={save.error} /> : null}
        {save.isSuccess ? (
          <Alert color="green" variant="light" role="status">
            {t("finance.saved")}
          </Alert>
        ) : null}
        <Group>
          <Button type="submit" loading={save.isPending} disabled={chosen === null}>
            {t("finance.save")}
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}
