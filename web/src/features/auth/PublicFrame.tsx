// The frame of the screens before login: the cabinet's name, the form, the language.
import { Center, Paper, Stack, Text } from "@mantine/core";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { LanguageSwitch } from "../settings/LanguageSwitch";

export function PublicFrame({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  return (
    <Center component="main" mih="100dvh" p="md" bg="gray.0">
      <Paper withBorder shadow="sm" p="xl" radius="md" w="100%" maw={440}>
        <Stack>
          <Text fw={700} c="red.8">
            {t("app.title")}
          </Text>
          {children}
          <LanguageSwitch />
        </Stack>
      </Paper>
    </Center>
  );
}
