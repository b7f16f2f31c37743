// The targets of a bulk operation or SMS: numbers (those chosen on «Иерархия», or typed one
// per line) or a node of the hierarchy with its whole subtree.
import { NativeSelect, Radio, Group, Stack, Textarea } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { useNodeOptions, type TargetsValue } from "./hooks";
import { splitNumbers } from "./model";

export function Targets({
  value,
  onChange,
  error,
}: {
  value: TargetsValue;
  onChange: (value: TargetsValue) => void;
  error?: string | undefined;
}) {
  const { t } = useTranslation();
  const nodes = useNodeOptions();
  const count = splitNumbers(value.numbers).length;
  return (
    <Stack gap="xs">
      <Radio.Group
        label={t("bulk.targets")}
        value={value.mode}
        onChange={(mode) => onChange({ ...value, mode: mode === "node" ? "node" : "numbers" })}
      >
        <Group mt={4}>
          <Radio value="numbers" label={t("bulk.byNumbers", { count })} />
          <Radio value="node" label={t("bulk.byNode")} />
        </Group>
      </Radio.Group>
      {value.mode === "numbers" ? (
        <Textarea
          label={t("bulk.numbers")}
          description={t("bulk.numbersHint")}
          autosize
          minRows={3}
          maxRows={10}
          value={value.numbers}
          onChange={(e) => onChange({ ...value, numbers: e.currentTarget.value })}
          error={error}
        />
      ) : (
        <NativeSelect
          label={t("bulk.node")}
          description={t("bulk.nodeHint")}
          value={value.nodeId}
          onChange={(e) => onChange({ ...value, nodeId: e.currentTarget.value })}
          data={[{ value: "", label: t("bulk.chooseNode") }, ...nodes]}
          error={error}
        />
      )}
    </Stack>
  );
}
