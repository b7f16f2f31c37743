"""The hierarchy's rules: any depth, moves never make a cycle, counts add up."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.catalog.domain.hierarchy import Node, Tree
from services.kit.errors import InvalidArgument, NotAllowed, NotFound

COMPANY = "cmp_1"


def tree_of(parents: dict[str, str | None]) -> Tree:
    """Nodes from a child → parent map (the root's parent None)."""

    def ancestors(node_id: str) -> tuple[str, ...]:
        chain: list[str] = []
        parent = parents[node_id]
        while parent is not None:
            chain.append(parent)
            parent = parents[parent]
        return tuple(reversed(chain))

    return Tree(
        Node(n, COMPANY, p, n, "company" if p is None else "department", ancestors(n))
        for n, p in parents.items()
    )


SAMPLE = {"root": None, "msk": "root", "spb": "root", "sales": "msk", "it": "msk", "north": "sales"}


def test_a_child_gets_its_parents_path():
    child = tree_of(SAMPLE).new_child(
        "new", parent_id="sales", name=" Новый  отдел ", kind="department", company_id=COMPANY
    )
    assert child.ancestors == ("root", "msk", "sales")
    assert child.name == "Новый отдел"


@pytest.mark.parametrize(
    ("name", "kind", "field"),
    [
        ("", "department", "name"),
        ("x" * 201, "department", "name"),
        ("Ok", "planet", "kind"),
        ("Ok", "company", "kind"),
    ],
)
def test_bad_names_and_kinds_are_refused_by_field(name, kind, field):
    with pytest.raises(InvalidArgument) as refused:
        tree_of(SAMPLE).new_child("n", parent_id="msk", name=name, kind=kind, company_id=COMPANY)
    assert field in refused.value.fields


def test_a_move_rewrites_the_whole_subtree():
    moved = {n.id: n for n in tree_of(SAMPLE).moved("sales", "spb")}
    assert set(moved) == {"sales", "north"}
    assert moved["sales"].parent_id == "spb"
    assert moved["sales"].ancestors == ("root", "spb")
    assert moved["north"].ancestors == ("root", "spb", "sales")


@pytest.mark.parametrize(("node", "target"), [("msk", "msk"), ("msk", "sales"), ("msk", "north")])
def test_a_node_never_moves_into_its_own_subtree(node, target):
    with pytest.raises(NotAllowed) as refused:
        tree_of(SAMPLE).moved(node, target)
    assert refused.value.reason == "CYCLE"


def test_the_root_neither_moves_nor_goes():
    tree = tree_of(SAMPLE)
    with pytest.raises(NotAllowed):
        tree.moved("root", "msk")
    with pytest.raises(NotAllowed):
        tree.ensure_deletable("root", has_numbers=False, move_to=None)


def test_only_an_empty_node_is_deleted_and_its_numbers_need_a_destination():
    tree = tree_of(SAMPLE)
    with pytest.raises(NotAllowed):
        tree.ensure_deletable("msk", has_numbers=False, move_to=None)  # has children
    with pytest.raises(NotAllowed):
        tree.ensure_deletable("it", has_numbers=True, move_to=None)
    assert tree.ensure_deletable("it", has_numbers=True, move_to="spb").id == "spb"
    assert tree.ensure_deletable("it", has_numbers=False, move_to=None) is None
    with pytest.raises(NotFound):
        tree.ensure_deletable("it", has_numbers=True, move_to="nowhere")


def test_subtree_counts_add_up_to_the_root():
    counts = tree_of(SAMPLE).subtree_counts({"north": 3, "it": 2, "spb": 5, "gone": 7})
    assert counts == {"root": 10, "msk": 5, "spb": 5, "sales": 3, "it": 2, "north": 3}


def test_nodes_come_parents_first():
    order = [n.id for n in tree_of(SAMPLE).nodes]
    for node in tree_of(SAMPLE).nodes:
        for ancestor in node.ancestors:
            assert order.index(ancestor) < order.index(node.id)


@given(
    st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=40),
    st.dictionaries(st.integers(1, 11), st.integers(0, 20)),
)
def test_any_sequence_of_moves_keeps_one_acyclic_tree_and_exact_counts(moves, direct):
    parents: dict[str, str | None] = {
        "n0": None,
        **{f"n{i}": f"n{(i - 1) // 2}" for i in range(1, 12)},
    }
    tree = tree_of(parents)
    for node, target in moves:
        try:
            changed = tree.moved(f"n{node}", f"n{target}")
        except NotAllowed:
            continue
        by_id = {n.id: n for n in tree.nodes}
        by_id.update({n.id: n for n in changed})
        tree = Tree(by_id.values())
    nodes = {n.id: n for n in tree.nodes}
    assert len(nodes) == 12
    for node in nodes.values():
        # ancestors agree with the parent pointers, and every chain ends at the root
        expected: list[str] = []
        parent = node.parent_id
        while parent is not None:
            assert parent not in expected, "a cycle"
            expected.append(parent)
            parent = nodes[parent].parent_id
        assert node.ancestors == tuple(reversed(expected))
    counts = tree.subtree_counts({f"n{k}": v for k, v in direct.items()})
    assert counts["n0"] == sum(direct.values())
    for node in nodes.values():
        below = sum(
            v
            for k, v in direct.items()
            if f"n{k}" == node.id or node.id in nodes[f"n{k}"].ancestors
        )
        assert counts[node.id] == below


def test_the_moved_node_comes_first_whatever_order_the_store_gave():
    children_first = dict(reversed(list(SAMPLE.items())))
    moved = tree_of(children_first).moved("msk", "spb")
    assert moved[0].id == "msk"
    assert tree_of(children_first).subtree("msk")[0].id == "msk"
