// The second step of «Регистрация» and «Забыли пароль?»: the code(s) that came by SMS or
// e-mail and a new password typed twice. Both screens ask the same way (required fields,
// the repeat must match, the gateway's field errors under their fields); only the codes,
// the password's field name in the request and the texts differ.
import { Alert, Button, Stack, TextInput, Title } from "@mantine/core";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { fieldError } from "../lib/api";
import { NewPasswordFields } from "./NewPasswordFields";
import { ProblemAlert } from "./ProblemAlert";

/** One code to type: its field in the request (for the gateway's errors) and its label. */
export interface CodeField<Name extends string> {
  name: Name;
  label: string;
  /** "one-time-code" where the browser may offer the code from an SMS. */
  autoComplete?: string;
}

export function CodeAndPasswordStep<Name extends string>({
  titleId,
  title,
  notice,
  codes,
  passwordField,
  submitLabel,
  error,
  pending,
  onSubmit,
}: {
  /** The heading's id; the form is labelled by it. */
  titleId: string;
  title: string;
  /** Said above the form: where the codes were sent. */
  notice: string;
  codes: readonly CodeField<Name>[];
  /** The new password's field in the request ("password", "new_password"): its errors go under it. */
  passwordField: string;
  submitLabel: string;
  /** The confirming request's error and whether it is under way. */
  error: unknown;
  pending: boolean;
  /** Called with the trimmed codes by name and the password, once all are given and the repeat matches. */
  onSubmit: (codes: Record<Name, string>, password: string) => void;
}) {
  const { t } = useTranslation();
  const [values, setValues] = useState<Partial<Record<Name, string>>>({});
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [problem, setProblem] = useState<"required" | "mismatch" | null>(null);
  const value = (name: Name) => values[name] ?? "";
  const required = (text: string) => (problem === "required" && !text.trim() ? t("bulk.required") : undefined);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (codes.some((c) => !value(c.name).trim()) || !password) return setProblem("required");
    if (password !== repeat) return setProblem("mismatch");
    setProblem(null);
    const trimmed = Object.fromEntries(codes.map((c) => [c.name, value(c.name).trim()])) as Record<Name, string>;
    onSubmit(trimmed, password);
  };
  return (
    <form onSubmit={submit} noValidate aria-labelledby={titleId}>
      <Stack>
        <Title order={1} size="h2" id={titleId}>
          {title}
        </Title>
        <Alert color="green" variant="light" role="status">
          {notice}
        </Alert>
        {error && !fieldError(error, ...codes.map((c) => c.name), passwordField) ? <ProblemAlert error={error} /> : null}
        {codes.map((code) => (
          <TextInput
            key={code.name}
            label={code.label}
            inputMode="numeric"
            autoComplete={code.autoComplete}
            value={value(code.name)}
            onChange={(e) => {
              const text = e.currentTarget.value;
              setValues((v) => ({ ...v, [code.name]: text }));
            }}
            error={required(value(code.name)) ?? fieldError(error, code.name)}
            required
          />
        ))}
        <NewPasswordFields
          password={password}
          onPassword={setPassword}
          repeat={repeat}
          onRepeat={setRepeat}
          error={required(password) ?? fieldError(error, passwordField)}
          mismatch={problem === "mismatch"}
          required
        />
        <Button type="submit" loading={pending}>
          {submitLabel}
        </Button>
      </Stack>
    </form>
  );
}
