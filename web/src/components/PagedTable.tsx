// A list as a table, the same everywhere: the error with a retry, the loader, the text
// when there is nothing, the table (scrolled sideways on a phone) and «Показать ещё» while
// the gateway gives a next keyset page. It takes the list's query as it is: a
// useKeysetQuery (pages) or a plain useQuery of one page ({ items }).
import { Button, Table, Text } from "@mantine/core";
import { Fragment, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Loading } from "./Loading";
import { ProblemAlert } from "./ProblemAlert";

/** What the table reads of a list's query (a useInfiniteQuery or a useQuery result). */
export interface ListQuery<Row> {
  data?: { pages: readonly { items: readonly Row[] }[] } | { items: readonly Row[] };
  error: unknown;
  isPending: boolean;
  refetch: () => unknown;
  hasNextPage?: boolean;
  isFetchingNextPage?: boolean;
  fetchNextPage?: () => unknown;
}

/** The rows of a list's query: all the pages loaded, in order. */
function listRows<Row>(data: ListQuery<Row>["data"]): readonly Row[] {
  if (!data) return [];
  return "pages" in data ? data.pages.flatMap((page) => page.items) : data.items;
}

export function PagedTable<Row>({
  query,
  label,
  head,
  row,
  rowKey,
  empty,
  minWidth,
  keyboardScroll = false,
  striped = false,
  actionError,
}: {
  query: ListQuery<Row>;
  /** The table's accessible name. */
  label: string;
  /** The header cells (Table.Th). */
  head: ReactNode;
  /** One row (a Table.Tr). */
  row: (item: Row, index: number) => ReactNode;
  rowKey: (item: Row, index: number) => string;
  /** Said when the list is loaded and has nothing; nothing said when not given. */
  empty?: string;
  /** Below this width the table scrolls sideways. */
  minWidth: number;
  /** The sideways scroll area is reachable from the keyboard (a tab stop named by `label`). */
  keyboardScroll?: boolean;
  striped?: boolean;
  /** The error of an action on the rows (revoke, delete…), said under the list's own. */
  actionError?: unknown;
}) {
  const { t } = useTranslation();
  const rows = listRows(query.data);
  return (
    <>
      {query.error ? <ProblemAlert error={query.error} onRetry={() => void query.refetch()} /> : null}
      {actionError ? <ProblemAlert error={actionError} /> : null}
      {query.isPending ? <Loading /> : null}
      {empty !== undefined && query.data && rows.length === 0 ? <Text c="dimmed">{empty}</Text> : null}
      {rows.length > 0 ? (
        <Table.ScrollContainer
          minWidth={minWidth}
          scrollAreaProps={keyboardScroll ? { viewportProps: { tabIndex: 0, "aria-label": label } } : undefined}
        >
          <Table striped={striped} aria-label={label}>
            <Table.Thead>
              <Table.Tr>{head}</Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((item, index) => (
                <Fragment key={rowKey(item, index)}>{row(item, index)}</Fragment>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      ) : null}
      {query.hasNextPage ? (
        <Button
          variant="default"
          onClick={() => void query.fetchNextPage?.()}
          loading={query.isFetchingNextPage}
          style={{ alignSelf: "flex-start" }}
        >
          {t("hierarchy.more")}
        </Button>
      ) : null}
    </>
  );
}
