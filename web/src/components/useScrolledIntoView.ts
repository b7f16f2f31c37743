// A part of a screen that a button elsewhere opens (the form under a list) is brought into
// view when it appears, so that on a phone the press visibly does something. The element
// keeps clear of the shell's fixed header by its scroll margin (SCROLL_MARGIN).
import { useEffect, useRef } from "react";

/** The height of the shell's header and a little air. */
export const SCROLL_MARGIN = 72;

export function useScrolledIntoView<T extends HTMLElement>(ready = true) {
  const ref = useRef<T>(null);
  useEffect(() => {
    if (ready) ref.current?.scrollIntoView({ block: "start" });
  }, [ready]);
  return ref;
}
