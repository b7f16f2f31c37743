// «Иерархия»: the tree, and the numbers of the chosen node (its whole subtree). The
// choice and the filters live in the address, so a link or a reload keeps them.
import { Button, Card, Grid, Group, Stack, Text, Title } from "@mantine/core";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate, useSearchParams } from "react-router";
import { Loading } from "../../components/Loading";
import { ProblemAlert } from "../../components/ProblemAlert";
import { useCan, useHierarchy } from "../../lib/auth";
import { BULK_PERMISSIONS } from "../operations/model";
import { NodeActions } from "./NodeEditor";
import { NodeTree } from "./NodeTree";
import { PAGE_SIZES } from "./model";
import { NumberList } from "./NumberList";

export function HierarchyPage() {
  const { t } = useTranslation();
  const tree = useHierarchy();
  const [params, setParams] = useSearchParams();
  const can = useCan();
  // A user scoped to a node sees that subtree (its top is a root of what they see).
  const nodes = (tree.data?.nodes ?? []).filter((n) => can("numbers.view", n.id));
  const ids = new Set(nodes.map((n) => n.id));
  const root = nodes.find((n) => !n.parent_id || !ids.has(n.parent_id));
  const selected = nodes.find((n) => n.id === params.get("node")) ?? root;
  const status = params.get("status");
  const size = PAGE_SIZES.find((n) => String(n) === params.get("size")) ?? PAGE_SIZES[0];
  const navigate = useNavigate();
  // Numbers chosen for a bulk operation; they stay chosen across nodes and filters.
  const [selection, setSelected] = useState<ReadonlySet<string>>(() => new Set());
  const bulk = BULK_PERMISSIONS.some((p) => can(p));
  const choose = (msisdns: string[], chosen: boolean) =>
    setSelected((current) => {
      const next = new Set(current);
      for (const m of msisdns) {
        if (chosen) next.add(m);
        else next.delete(m);
      }
      return next;
    });

  const update = (changes: Record<string, string | null>) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        for (const [key, value] of Object.entries(changes)) {
          if (value) next.set(key, value);
          else next.delete(key);
        }
        return next;
      },
      { replace: true },
    );

  return (
    <Stack gap="lg">
      <Title order={1}>{t("hierarchy.title")}</Title>
      {tree.error ? <ProblemAlert error={tree.error} onRetry={() => void tree.refetch()} /> : null}
      {tree.isPending ? <Loading /> : null}
      {selected ? (
        <Grid>
          <Grid.Col span={{ base: 12, md: 4 }}>
            <Card withBorder component="nav" aria-labelledby="tree-title">
              <Title order={2} size="h4" id="tree-title" mb="xs">
                {t("hierarchy.tree")}
              </Title>
              <NodeActions node={selected} nodes={nodes} onSelect={(id) => update({ node: id })} />
              <NodeTree nodes={nodes} selected={selected.id} onSelect={(id) => update({ node: id })} />
            </Card>
          </Grid.Col>
          <Grid.Col span={{ base: 12, md: 8 }}>
            <Card withBorder component="section" aria-labelledby="numbers-title">
              <Title order={2} size="h4" id="numbers-title" mb="xs">
                {t("hierarchy.numbersOf", { node: selected.name })}
              </Title>
              {bulk ? (
                <Group gap="xs" mb="sm" data-testid="selection">
                  <Text size="sm" aria-live="polite" style={{ flex: "1 1 10rem" }}>
                    {t("hierarchy.selected", { count: selection.size })}
                  </Text>
                  <Button
                    size="sm"
                    disabled={selection.size === 0}
                    onClick={() => void navigate("/operations", { state: { msisdns: [...selection] } })}
                  >
                    {t("hierarchy.bulk")}
                  </Button>
                  {selection.size > 0 ? (
                    <Button size="sm" variant="default" onClick={() => setSelected(new Set())}>
                      {t("hierarchy.clearSelection")}
                    </Button>
                  ) : null}
                  <Button
                    size="sm"
                    variant="outline"
                    onClick={() => void navigate(`/operations?node=${encodeURIComponent(selected.id)}`)}
                  >
                    {t("hierarchy.bulkNode")}
                  </Button>
                </Group>
              ) : null}
              <NumberList
                nodeId={selected.id}
                q={params.get("q") ?? ""}
                status={status === "active" || status === "blocked" ? status : null}
                onFilter={(q, s) => update({ q, status: s })}
                pageSize={size}
                onPageSize={(n) => update({ size: n === PAGE_SIZES[0] ? null : String(n) })}
                selection={bulk ? { selected: selection, onChange: choose } : undefined}
              />
            </Card>
          </Grid.Col>
        </Grid>
      ) : null}
    </Stack>
  );
}
