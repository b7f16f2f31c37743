// «Управление»: users and their roles with scopes, roles with permission checkboxes
// («Своя роль»), API keys, webhooks, automation rules, the audit log — each tab for the
// permission it needs (users.manage, roles.manage, api_keys.manage, webhooks.manage,
// automation.manage, audit.view). Webhooks and rules are chunks of their own, loaded when
// their tab is opened.
import { Stack, Tabs, Text, Title } from "@mantine/core";
import { lazy, Suspense, type ComponentType } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { Loading } from "../../components/Loading";
import { useCan, type Permission } from "../../lib/auth";
import { ApiKeys } from "./ApiKeys";
import { Audit } from "./Audit";
import { Roles } from "./Roles";
import { Users } from "./Users";

const Webhooks = lazy(() => import("../webhooks/Webhooks").then((m) => ({ default: m.Webhooks })));
const AutomationRules = lazy(() =>
  import("../automation/AutomationRules").then((m) => ({ default: m.AutomationRules })),
);

const TABS = [
  { id: "users", label: "admin.users", permission: "users.manage", body: Users },
  { id: "roles", label: "admin.rolesTitle", permission: "roles.manage", body: Roles },
  { id: "keys", label: "admin.apiKeys", permission: "api_keys.manage", body: ApiKeys },
  { id: "webhooks", label: "admin.webhooks", permission: "webhooks.manage", body: Webhooks },
  { id: "automation", label: "admin.automation", permission: "automation.manage", body: AutomationRules },
  { id: "audit", label: "admin.audit", permission: "audit.view", body: Audit },
] as const satisfies readonly { id: string; label: string; permission: Permission; body: ComponentType }[];

export function AdminPage() {
  const { t } = useTranslation();
  const can = useCan();
  const [params, setParams] = useSearchParams();
  const tabs = TABS.filter((tab) => can(tab.permission));
  const current = tabs.find((tab) => tab.id === params.get("tab")) ?? tabs[0];
  return (
    <Stack gap="lg">
      <Title order={1}>{t("admin.title")}</Title>
      {current ? (
        <Tabs value={current.id} onChange={(value) => value && setParams({ tab: value }, { replace: true })} keepMounted={false}>
          <Tabs.List mb="md">
            {tabs.map((tab) => (
              <Tabs.Tab key={tab.id} value={tab.id}>
                {t(tab.label)}
              </Tabs.Tab>
            ))}
          </Tabs.List>
          {tabs.map((tab) => (
            <Tabs.Panel key={tab.id} value={tab.id}>
              <Suspense fallback={<Loading />}>
                <tab.body />
              </Suspense>
            </Tabs.Panel>
          ))}
        </Tabs>
      ) : (
        <Text>{t("admin.notAllowed")}</Text>
      )}
    </Stack>
  );
}
