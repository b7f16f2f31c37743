// The numbers of a node's subtree: text search, a status filter, keyset pages of 50
// loaded one at a time with «Показать ещё» (never the whole list).
import { Anchor, Badge, Button, Checkbox, Group, Select, Stack, Table, Text, TextInput } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useInfiniteQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Loading } from "../../components/Loading";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, ok } from "../../lib/api";
import { formatMsisdn } from "../../lib/format";

const PAGE_SIZE = 50;
type Status = "active" | "blocked";

export function NumberList({
  nodeId,
  q,
  status,
  onFilter,
  selection,
}: {
  nodeId: string;
  q: string;
  status: Status | null;
  onFilter: (q: string, status: Status | null) => void;
  /** Checkboxes to choose numbers for a bulk operation (when the user may start one). */
  selection?: { selected: ReadonlySet<string>; onChange: (msisdns: string[], chosen: boolean) => void };
}) {
  const { t } = useTranslation();
  const [query] = useDebouncedValue(q.trim(), 300);
  const numbers = useInfiniteQuery({
    queryKey: ["numbers", nodeId, query, status],
    queryFn: ({ pageParam }) =>
      ok(
        api.GET("/api/v1/numbers", {
          params: {
            query: { node_id: nodeId, q: query, status, page_size: PAGE_SIZE, page_token: pageParam },
          },
        }),
      ),
    initialPageParam: "",
    getNextPageParam: (last) => last.next_page_token || undefined,
  });
  const items = numbers.data?.pages.flatMap((page) => page.items) ?? [];
  const chosenHere = selection ? items.filter((n) => selection.selected.has(n.msisdn)).length : 0;

  return (
    <Stack>
      <Group align="flex-end" wrap="wrap">
        <TextInput
          type="search"
          label={t("hierarchy.search")}
          placeholder={t("hierarchy.searchHint")}
          value={q}
          onChange={(e) => onFilter(e.currentTarget.value, status)}
          style={{ flex: "1 1 16rem" }}
        />
        <Select
          label={t("hierarchy.status")}
          value={status ?? ""}
          onChange={(value) => onFilter(q, value === "active" || value === "blocked" ? value : null)}
          allowDeselect={false}
          data={[
            { value: "", label: t("hierarchy.anyStatus") },
            { value: "active", label: t("numberStatus.active") },
            { value: "blocked", label: t("numberStatus.blocked") },
          ]}
          w={180}
        />
      </Group>
      {numbers.error ? <ProblemAlert error={numbers.error} onRetry={() => void numbers.refetch()} /> : null}
      {numbers.isPending ? <Loading /> : null}
      {numbers.data && items.length === 0 ? <Text c="dimmed">{t("hierarchy.empty")}</Text> : null}
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
                <Table.Tr key={number.msisdn}>
                  {selection ? (
                    <Table.Td>
                      <Checkbox
                        aria-label={t("hierarchy.selectNumber", { number: formatMsisdn(number.msisdn) })}
                        checked={selection.selected.has(number.msisdn)}
                        onChange={(e) => selection.onChange([number.msisdn], e.currentTarget.checked)}
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
