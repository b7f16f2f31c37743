"""«Иерархия» changed in the console, as the company's administrator does it: a new node
under the chosen one, renamed, a move refused into its own subtree (the gateway's reason
shown) and then done, a delete refused while the node has children, a node with numbers
deleted with its numbers moved to its parent; a viewer is offered none of it. The editing
dialogs are photographed at both widths and checked with axe-core."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e import test_console
from tests.e2e.test_catalog_hierarchy import hierarchy, three_levels
from tests.e2e.test_catalog_numbers import give_numbers, listed
from tests.e2e.test_console import log_in, screen, spaced
from tests.e2e.test_identity_users_roles import PASSWORD as STAFF_PASSWORD
from tests.e2e.test_identity_users_roles import create_user

pytestmark = pytest.mark.e2e

browser = test_console.browser
console_build = test_console.console_build
page = test_console.page
admin = test_console.admin


def tree_of(page: Page):
    return page.get_by_role("navigation", name="Пользовательская иерархия")


def node_button(scope, name: str):
    """A node of a tree: its name, then the count of its numbers."""
    return scope.get_by_role("button", name=re.compile(f"^{re.escape(name)}"))


async def parent_in_tree(page: Page, name: str, parent: str) -> None:
    """Waits until the tree shows the node `name` directly inside the node `parent`."""
    found = ""
    for _ in range(100):
        found = await node_button(tree_of(page), name).evaluate(
            "b => b.closest('li').parentElement.closest('li')"
            ".querySelector(':scope > button').textContent"
        )
        if found.startswith(parent):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} is inside {found!r} in the tree, not {parent}")


async def choose(page: Page, name: str) -> None:
    await node_button(tree_of(page), name).click()
    await expect(page.get_by_role("heading", name=f"Номера: {name}")).to_be_visible()


async def test_create_rename_move_and_delete_nodes(page, system, api, company, admin):
    nodes = await three_levels(api, admin)
    sales = nodes["sales"]["id"]
    numbers = await give_numbers(system, company.id, [sales, sales])

    await log_in(page, company.main_number)
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()
    await page.get_by_role("link", name="Иерархия").first.click()
    tree = tree_of(page)
    await expect(node_button(tree, "Москва")).to_be_visible()

    # A new node under «Москва»: the name is required, the kind chosen from the list.
    await choose(page, "Москва")
    await page.get_by_role("button", name="Добавить узел в «Москва»").click()
    dialog = page.get_by_role("dialog", name="Новый узел в «Москва»")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name="Создать узел").click()
    await expect(dialog.get_by_text("Заполните это поле")).to_be_visible()
    await dialog.get_by_label("Название").fill("Бухгалтерия")
    await dialog.get_by_label("Тип узла").select_option(label="Филиал")
    await screen(page, "hierarchy-create")
    await dialog.get_by_role("button", name="Создать узел").click()
    await expect(dialog).to_have_count(0)
    # The new node is in the tree, inside «Москва», and chosen.
    await expect(page.get_by_role("heading", name="Номера: Бухгалтерия")).to_be_visible()
    created = next(n for n in (await hierarchy(api, admin)).values() if n["name"] == "Бухгалтерия")
    assert created["parent_id"] == nodes["city"]["id"] and created["kind"] == "branch"
    await expect(node_button(tree, "Бухгалтерия")).to_have_attribute("aria-current", "true")
    await parent_in_tree(page, "Бухгалтерия", "Москва")

    # Renamed (and its kind changed) in place.
    await page.get_by_role("button", name="Переименовать узел «Бухгалтерия»").click()
    dialog = page.get_by_role("dialog", name="Переименовать «Бухгалтерия»")
    await expect(dialog.get_by_label("Название")).to_have_value("Бухгалтерия")
    await dialog.get_by_label("Название").fill("Финансовый отдел")
    await dialog.get_by_label("Тип узла").select_option(label="Отдел")
    await screen(page, "hierarchy-rename")
    await dialog.get_by_role("button", name="Сохранить").click()
    await expect(dialog).to_have_count(0)
    await expect(node_button(tree, "Финансовый отдел")).to_be_visible()
    await expect(node_button(tree, "Бухгалтерия")).to_have_count(0)
    renamed = (await hierarchy(api, admin))[created["id"]]
    assert (renamed["name"], renamed["kind"]) == ("Финансовый отдел", "department")

    # «Москва» cannot go inside its own «Отдел продаж»: the gateway's reason is shown, and
    # the dialog stays for another choice: «Северо-Запад».
    await choose(page, "Москва")
    await page.get_by_role("button", name="Переместить узел «Москва»").click()
    dialog = page.get_by_role("dialog", name="Переместить «Москва»")
    await expect(dialog.get_by_text("Сейчас входит в «Центральный регион».")).to_be_visible()
    await dialog.get_by_role("button", name="Переместить", exact=True).click()
    await expect(dialog.get_by_text("Выберите узел, в который переместить.")).to_be_visible()
    await node_button(dialog, "Отдел продаж").click()
    await dialog.get_by_role("button", name="Переместить", exact=True).click()
    alert = dialog.get_by_role("alert").filter(has_text="subtree")
    await expect(alert).to_contain_text("Узел нельзя переместить внутрь него самого")
    await expect(alert).to_contain_text("a node cannot move into its own subtree")
    await screen(page, "hierarchy-move-refused")
    await node_button(dialog, "Северо-Запад").click()
    await expect(dialog.get_by_text("Куда переместить: Северо-Запад")).to_be_visible()
    await dialog.get_by_role("button", name="Переместить", exact=True).click()
    await expect(dialog).to_have_count(0)
    assert (await hierarchy(api, admin))[nodes["city"]["id"]]["parent_id"] == nodes["other"]["id"]
    await parent_in_tree(page, "Москва", "Северо-Запад")

    # A node with children is not deleted: the reason, and nothing changes.
    await page.get_by_role("button", name="Удалить узел «Москва»").click()
    dialog = page.get_by_role("dialog", name="Удалить «Москва»")
    await expect(dialog.get_by_text("Узел «Москва» будет удалён из иерархии.")).to_be_visible()
    await dialog.get_by_role("button", name="Удалить узел").click()
    alert = dialog.get_by_role("alert")
    await expect(alert).to_contain_text("Узел не пуст")
    await expect(alert).to_contain_text("the node has child nodes; move or delete them first")
    await screen(page, "hierarchy-delete-refused")
    await dialog.get_by_role("button", name="Отмена").click()
    await expect(dialog).to_have_count(0)
    assert nodes["city"]["id"] in await hierarchy(api, admin)

    # «Отдел продаж» goes, its two numbers to its parent «Москва» (the choice offered first).
    await choose(page, "Отдел продаж")
    await page.get_by_role("button", name="Удалить узел «Отдел продаж»").click()
    dialog = page.get_by_role("dialog", name="Удалить «Отдел продаж»")
    await expect(dialog.get_by_text("Номеров в узле: 2")).to_be_visible()
    select = dialog.get_by_label("Перенести номера узла в")
    await expect(select).to_have_value(nodes["city"]["id"])
    await dialog.get_by_role("button", name="Удалить узел").click()
    await expect(dialog).to_have_count(0)
    await expect(node_button(tree, "Отдел продаж")).to_have_count(0)
    await expect(page.get_by_role("heading", name="Номера: Москва")).to_be_visible()
    table = page.get_by_role("table", name="Номера")
    for msisdn in numbers:
        await expect(table.get_by_role("link", name=spaced(msisdn))).to_be_visible()
    moved = await listed(api, admin, node_id=nodes["city"]["id"])
    assert {n["msisdn"]: n["node_id"] for n in moved} == dict.fromkeys(numbers, nodes["city"]["id"])

    # And an empty node simply goes.
    await choose(page, "Финансовый отдел")
    await page.get_by_role("button", name="Удалить узел «Финансовый отдел»").click()
    dialog = page.get_by_role("dialog", name="Удалить «Финансовый отдел»")
    await expect(dialog.get_by_label("Перенести номера узла в")).to_have_count(0)
    await dialog.get_by_role("button", name="Удалить узел").click()
    await expect(dialog).to_have_count(0)
    await expect(node_button(tree, "Финансовый отдел")).to_have_count(0)
    assert created["id"] not in await hierarchy(api, admin)
    await screen(page, "hierarchy-edited")


async def test_the_root_is_renamed_but_never_moved_or_deleted(page, api, company, admin):
    await log_in(page, company.main_number)
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()
    await page.goto("/hierarchy")
    await expect(page.get_by_role("heading", name=f"Номера: {company.name}")).to_be_visible()
    await expect(
        page.get_by_role("button", name=f"Переименовать узел «{company.name}»")
    ).to_be_visible()
    await expect(page.get_by_role("button", name=re.compile("^Переместить узел"))).to_have_count(0)
    await expect(page.get_by_role("button", name=re.compile("^Удалить узел"))).to_have_count(0)
    await page.get_by_role("button", name=f"Переименовать узел «{company.name}»").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_label("Тип узла")).to_have_count(0)
    await dialog.get_by_label("Название").fill("ООО «Ромашка — филиалы»")
    await dialog.get_by_role("button", name="Сохранить").click()
    await expect(dialog).to_have_count(0)
    await expect(
        page.get_by_role("heading", name="Номера: ООО «Ромашка — филиалы»")
    ).to_be_visible()


async def test_a_viewer_sees_no_buttons_that_change_the_hierarchy(
    page, system, api, company, admin
):
    nodes = await three_levels(api, admin)
    [msisdn] = await give_numbers(system, company.id, [nodes["sales"]["id"]])
    viewer = await create_user(api, admin, roles=["viewer"])

    await log_in(page, viewer["login"], STAFF_PASSWORD)
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()
    await page.get_by_role("link", name="Иерархия").first.click()
    await choose(page, "Отдел продаж")
    await expect(page.get_by_role("link", name=spaced(msisdn))).to_be_visible()
    await expect(page.get_by_test_id("node-actions")).to_have_count(0)
    for verb in ("Добавить узел", "Переименовать", "Переместить", "Удалить"):
        await expect(page.get_by_role("button", name=re.compile(f"^{verb}"))).to_have_count(0)
    await screen(page, "hierarchy-viewer")
