import { Alert, Button } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { ProblemError } from "../lib/api";

/** An error as the gateway described it (problem+json `detail`), with a retry when given. */
export function ProblemAlert({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  const problem = error instanceof ProblemError ? error.problem : null;
  // The title in the user's language by the stable `code` (or its more precise `reason`,
  // where the console words it); the gateway's own `detail` below.
  const byCode = problem?.code
    ? t(`problem.${problem.code}` as "problem.not_found", { defaultValue: problem.title ?? t("app.error") })
    : (problem?.title ?? t("app.error"));
  const title = problem?.reason
    ? t(`problemReason.${problem.reason}` as "problemReason.cycle", { defaultValue: byCode })
    : byCode;
  const detail = problem?.detail ?? (error instanceof Error ? error.message : String(error));
  return (
    <Alert color="red" title={title} role="alert" variant="light">
      {detail}
      {problem?.errors?.length ? (
        <ul>
          {problem.errors.map((e, i) => (
            <li key={i}>{[e.field, e.message].filter(Boolean).join(": ")}</li>
          ))}
        </ul>
      ) : null}
      {onRetry ? (
        <Button mt="sm" size="xs" variant="default" onClick={onRetry}>
          {t("app.retry")}
        </Button>
      ) : null}
    </Alert>
  );
}
