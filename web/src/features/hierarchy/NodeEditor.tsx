// Changing the hierarchy (hierarchy.manage at the node): a new node under the chosen one,
// rename (and its kind), move under another parent, delete. Each in a dialog; a refusal
// shows the gateway's problem+json, field errors next to their fields.
import { Box, Button, Group, Modal, NativeSelect, Stack, Text, TextInput } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { ProblemAlert } from "../../components/ProblemAlert";
import { api, fieldError, idempotencyKey, ok } from "../../lib/api";
import { useCan, type Node } from "../../lib/auth";
import { NodeTree } from "./NodeTree";

/** The kinds a person may give a node (the root is the company itself). */
const NODE_KINDS = ["region", "city", "branch", "department", "group"] as const;
type Kind = (typeof NODE_KINDS)[number];
type Dialog = "create" | "rename" | "move" | "delete";

/** The buttons for the chosen node, each opening its dialog; none without hierarchy.manage. */
export function NodeActions({
  node,
  nodes,
  onSelect,
}: {
  node: Node;
  nodes: readonly Node[];
  onSelect: (id: string) => void;
}) {
  const { t } = useTranslation();
  const can = useCan();
  const [dialog, setDialog] = useState<Dialog | null>(null);
  if (!can("hierarchy.manage", node.id)) return null;
  const isRoot = !node.parent_id;
  const close = () => setDialog(null);
  const name = node.name;
  const titles: Record<Dialog, string> = {
    create: t("hierarchyEdit.createTitle", { name }),
    rename: t("hierarchyEdit.renameTitle", { name }),
    move: t("hierarchyEdit.moveTitle", { name }),
    delete: t("hierarchyEdit.deleteTitle", { name }),
  };
  return (
    <>
      <Group gap={6} mb="sm" role="group" aria-label={t("hierarchyEdit.actions", { name })} data-testid="node-actions">
        <Button size="compact-sm" aria-label={t("hierarchyEdit.addTo", { name })} onClick={() => setDialog("create")}>
          {t("hierarchyEdit.add")}
        </Button>
        <Button size="compact-sm" variant="default" aria-label={t("hierarchyEdit.renameNode", { name })} onClick={() => setDialog("rename")}>
          {t("hierarchyEdit.rename")}
        </Button>
        {isRoot ? null : (
          <>
            <Button size="compact-sm" variant="default" aria-label={t("hierarchyEdit.moveNode", { name })} onClick={() => setDialog("move")}>
              {t("hierarchyEdit.move")}
            </Button>
            <Button size="compact-sm" variant="outline" aria-label={t("hierarchyEdit.deleteNode", { name })} onClick={() => setDialog("delete")}>
              {t("hierarchyEdit.delete")}
            </Button>
          </>
        )}
      </Group>
      <Modal
        opened={dialog !== null}
        onClose={close}
        title={dialog ? titles[dialog] : ""}
        closeButtonProps={{ "aria-label": t("hierarchyEdit.close") }}
        centered
      >
        {dialog === "create" ? (
          <CreateNode
            parent={node}
            onDone={(created) => {
              close();
              onSelect(created.id);
            }}
            onCancel={close}
          />
        ) : null}
        {dialog === "rename" ? <RenameNode node={node} onDone={close} onCancel={close} /> : null}
        {dialog === "move" ? <MoveNode node={node} nodes={nodes} onDone={close} onCancel={close} /> : null}
        {dialog === "delete" ? (
          <DeleteNode
            node={node}
            nodes={nodes}
            onDone={() => {
              close();
              onSelect(node.parent_id ?? "");
            }}
            onCancel={close}
          />
        ) : null}
      </Modal>
    </>
  );
}

/** The tree (and the numbers, whose nodes may have changed) read again after a change. */
function useRefresh() {
  const client = useQueryClient();
  return () =>
    Promise.all([
      client.invalidateQueries({ queryKey: ["hierarchy"] }),
      client.invalidateQueries({ queryKey: ["numbers"] }),
    ]);
}

function DialogForm({
  onSubmit,
  onCancel,
  submit,
  pending,
  children,
}: {
  onSubmit: () => void;
  onCancel: () => void;
  submit: string;
  pending: boolean;
  children: ReactNode;
}) {
  const { t } = useTranslation();
  const handle = (event: FormEvent) => {
    event.preventDefault();
    onSubmit();
  };
  return (
    <form onSubmit={handle} noValidate>
      <Stack gap="sm">
        {children}
        <Group justify="flex-end" gap="xs" mt="xs">
          <Button variant="default" onClick={onCancel}>
            {t("hierarchyEdit.cancel")}
          </Button>
          <Button type="submit" loading={pending}>
            {submit}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function KindSelect({ value, onChange, error }: { value: string; onChange: (kind: Kind) => void; error?: string }) {
  const { t } = useTranslation();
  return (
    <NativeSelect
      label={t("hierarchyEdit.kind")}
      value={value}
      onChange={(e) => onChange(e.currentTarget.value as Kind)}
      data={NODE_KINDS.map((kind) => ({ value: kind, label: t(`nodeKind.${kind}`) }))}
      error={error}
      required
    />
  );
}

function CreateNode({ parent, onDone, onCancel }: { parent: Node; onDone: (node: Node) => void; onCancel: () => void }) {
  const { t } = useTranslation();
  const refresh = useRefresh();
  const [name, setName] = useState("");
  const [kind, setKind] = useState<Kind>("department");
  const [missing, setMissing] = useState(false);
  const create = useMutation({
    mutationFn: () =>
      ok(
        api.POST("/api/v1/hierarchy/nodes", {
          params: { header: { "Idempotency-Key": idempotencyKey() } },
          body: { parent_id: parent.id, name: name.trim(), kind },
        }),
      ),
    onSuccess: async (node) => {
      await refresh();
      onDone(node);
    },
  });
  const submit = () => {
    setMissing(!name.trim());
    if (name.trim()) create.mutate();
  };
  return (
    <DialogForm onSubmit={submit} onCancel={onCancel} submit={t("hierarchyEdit.create")} pending={create.isPending}>
      <TextInput
        label={t("hierarchyEdit.name")}
        placeholder={t("hierarchyEdit.nameHint")}
        value={name}
        onChange={(e) => setName(e.currentTarget.value)}
        error={missing ? t("bulk.required") : fieldError(create.error, "name")}
        required
        data-autofocus
      />
      <KindSelect value={kind} onChange={setKind} error={fieldError(create.error, "kind")} />
      {create.error && !fieldError(create.error, "name", "kind") ? <ProblemAlert error={create.error} /> : null}
    </DialogForm>
  );
}

function RenameNode({ node, onDone, onCancel }: { node: Node; onDone: () => void; onCancel: () => void }) {
  const { t } = useTranslation();
  const refresh = useRefresh();
  const isRoot = !node.parent_id;
  const [name, setName] = useState(node.name);
  const [kind, setKind] = useState(node.kind);
  const [missing, setMissing] = useState(false);
  const rename = useMutation({
    mutationFn: () =>
      ok(
        api.PATCH("/api/v1/hierarchy/nodes/{node_id}", {
          params: { path: { node_id: node.id } },
          body: isRoot ? { name: name.trim() } : { name: name.trim(), kind: kind as Kind },
        }),
      ),
    onSuccess: async () => {
      await refresh();
      onDone();
    },
  });
  const submit = () => {
    setMissing(!name.trim());
    if (name.trim()) rename.mutate();
  };
  return (
    <DialogForm onSubmit={submit} onCancel={onCancel} submit={t("hierarchyEdit.save")} pending={rename.isPending}>
      <TextInput
        label={t("hierarchyEdit.name")}
        value={name}
        onChange={(e) => setName(e.currentTarget.value)}
        error={missing ? t("bulk.required") : fieldError(rename.error, "name")}
        required
        data-autofocus
      />
      {isRoot ? null : <KindSelect value={kind} onChange={setKind} error={fieldError(rename.error, "kind")} />}
      {rename.error && !fieldError(rename.error, "name", "kind") ? <ProblemAlert error={rename.error} /> : null}
    </DialogForm>
  );
}

function MoveNode({
  node,
  nodes,
  onDone,
  onCancel,
}: {
  node: Node;
  nodes: readonly Node[];
  onDone: () => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const can = useCan();
  const refresh = useRefresh();
  const treeId = useId();
  // Where the user may put it: nodes they manage. The node's own subtree stays in the
  // list: the gateway refuses a move there and says why.
  const targets = nodes.filter((n) => can("hierarchy.manage", n.id));
  const [parent, setParent] = useState<string | null>(null);
  const [missing, setMissing] = useState(false);
  const move = useMutation({
    mutationFn: (parent_id: string) =>
      ok(api.PATCH("/api/v1/hierarchy/nodes/{node_id}", { params: { path: { node_id: node.id } }, body: { parent_id } })),
    onSuccess: async () => {
      await refresh();
      onDone();
    },
  });
  const chosen = nodes.find((n) => n.id === parent);
  const current = nodes.find((n) => n.id === node.parent_id);
  const submit = () => {
    setMissing(!parent);
    if (parent) move.mutate(parent);
  };
  return (
    <DialogForm onSubmit={submit} onCancel={onCancel} submit={t("hierarchyEdit.moveSubmit")} pending={move.isPending}>
      {current ? (
        <Text size="sm">{t("hierarchyEdit.currentParent", { name: current.name })}</Text>
      ) : null}
      <Box role="group" aria-labelledby={treeId} style={{ maxHeight: 320, overflow: "auto" }}>
        <Text size="sm" id={treeId} fw={500}>
          {t("hierarchyEdit.newParent")}
          {chosen ? `: ${chosen.name}` : ""}
        </Text>
        <NodeTree
          nodes={targets}
          selected={parent}
          onSelect={(id) => {
            setParent(id);
            setMissing(false);
          }}
        />
      </Box>
      {missing ? (
        <Text size="sm" c="red.9" role="alert">
          {t("hierarchyEdit.chooseParent")}
        </Text>
      ) : null}
      {move.error ? <ProblemAlert error={move.error} /> : null}
    </DialogForm>
  );
}

function DeleteNode({
  node,
  nodes,
  onDone,
  onCancel,
}: {
  node: Node;
  nodes: readonly Node[];
  onDone: () => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const can = useCan();
  const refresh = useRefresh();
  // The numbers of the node need a new home (the parent unless chosen otherwise). A node
  // with child nodes is refused by the gateway, which says so.
  const hasChildren = nodes.some((n) => n.parent_id === node.id);
  const hasNumbers = !hasChildren && node.number_count > 0;
  const homes = nodes.filter((n) => n.id !== node.id && can("hierarchy.manage", n.id));
  const depth = depthOf(nodes);
  const [moveTo, setMoveTo] = useState(
    homes.some((n) => n.id === node.parent_id) ? (node.parent_id ?? "") : (homes[0]?.id ?? ""),
  );
  const remove = useMutation({
    mutationFn: () =>
      ok(
        api.DELETE("/api/v1/hierarchy/nodes/{node_id}", {
          params: { path: { node_id: node.id }, query: hasNumbers && moveTo ? { move_to: moveTo } : {} },
        }),
      ),
    onSuccess: async () => {
      await refresh();
      onDone();
    },
  });
  return (
    <DialogForm onSubmit={() => remove.mutate()} onCancel={onCancel} submit={t("hierarchyEdit.deleteSubmit")} pending={remove.isPending}>
      <Text size="sm">{t("hierarchyEdit.deleteWarning", { name: node.name })}</Text>
      {hasNumbers ? (
        <NativeSelect
          label={t("hierarchyEdit.numbersTo")}
          description={t("hierarchyEdit.numbersCount", { count: node.number_count })}
          value={moveTo}
          onChange={(e) => setMoveTo(e.currentTarget.value)}
          data={homes.map((n) => ({ value: n.id, label: `${"\u00a0\u00a0".repeat(depth(n.id))}${n.name}` }))}
          error={fieldError(remove.error, "move_to")}
        />
      ) : null}
      {remove.error && !fieldError(remove.error, "move_to") ? <ProblemAlert error={remove.error} /> : null}
    </DialogForm>
  );
}

/** How deep each node lies (the root 0), for an indented list of nodes. */
function depthOf(nodes: readonly Node[]) {
  const parents = new Map(nodes.map((n) => [n.id, n.parent_id]));
  return (id: string) => {
    let depth = 0;
    for (let at = parents.get(id); at && depth < 64; at = parents.get(at)) depth += 1;
    return depth;
  };
}
