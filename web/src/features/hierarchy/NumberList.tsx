// The numbers of a node's subtree: text search, a status filter, keyset pages (50 numbers
// unless chosen otherwise) loaded one at a time with «Показать ещё» (never the whole list).
// At most MAX_SHOWN numbers stay on the screen: paging on drops the earliest pages,
// «Показать предыдущие» brings them back.
import { Anchor, Badge, Button, Checkbox, Group, NativeSelect, Select, Stack, Table, Text, TextInput } from "@mantine/core";
import { useInfiniteQuery } from "@tanstack/react-query";
import { memo } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Loading } from "../../components/Loading";
import { ProblemAlert } from "../../components/ProblemAlert";
import { useAddressText } from "../../lib/addressText";
import { api, ok, type Schemas } from "../../lib/api";
import { formatMsisdn } from "../../lib/format";
import { PAGE_SIZES } from "./model";

const MAX_SHOWN = 1000;
type Status = "active" | "blocked";
/** A keyset page: its token, its place in the list and the page before it (to go back). */
interface PageParam {
  token: string;
  index: number;
  previous: PageParam | null;
}
const FIRST_PAGE: PageParam = { token: "", index: 0, previous: null };

export function NumberList({
  nodeId,
  q,
  status,
  onFilter,
  pageSize = PAGE_SIZES[0],
  onPageSize,
  selection,
}: {
  nodeId: string;
  q: string;
  status: Status | null;
  onFilter: (q: string, status: Status | null) => void;
  pageSize?: number;
  onPageSize?: (size: number) => void;
  /** Checkboxes to choose numbers for a bulk operation (when the user may start one). */
  selection?: { selected: ReadonlySet<string>; onChange: (msisdns: string[], chosen: boolean) => void };
}) {
  const { t } = useTranslation();
  const [text, setText] = useAddressText(q, (settled) => onFilter(settled, status));
  const query = q.trim();
  const numbers = useInfiniteQuery({
    queryKey: ["numbers", nodeId, query, status, pageSize],
    queryFn: ({ pageParam }) =>
      ok(
        api.GET("/api/v1/numbers", {
          params: {
            query: { node_id: nodeId, q: query, status, page_size: pageSize, page_token: pageParam.token },
          },
        }),
      ),
    initialPageParam: FIRST_PAGE,
    getNextPageParam: (last, _pages, param): PageParam | undefined =>
      last.next_page_token ? { token: last.next_page_token, index: param.index + 1, previous: param } : undefined,
    getPreviousPageParam: (_first, _pages, param) => param.previous ?? undefined,
    maxPages: Math.max(2, Math.floor(MAX_SHOWN / pageSize)),
  });
  const items = numbers.data?.pages.flatMap((page) => page.items) ?? [];
  const firstShown = ((numbers.data?.pageParams[0] as PageParam | undefined)?.index ?? 0) * pageSize;
  const chosenHere = selection ? items.filter((n) => selection.selected.has(n.msisdn)).length : 0;

  return (
    <Stack>
      <Group align="flex-end" wrap="wrap">
        <TextInput
          type="search"
          label={t("hierarchy.search")}
          placeholder={t("hierarchy.searchHint")}
          value={text}
          onChange={(e) => setText(e.currentTarget.value)}
          style={{ flex: "1 1 16rem" }}
        />
        <Select
          label={t("hierarchy.status")}
          value={status ?? ""}
          onChange={(value) => onFilter(text, value === "active" || value === "blocked" ? value : null)}
          allowDeselect={false}
          data={[
            { value: "", label: t("hierarchy.anyStatus") },
            { value: "active", label: t("numberStatus.active") },
            { value: "blocked", label: t("numberStatus.blocked") },
          ]}
          w={180}
        />
        {onPageSize ? (
          <NativeSelect
            label={t("hierarchy.pageSize")}
            value={String(pageSize)}
            onChange={(e) => onPageSize(Number(e.currentTarget.value))}
            data={PAGE_SIZES.map(String)}
            w={200}
          />
        ) : null}
      </Group>
      {numbers.error ? <ProblemAlert error={numbers.error} onRetry={() => void numbers.refetch()} /> : null}
      {numbers.isPending ? <Loading /> : null}
      {numbers.data && items.length === 0 ? <Text c="dimmed">{t("hierarchy.empty")}</Text> : null}
      {numbers.hasPreviousPage ? (
        <Group justify="space-between" wrap="wrap" gap="xs">
          <Text size="sm" aria-live="polite">
            {t("hierarchy.shown", { from: firstShown + 1, to: firstShown + items.length })}
          </Text>
          <Button
            variant="default"
            size="sm"
            onClick={() => void numbers.fetchPreviousPage()}
            loading={numbers.isFetchingPreviousPage}
          >
            {t("hierarchy.previous")}
          </Button>
        </Group>
      ) : null}
      {items.length > 0 ? (
        <Table.ScrollContainer minWidth={320}>
          <Table striped highlightOnHover aria-label={t("hierarchy.numbers")}>
            <Table.Thead>
              <Table.Tr>
                {selection ? (
                  <Table.Th w={40}>
                    <Checkbox
                      aria-label={t("hierarchy.selectPage")}
                      checked={chosenHere === items.length}
                      indeterminate={chosenHere > 0 && chosenHere < items.length}
                      onChange={(e) =>
                        selection.onChange(
                          items.map((n) => n.msisdn),
                          e.currentTarget.checked,
                        )
                      }
                    />
                  </Table.Th>
                ) : null}
                <Table.Th>{t("hierarchy.number")}</Table.Th>
                <Table.Th>{t("hierarchy.status")}</Table.Th>
                <Table.Th visibleFrom="sm">{t("hierarchy.tariff")}</Table.Th>
                <Table.Th visibleFrom="sm">{t("hierarchy.label")}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((number) => (
                <NumberRow
                  key={number.msisdn}
                  number={number}
                  chosen={selection ? selection.selected.has(number.msisdn) : null}
                  onChoose={selection?.onChange}
                />
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      ) : null}
      {numbers.hasNextPage ? (
        <Button
          variant="default"
          onClick={() => void numbers.fetchNextPage()}
          loading={numbers.isFetchingNextPage}
          style={{ alignSelf: "center" }}
        >
          {t("hierarchy.more")}
        </Button>
      ) : null}
    </Stack>
  );
}

/** One number of the list; a page more re-renders only its own rows, not those above. */
const NumberRow = memo(function NumberRow({
  number,
  chosen,
  onChoose,
}: {
  number: Schemas["NumberOut"];
  /** null: no checkbox (the user may start no bulk operation). */
  chosen: boolean | null;
  onChoose?: (msisdns: string[], chosen: boolean) => void;
}) {
  const { t } = useTranslation();
  return (
    <Table.Tr>
      {chosen !== null ? (
        <Table.Td>
          <Checkbox
            aria-label={t("hierarchy.selectNumber", { number: formatMsisdn(number.msisdn) })}
            checked={chosen}
            onChange={(e) => onChoose?.([number.msisdn], e.currentTarget.checked)}
          />
        </Table.Td>
      ) : null}
      <Table.Td>
        <Anchor component={Link} to={`/numbers/${number.msisdn}`} style={{ whiteSpace: "nowrap" }}>
          {formatMsisdn(number.msisdn)}
        </Anchor>
      </Table.Td>
      <Table.Td>
        <Badge color={number.status === "blocked" ? "red" : "green"} variant="light">
          {t(`numberStatus.${number.status}` as "numberStatus.active", { defaultValue: number.status })}
        </Badge>
      </Table.Td>
      <Table.Td visibleFrom="sm">{number.tariff.name}</Table.Td>
      <Table.Td visibleFrom="sm">{number.label}</Table.Td>
    </Table.Tr>
  );
});
