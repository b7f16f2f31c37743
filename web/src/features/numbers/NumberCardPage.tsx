// «Карточка номера»: tariff and its settings, services, blocks (a voluntary or lost/stolen
// block set and removed here, for users with numbers.blocks where the number is), account
// and balance; change of tariff, services, limits, forwarding and the number's notes
// (CardOperations); tariff settings, SIM and number replacement, the move to another
// account and the usage of a period (CardMore) — each for its own permission.
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  List,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
} from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { TFunction } from "i18next";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { Loading } from "../../components/Loading";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, ok, type Schemas } from "../../lib/api";
import { useCan } from "../../lib/auth";
import { formatDateTime, formatMoney, formatMsisdn } from "../../lib/format";
import { MoveToAccount, Replacement, TariffSettings, Usage } from "./CardMore";
import { Forwarding, Limits, Notes, Services, TariffChange } from "./CardOperations";

type Card = Schemas["NumberCardOut"];
/** The blocks a customer sets and removes; the others are the system's or the operator's. */
const CUSTOMER_BLOCKS = ["voluntary", "lost_stolen"] as const;
type CustomerBlock = (typeof CUSTOMER_BLOCKS)[number];
const isCustomerBlock = (type: string): type is CustomerBlock =>
  (CUSTOMER_BLOCKS as readonly string[]).includes(type);

export function NumberCardPage() {
  const { msisdn = "" } = useParams();
  const { t } = useTranslation();
  const card = useQuery({
    queryKey: ["number", msisdn],
    queryFn: () => ok(api.GET("/api/v1/numbers/{msisdn}", { params: { path: { msisdn } } })),
  });
  return (
    <Stack gap="lg">
      <Anchor component={Link} to="/hierarchy" size="sm">
        ← {t("number.back")}
      </Anchor>
      <Title order={1}>
        {t("number.title")}: <span style={{ whiteSpace: "nowrap" }}>{formatMsisdn(msisdn)}</span>
      </Title>
      {card.error ? <ProblemAlert error={card.error} onRetry={() => void card.refetch()} /> : null}
      {card.isPending ? <Loading /> : null}
      {card.data ? <CardBody card={card.data} /> : null}
    </Stack>
  );
}

/** A tariff setting's value as a person reads it: «да» / «нет», 300, «10gb». */
function settingValue(value: string, type: string | undefined, t: TFunction, locale: string): string {
  if (type === "bool" || value === "true" || value === "false") {
    return value === "true" ? t("number.yes") : value === "false" ? t("number.no") : value;
  }
  if (type === "int" && /^-?\d+$/.test(value)) return new Intl.NumberFormat(locale).format(Number(value));
  return value;
}

function CardBody({ card }: { card: Card }) {
  const { t, i18n } = useTranslation();
  const can = useCan();
  const settings = Object.entries(card.tariff.settings ?? {});
  // The titles and types of the settings come from the tariff's definition.
  const tariff = useQuery({
    queryKey: ["tariff", card.tariff.id],
    queryFn: () => ok(api.GET("/api/v1/tariffs/{tariff_id}", { params: { path: { tariff_id: card.tariff.id } } })),
    enabled: settings.length > 0,
    staleTime: 300_000,
  });
  const definitions = new Map((tariff.data?.settings ?? []).map((s) => [s.key, s]));
  return (
    <SimpleGrid cols={{ base: 1, md: 2 }}>
      <Card withBorder component="section" aria-labelledby="general-title">
        <Title order={2} size="h4" id="general-title" mb="xs">
          {t("number.tariff")}
        </Title>
        <Group mb="sm">
          <Text fw={600} data-testid="tariff">
            {card.tariff.name}
          </Text>
          <Badge color={card.status === "blocked" ? "red" : "green"} variant="light" data-testid="status">
            {t(`numberStatus.${card.status}` as "numberStatus.active", { defaultValue: card.status })}
          </Badge>
        </Group>
        <Title order={3} size="h6">
          {t("number.settings")}
        </Title>
        {settings.length === 0 ? (
          <Text c="dimmed" size="sm">
            {t("number.noSettings")}
          </Text>
        ) : (
          <Table>
            <Table.Tbody>
              {settings.map(([key, value]) => (
                <Table.Tr key={key}>
                  <Table.Th scope="row">{definitions.get(key)?.title ?? (tariff.isPending ? "" : key)}</Table.Th>
                  <Table.Td>{settingValue(String(value), definitions.get(key)?.type, t, i18n.language)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        <Table mt="sm">
          <Table.Tbody>
            <Table.Tr>
              <Table.Th scope="row">{t("number.iccid")}</Table.Th>
              <Table.Td>{card.iccid}</Table.Td>
            </Table.Tr>
            {card.label ? (
              <Table.Tr>
                <Table.Th scope="row">{t("number.label")}</Table.Th>
                <Table.Td>{card.label}</Table.Td>
              </Table.Tr>
            ) : null}
            {card.cost_center ? (
              <Table.Tr>
                <Table.Th scope="row">{t("number.costCenter")}</Table.Th>
                <Table.Td>{card.cost_center}</Table.Td>
              </Table.Tr>
            ) : null}
            {card.comment ? (
              <Table.Tr>
                <Table.Th scope="row">{t("number.comment")}</Table.Th>
                <Table.Td>{card.comment}</Table.Td>
              </Table.Tr>
            ) : null}
          </Table.Tbody>
        </Table>
      </Card>

      <Blocks card={card} />

      <Services card={card} allowed={can("numbers.services", card.node_id)} />

      <Card withBorder component="section" aria-labelledby="account-title">
        <Title order={2} size="h4" id="account-title" mb="xs">
          {t("number.account")}
        </Title>
        {card.account ? (
          <Stack gap={4}>
            <Text>{card.account.number}</Text>
            <Text size="xl" fw={700}>
              {t("number.balance")}: {formatMoney(card.account.balance, i18n.language)}
            </Text>
            <Text>
              {t("number.available")}: {formatMoney(card.account.available, i18n.language)}
            </Text>
          </Stack>
        ) : (
          <Text c="dimmed">{t("number.noAccount")}</Text>
        )}
      </Card>
      {can("numbers.tariff", card.node_id) ? <TariffChange card={card} /> : null}
      {can("numbers.tariff", card.node_id) ? <TariffSettings key={card.tariff.id} card={card} /> : null}
      <Limits card={card} allowed={can("numbers.limits", card.node_id)} />
      <Forwarding card={card} allowed={can("numbers.forwarding", card.node_id)} />
      {can("numbers.manage_notes", card.node_id) ? <Notes key={card.msisdn} card={card} /> : null}
      {can("numbers.sim", card.node_id) ? <Replacement card={card} /> : null}
      {can("finance.settings") ? <MoveToAccount card={card} /> : null}
      <Usage card={card} />
    </SimpleGrid>
  );
}

function Blocks({ card }: { card: Card }) {
  const { t, i18n } = useTranslation();
  const can = useCan();
  const client = useQueryClient();
  const allowed = can("numbers.blocks", card.node_id);
  const msisdn = card.msisdn;
  const done = (updated: Schemas["NumberOut"]) => {
    client.setQueryData<Card>(["number", msisdn], (old) => (old ? { ...old, ...updated } : old));
    void client.invalidateQueries({ queryKey: ["numbers"] });
    void client.invalidateQueries({ queryKey: ["hierarchy"] });
  };
  const set = useMutation({
    mutationFn: (type: CustomerBlock) =>
      ok(api.POST("/api/v1/numbers/{msisdn}/blocks", { params: { path: { msisdn } }, body: { type } })),
    onSuccess: done,
  });
  const remove = useMutation({
    mutationFn: (type: CustomerBlock) =>
      ok(api.DELETE("/api/v1/numbers/{msisdn}/blocks/{type}", { params: { path: { msisdn, type } } })),
    onSuccess: done,
  });
  const present = new Set(card.blocks.map((b) => b.type));
  const error = set.error ?? remove.error;
  const busy = set.isPending || remove.isPending;
  const blockName = (type: string) =>
    t(`blockType.${type}` as "blockType.voluntary", { defaultValue: type });

  return (
    <Card withBorder component="section" aria-labelledby="blocks-title">
      <Title order={2} size="h4" id="blocks-title" mb="xs">
        {t("number.blocks")}
      </Title>
      {error ? <ProblemAlert error={error} /> : null}
      {set.isSuccess || remove.isSuccess ? (
        <Alert color="green" variant="light" role="status" mb="xs">
          {set.isSuccess ? t("number.blockSet") : t("number.blockRemoved")}
        </Alert>
      ) : null}
      {card.blocks.length === 0 ? (
        <Text c="dimmed">{t("number.noBlocks")}</Text>
      ) : (
        <List spacing="xs" data-testid="blocks">
          {card.blocks.map((block) => (
            <List.Item key={block.type}>
              <Group gap="xs">
                <Text span fw={500}>
                  {blockName(block.type)}
                </Text>
                <Text span c="dimmed" size="sm">
                  {t("number.setAt", { at: formatDateTime(block.set_at, i18n.language) })}
                </Text>
                {allowed && isCustomerBlock(block.type) ? (
                  <Button
                    size="compact-sm"
                    variant="default"
                    disabled={busy}
                    aria-label={t("number.removeBlock", { type: blockName(block.type) })}
                    onClick={() => {
                      set.reset();
                      remove.mutate(block.type as CustomerBlock);
                    }}
                  >
                    {t("number.remove")}
                  </Button>
                ) : null}
              </Group>
            </List.Item>
          ))}
        </List>
      )}
      {allowed ? (
        <Group mt="md">
          {!present.has("voluntary") ? (
            <Button
              color="red"
              disabled={busy}
              loading={set.isPending && set.variables === "voluntary"}
              onClick={() => {
                remove.reset();
                set.mutate("voluntary");
              }}
            >
              {t("number.setVoluntary")}
            </Button>
          ) : null}
          {!present.has("lost_stolen") ? (
            <Button
              color="red"
              variant="outline"
              disabled={busy}
              loading={set.isPending && set.variables === "lost_stolen"}
              onClick={() => {
                remove.reset();
                set.mutate("lost_stolen");
              }}
            >
              {t("number.setLostStolen")}
            </Button>
          ) : null}
        </Group>
      ) : null}
    </Card>
  );
}
