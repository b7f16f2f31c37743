// The form of one operation (the number card's tariff, services, limits, forwarding,
// notes, replacement, …): its fields, the gateway's problem when it is not about one of
// the fields (those show under their fields), the notice of what was done and the submit
// button. Every such form has this shape; only the fields, the texts and the request differ.
import { Alert, Button, Card, Stack, Title, type MantineSpacing } from "@mantine/core";
import type { FormEvent, ReactNode } from "react";
import { fieldError } from "../lib/api";
import { ProblemAlert } from "./ProblemAlert";

/** A green notice of a change that succeeded, read out by screen readers. */
export function Done({ text }: { text: string }) {
  return (
    <Alert color="green" variant="light" role="status">
      {text}
    </Alert>
  );
}

export function OperationForm({
  title,
  titleId,
  label,
  mt,
  error,
  fields = [],
  done,
  pending,
  submitLabel,
  variant,
  disabled,
  onSubmit,
  children,
}: {
  /** A form of its own: a card with this heading (the form is labelled by it, via `titleId`)… */
  title?: string;
  titleId?: string;
  /** …or a form inside a card that shows the current state: labelled by `label`, without a heading. */
  label?: string;
  /** The space above the fields of a form inside a card. */
  mt?: MantineSpacing;
  /** The request's error (or that of the last of several requests of the form). */
  error: unknown;
  /** The request's fields shown in the form: their errors are said under them, not in the alert. */
  fields?: readonly string[];
  /** What was done: a notice each (none where falsy). */
  done?: string | false | null | undefined | readonly (string | false | null | undefined)[];
  pending: boolean;
  submitLabel: string;
  variant?: "filled" | "outline";
  disabled?: boolean;
  /** Called on submit (the browser's own submit is prevented). */
  onSubmit: () => void;
  /** The fields. */
  children: ReactNode;
}) {
  const notices = (typeof done === "object" && done !== null ? done : [done]).filter((text): text is string => !!text);
  const body = (
    <>
      {children}
      {error && !fieldError(error, ...fields) ? <ProblemAlert error={error} /> : null}
      {notices.map((text, i) => (
        <Done key={i} text={text} />
      ))}
      <Button type="submit" variant={variant} loading={pending} disabled={disabled} style={{ alignSelf: "flex-start" }}>
        {submitLabel}
      </Button>
    </>
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit();
  };
  if (title !== undefined)
    return (
      <Card withBorder component="form" onSubmit={submit} noValidate aria-labelledby={titleId}>
        <Stack gap="sm">
          <Title order={2} size="h4" id={titleId}>
            {title}
          </Title>
          {body}
        </Stack>
      </Card>
    );
  return (
    <form onSubmit={submit} noValidate aria-label={label}>
      <Stack gap="sm" mt={mt}>
        {body}
      </Stack>
    </form>
  );
}
