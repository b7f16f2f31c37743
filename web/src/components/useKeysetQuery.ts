// A list the gateway gives in keyset pages: the first page with an empty token, each next
// one with the token the page before it gave; an empty token means there are no more.
import { useInfiniteQuery, type QueryKey } from "@tanstack/react-query";

export function useKeysetQuery<Page extends { next_page_token?: string | null }>(
  queryKey: QueryKey,
  fetchPage: (pageToken: string) => Promise<Page>,
) {
  return useInfiniteQuery({
    queryKey,
    queryFn: ({ pageParam }) => fetchPage(pageParam),
    initialPageParam: "",
    getNextPageParam: (last) => last.next_page_token || undefined,
  });
}
