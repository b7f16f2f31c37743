// A text field whose value lives in the address (a search, a filter). The address changes in
// a transition, after the keystroke, so a field bound to it directly lost or doubled what was
// typed fast. The field keeps its own text and writes it into the address once typing
// settles; an address changed from outside (back, a link) replaces the text.
import { useDebouncedValue } from "@mantine/hooks";
import { useEffect, useState } from "react";

const SETTLE_MS = 300;

export function useAddressText(inAddress: string, writeAddress: (text: string) => void) {
  const [text, setText] = useState(inAddress);
  const [settled] = useDebouncedValue(text, SETTLE_MS);
  const [seen, setSeen] = useState(inAddress);
  if (inAddress !== seen) {
    setSeen(inAddress);
    if (inAddress !== settled) setText(inAddress);
  }
  useEffect(() => {
    if (settled !== inAddress) writeAddress(settled);
    // Only a settled text is news; the address follows from it.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [settled]);
  return [text, setText] as const;
}
