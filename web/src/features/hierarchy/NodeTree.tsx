// The company's hierarchy as a tree of nested lists; choosing a node shows its numbers.
import { Badge, Box, Group, UnstyledButton } from "@mantine/core";
import { useTranslation } from "react-i18next";
import type { Node } from "../../lib/auth";
import classes from "./NodeTree.module.css";

export function NodeTree({
  nodes,
  selected,
  onSelect,
}: {
  nodes: readonly Node[];
  selected: string | null;
  onSelect: (id: string) => void;
}) {
  const children = new Map<string | null, Node[]>();
  const ids = new Set(nodes.map((n) => n.id));
  for (const node of nodes) {
    // A node whose parent the user may not see is a root of what they see.
    const parent = node.parent_id && ids.has(node.parent_id) ? node.parent_id : null;
    children.set(parent, [...(children.get(parent) ?? []), node]);
  }
  return (
    <Branch nodes={children.get(null) ?? []} all={children} selected={selected} onSelect={onSelect} />
  );
}

function Branch({
  nodes,
  all,
  selected,
  onSelect,
}: {
  nodes: Node[];
  all: Map<string | null, Node[]>;
  selected: string | null;
  onSelect: (id: string) => void;
}) {
  const { t } = useTranslation();
  return (
    <ul className={classes.list}>
      {nodes.map((node) => (
        <li key={node.id}>
          <UnstyledButton
            className={classes.node}
            aria-current={node.id === selected ? "true" : undefined}
            onClick={() => onSelect(node.id)}
          >
            <Group justify="space-between" wrap="nowrap" gap="xs">
              <Box component="span">{node.name}</Box>
              <Badge variant="light" color="gray" aria-label={t("hierarchy.count", { count: node.number_count })}>
                {node.number_count}
              </Badge>
            </Group>
          </UnstyledButton>
          {all.get(node.id)?.length ? (
            <Branch nodes={all.get(node.id) ?? []} all={all} selected={selected} onSelect={onSelect} />
          ) : null}
        </li>
      ))}
    </ul>
  );
}
