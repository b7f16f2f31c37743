// A new password typed twice, as registration, password reset and «Мои настройки» ask it:
// the hint under the first, the mismatch under the repeat.
import { PasswordInput } from "@mantine/core";
import { useTranslation } from "react-i18next";

export function NewPasswordFields({
  password,
  onPassword,
  repeat,
  onRepeat,
  error,
  mismatch,
  required = false,
}: {
  password: string;
  onPassword: (text: string) => void;
  repeat: string;
  onRepeat: (text: string) => void;
  /** Said under the new password (missing, or the gateway's field error). */
  error?: string;
  /** The repeat differs from the password. */
  mismatch: boolean;
  required?: boolean;
}) {
  const { t } = useTranslation();
  return (
    <>
      <PasswordInput
        label={t("settings.newPassword")}
        description={t("admin.passwordHint")}
        autoComplete="new-password"
        value={password}
        onChange={(e) => onPassword(e.currentTarget.value)}
        error={error}
        required={required}
      />
      <PasswordInput
        label={t("settings.repeatPassword")}
        autoComplete="new-password"
        value={repeat}
        onChange={(e) => onRepeat(e.currentTarget.value)}
        error={mismatch ? t("settings.mismatch") : undefined}
        required={required}
      />
    </>
  );
}
