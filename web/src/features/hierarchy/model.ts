/** Numbers per page of a node's list that the user may choose; the first is the default. */
export const PAGE_SIZES = [50, 100, 200, 500] as const;
