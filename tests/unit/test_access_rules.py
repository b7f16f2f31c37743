"""Effective permissions and the no-escalation rule, by example and by property."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.identity import domain
from services.identity.domain import ALL_PERMISSIONS, PRESET_ROLES, Assignment, Role
from services.kit.authz import COMPANY_LEVEL_PERMISSIONS, Access
from services.kit.errors import InvalidArgument, NotFound, PermissionDenied

# A small hierarchy: root → {msk, spb}; msk → {msk_sales, msk_it}; spb → {spb_sales}
PARENTS = {
    "root": None,
    "msk": "root",
    "spb": "root",
    "msk_sales": "msk",
    "msk_it": "msk",
    "spb_sales": "spb",
}


def path(node: str) -> tuple[str, ...]:
    chain = []
    current: str | None = node
    while current is not None:
        chain.append(current)
        current = PARENTS[current]
    return tuple(reversed(chain))


def access(pairs) -> Access:
    return Access.from_pairs("cmp_1", pairs)


def test_a_subtree_scope_covers_the_nodes_below_it_and_not_beside_it():
    manager = access([("msk", {"numbers.tariff"})])
    assert manager.allows("numbers.tariff", path("msk_sales"))
    assert manager.allows("numbers.tariff", path("msk"))
    assert not manager.allows("numbers.tariff", path("spb_sales"))
    assert not manager.allows("numbers.tariff", path("root"))
    assert not manager.allows("numbers.tariff")  # company-wide needs a company scope


def test_company_level_permissions_hold_only_company_wide():
    scoped = access([("msk", {"finance.transfer", "numbers.view"})])
    assert not scoped.allows("finance.transfer", path("msk_sales"))
    assert access([(None, {"finance.transfer"})]).allows("finance.transfer")


def test_nodes_with_tells_list_queries_where_to_look():
    mixed = access([("msk", {"numbers.view"}), ("spb_sales", {"numbers.view", "numbers.sms"})])
    assert mixed.nodes_with("numbers.view") == {"msk", "spb_sales"}
    assert mixed.nodes_with("numbers.sms") == {"spb_sales"}
    assert access([(None, {"numbers.view"})]).nodes_with("numbers.view") is None
    assert mixed.nodes_with("finance.view") == frozenset()


def test_require_raises_permission_denied_and_another_company_is_not_found():
    with pytest.raises(PermissionDenied):
        access([]).require("numbers.view")
    with pytest.raises(NotFound):
        access([]).require_company("cmp_2")


def test_assignments_must_name_existing_roles_and_known_nodes():
    # An unknown role or node is an object that does not exist: 404 with the fields named
    # (it was InvalidArgument, a 422 a REST client reads as a malformed request).
    with pytest.raises(NotFound) as refused:
        domain.checked_assignments(
            [Assignment("nope"), Assignment("viewer", "ghost")], PRESET_ROLES, frozenset({"msk"})
        )
    assert set(refused.value.fields) == {"assignments.0.role_id", "assignments.1.node_id"}
    kept = domain.checked_assignments(
        [Assignment("viewer"), Assignment("viewer")], PRESET_ROLES, frozenset()
    )
    assert kept == (Assignment("viewer"),)


def test_role_permissions_must_be_held_company_wide_by_the_author():
    author = access([(None, {"numbers.view"}), ("msk", {"numbers.sms"})])
    assert domain.checked_role_permissions(["numbers.view"], author) == {"numbers.view"}
    with pytest.raises(PermissionDenied):
        domain.checked_role_permissions(["numbers.sms"], author)
    with pytest.raises(InvalidArgument):
        domain.checked_role_permissions([], author)
    with pytest.raises(InvalidArgument):
        domain.checked_role_permissions(["numbers.fly"], author)


# ---------------------------------------------------------------- properties

nodes = st.one_of(st.none(), st.sampled_from(sorted(PARENTS)))
permission_sets = st.frozensets(st.sampled_from(ALL_PERMISSIONS), min_size=1, max_size=6)
roles_strategy = st.lists(permission_sets, min_size=1, max_size=4).map(
    lambda sets: {f"rol_{i}": Role(f"rol_{i}", f"r{i}", perms) for i, perms in enumerate(sets)}
)


@st.composite
def grant_scenarios(draw):
    roles = {**PRESET_ROLES, **draw(roles_strategy)}
    role_ids = sorted(roles)
    assignment = st.builds(Assignment, role_id=st.sampled_from(role_ids), node_id=nodes)
    granter = draw(st.lists(assignment, max_size=4))
    granted = draw(st.lists(assignment, min_size=1, max_size=4))
    return roles, granter, granted


@given(grant_scenarios())
def test_a_grant_passes_exactly_when_the_granter_holds_each_permission_where_granted(scenario):
    roles, granter_assignments, granted_assignments = scenario
    granter = domain.access_of("cmp_1", granter_assignments, roles)
    granted = domain.access_of("cmp_1", granted_assignments, roles)
    expected = all(
        granter.allows(permission, () if node is None else path(node))
        for node, permissions in granted.scopes.items()
        for permission in permissions
    )
    try:
        domain.ensure_may_grant(granter, granted, path)
        allowed = True
    except PermissionDenied:
        allowed = False
    assert allowed == expected


@settings(max_examples=200)
@given(roles_strategy, st.data())
def test_no_chain_of_grants_ever_exceeds_what_the_first_granter_holds(custom_roles, data):
    """Users grant to each other in any order; nobody ever ends up with a permission, at
    any node, that the company's first administrator (whatever they hold) does not."""
    roles = {**PRESET_ROLES, **custom_roles}
    assignment = st.builds(Assignment, role_id=st.sampled_from(sorted(roles)), node_id=nodes)
    root = domain.access_of("cmp_1", data.draw(st.lists(assignment, min_size=1, max_size=3)), roles)
    people = [root]
    for _ in range(data.draw(st.integers(1, 12))):
        granter = data.draw(st.sampled_from(people))
        wanted = domain.access_of("cmp_1", data.draw(st.lists(assignment, max_size=3)), roles)
        try:
            domain.ensure_may_grant(granter, wanted, path)
        except PermissionDenied:
            continue
        people.append(wanted)
    places = [(), *(path(node) for node in PARENTS)]
    for person in people:
        for where in places:
            for permission in ALL_PERMISSIONS:
                if person.allows(permission, where):
                    assert root.allows(permission, where), (permission, where)


@given(
    st.lists(st.tuples(nodes, permission_sets), max_size=5),
    st.sampled_from(ALL_PERMISSIONS),
    st.sampled_from(sorted(PARENTS)),
)
def test_a_permission_on_a_node_holds_iff_a_scope_covers_an_ancestor(pairs, permission, node):
    held = access(pairs)
    by_scope = {n for n, perms in pairs if permission in perms}
    expected = None in by_scope or (
        permission not in COMPANY_LEVEL_PERMISSIONS and bool(by_scope & set(path(node)))
    )
    assert held.allows(permission, path(node)) == expected
