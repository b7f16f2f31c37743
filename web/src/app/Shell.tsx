// The navigation shell: the sections of the cabinet the user may use, the company, the
// language, log out. On a phone the sections fold behind a burger.
import { AppShell, Burger, Group, NavLink, ScrollArea, Text, UnstyledButton } from "@mantine/core";
import { useDisclosure, useReducedMotion } from "@mantine/hooks";
import { Suspense, useEffect } from "react";
import { useTranslation } from "react-i18next";
import { NavLink as RouterLink, Outlet, useLocation } from "react-router";
import { Loading } from "../components/Loading";
import { ProblemAlert } from "../components/ProblemAlert";
import { LanguageSwitch } from "../features/settings/LanguageSwitch";
import { usePreferences } from "../features/settings/preferences";
import { useCan, useLogout, useMe, type Permission } from "../lib/auth";
import { isLocale, setLocale } from "../lib/i18n";
import { BULK_PERMISSIONS } from "../features/operations/model";

interface Section {
  to: string;
  label: "nav.home" | "nav.hierarchy" | "nav.bulk" | "nav.finance" | "nav.documents" | "nav.results" | "nav.forms" | "nav.tickets" | "nav.admin" | "nav.settings";
  /** Shown when the user holds any of these (anywhere); none: to everyone. */
  permissions?: readonly Permission[];
}

/** The sections built so far, in the order of API.md's table. */
const SECTIONS: Section[] = [
  { to: "/", label: "nav.home" },
  { to: "/hierarchy", label: "nav.hierarchy", permissions: ["numbers.view"] },
  { to: "/operations", label: "nav.bulk", permissions: BULK_PERMISSIONS },
  { to: "/finance", label: "nav.finance", permissions: ["finance.view"] },
  { to: "/documents", label: "nav.documents", permissions: ["documents.finance", "reports.run"] },
  { to: "/results", label: "nav.results" },
  { to: "/forms", label: "nav.forms" },
  { to: "/tickets", label: "nav.tickets", permissions: ["tickets.view", "tickets.manage"] },
  { to: "/admin", label: "nav.admin", permissions: ["users.manage", "roles.manage", "api_keys.manage", "webhooks.manage", "automation.manage", "audit.view"] },
  { to: "/settings", label: "nav.settings" },
];

export function Shell() {
  const { t } = useTranslation();
  const [opened, { toggle, close }] = useDisclosure();
  const me = useMe();
  const can = useCan();
  const logout = useLogout();
  const preferences = usePreferences();
  const location = useLocation();
  const locale = preferences.data?.locale;
  const reduceMotion = useReducedMotion();

  useEffect(() => {
    if (isLocale(locale)) void setLocale(locale);
  }, [locale]);
  useEffect(close, [location.pathname, close]);

  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 250, breakpoint: "sm", collapsed: { mobile: !opened } }}
      padding="md"
      transitionDuration={reduceMotion ? 0 : 200}
    >
      <AppShell.Header>
        <a href="#main" className="skip-link">
          {t("app.skip")}
        </a>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap" miw={0} style={{ flex: 1 }}>
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={t("app.menu")} />
            <Text fw={700} c="red.9" truncate miw={0}>
              {t("app.title")}
            </Text>
          </Group>
          <Group gap="sm" wrap="nowrap" style={{ flexShrink: 0 }}>
            <Text size="sm" c="dimmed" visibleFrom="md" truncate maw={280}>
              {me.data?.company.name}
            </Text>
            <LanguageSwitch />
            <UnstyledButton onClick={() => void logout()} fz="sm" c="red.9" fw={500}>
              {t("app.logout")}
            </UnstyledButton>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label={t("nav.label")} component="nav">
        <ScrollArea>
          {me.data?.user ? (
            <Text size="sm" px="sm" py="xs" c="dimmed" truncate>
              {me.data.user.full_name || me.data.user.login}
            </Text>
          ) : null}
          {SECTIONS.filter((s) => !s.permissions || s.permissions.some((p) => can(p))).map((section) => (
            <NavLink
              key={section.to}
              component={RouterLink}
              to={section.to}
              end={section.to === "/"}
              label={t(section.label)}
            />
          ))}
        </ScrollArea>
      </AppShell.Navbar>
      <AppShell.Main id="main" tabIndex={-1}>
        {me.error ? <ProblemAlert error={me.error} onRetry={() => void me.refetch()} /> : null}
        {me.isPending ? (
          <Loading />
        ) : (
          <Suspense fallback={<Loading />}>
            <Outlet />
          </Suspense>
        )}
      </AppShell.Main>
    </AppShell>
  );
}
