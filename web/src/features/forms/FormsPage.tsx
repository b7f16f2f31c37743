// «Бланки заявлений»: the operator's application forms, downloaded prefilled with the
// company's details (or blank), fetched with the token and saved as files.
import { Button, Card, Group, Stack, Text, Title } from "@mantine/core";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Loading } from "../../components/Loading";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, download, ok, type Schemas } from "../../lib/api";

type Form = Schemas["FormOut"];

export function FormsPage() {
  const { t } = useTranslation();
  const forms = useQuery({
    queryKey: ["forms"],
    queryFn: () => ok(api.GET("/api/v1/forms", { params: { query: { page_size: 100 } } })),
    staleTime: 300_000,
  });
  const save = useMutation({
    mutationFn: ({ form, prefill }: { form: Form; prefill: boolean }) =>
      download(`${form.url}${form.url.includes("?") ? "&" : "?"}prefill=${prefill}`, form.file_name),
  });
  const items = forms.data?.items ?? [];
  return (
    <Stack gap="lg">
      <Title order={1}>{t("forms.title")}</Title>
      <Text>{t("forms.intro")}</Text>
      {forms.error ? <ProblemAlert error={forms.error} onRetry={() => void forms.refetch()} /> : null}
      {save.error ? <ProblemAlert error={save.error} /> : null}
      {forms.isPending ? <Loading /> : null}
      {forms.data && items.length === 0 ? <Text c="dimmed">{t("forms.empty")}</Text> : null}
      <Stack gap="sm" component="ul" p={0} m={0} style={{ listStyle: "none" }}>
        {items.map((form) => (
          <Card key={form.id} withBorder component="li" padding="sm">
            <Group justify="space-between" gap="sm">
              <Text fw={500} style={{ flex: "1 1 16rem" }}>
                {form.title}
              </Text>
              <Group gap="xs">
                <Button
                  size="compact-md"
                  aria-label={t("forms.prefilledOf", { title: form.title })}
                  loading={save.isPending && save.variables.form.id === form.id && save.variables.prefill}
                  onClick={() => save.mutate({ form, prefill: true })}
                >
                  {t("forms.prefilled")}
                </Button>
                <Button
                  size="compact-md"
                  variant="default"
                  aria-label={t("forms.blankOf", { title: form.title })}
                  loading={save.isPending && save.variables.form.id === form.id && !save.variables.prefill}
                  onClick={() => save.mutate({ form, prefill: false })}
                >
                  {t("forms.blank")}
                </Button>
              </Group>
            </Group>
          </Card>
        ))}
      </Stack>
    </Stack>
  );
}
