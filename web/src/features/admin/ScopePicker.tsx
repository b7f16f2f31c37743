// The scope of an assignment or an API key: the whole company, or one node of the
// hierarchy (and its subtree) picked from the tree.
import { Box, Radio, Stack, Text } from "@mantine/core";
import { useId } from "react";
import { useTranslation } from "react-i18next";
import { useHierarchy } from "../../lib/auth";
import { NodeTree } from "../hierarchy/NodeTree";

export function ScopePicker({
  value,
  onChange,
  error,
}: {
  /** null: the whole company. */
  value: string | null;
  onChange: (nodeId: string | null) => void;
  error?: string;
}) {
  const { t } = useTranslation();
  const tree = useHierarchy();
  const nodes = tree.data?.nodes ?? [];
  const mode = value === null ? "company" : "node";
  const setMode = (m: string) => onChange(m === "company" ? null : (nodes[0]?.id ?? null));
  const treeId = useId();
  const chosen = nodes.find((n) => n.id === value);
  return (
    <Stack gap="xs">
      <Radio.Group label={t("admin.scope")} value={mode} onChange={setMode} error={error}>
        <Stack gap={6} mt={4}>
          <Radio value="company" label={t("admin.wholeCompany")} />
          <Radio value="node" label={t("admin.oneNode")} disabled={nodes.length === 0} />
        </Stack>
      </Radio.Group>
      {value !== null ? (
        <Box role="group" aria-labelledby={treeId} style={{ maxHeight: 280, overflow: "auto" }}>
          <Text size="sm" id={treeId} fw={500}>
            {t("admin.pickNode")}
            {chosen ? `: ${chosen.name}` : ""}
          </Text>
          <NodeTree nodes={nodes} selected={value} onSelect={onChange} />
        </Box>
      ) : null}
    </Stack>
  );
}
