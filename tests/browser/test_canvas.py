"""The canvas in real Chromium, driven by role and label as a person would:
an editor builds, configures, fixes, undoes, reloads, exports, imports and
runs a workflow; a viewer finds no way to edit."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# -- helpers: what a person sees and does ------------------------------------


def open_new_workflow(page: Any) -> None:
    page.get_by_role("button", name="New workflow").click()
    page.wait_for_url(re.compile(r"/workflows/[0-9a-f-]{36}/"))
    expect_saved(page)


def expect_saved(page: Any) -> None:
    page.get_by_role("status").filter(has_text=re.compile(r"^\W*Saved$")).wait_for()


def node(page: Any, name: str) -> Any:
    """A node on the canvas, by the start of its accessible name (its title)."""
    return page.get_by_role("group", name=re.compile(rf"^{pattern(name)} \("))


def pattern(text: str) -> str:
    """`text` as a regular expression that Playwright's selector parser accepts."""
    return re.escape(text).replace("\\ ", " ").replace("/", "\\/")


def canvas_box(page: Any) -> dict[str, float]:
    return page.get_by_role("region", name="Workflow canvas").bounding_box()


def drag_from_palette(page: Any, label: str, x: float, y: float) -> None:
    """Drag a palette entry onto the canvas, at (x, y) inside the canvas."""
    pane = page.locator(".react-flow__pane")
    page.get_by_role("button", name=f"Add {label}").drag_to(pane, target_position={"x": x, "y": y})


def connect(page: Any, source_handle: str, target_handle: str) -> None:
    """Drag from one handle to another with the mouse."""
    source = page.get_by_label(source_handle, exact=True).bounding_box()
    target = page.get_by_label(target_handle, exact=True).bounding_box()
    page.mouse.move(source["x"] + source["width"] / 2, source["y"] + source["height"] / 2)
    page.mouse.down()
    page.mouse.move(target["x"] + 2, target["y"] + target["height"] / 2, steps=12)
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + target["height"] / 2, steps=4)
    page.mouse.up()


def select(page: Any, name: str) -> None:
    node(page, name).locator(".bt-node-title").click()
    page.get_by_role("complementary", name="Node settings").get_by_role("heading", level=2).filter(
        has_text=name
    ).wait_for()


def press_on_canvas(page: Any, keys: str) -> None:
    """Keyboard shortcuts act when the focus is not in a form field."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press(keys)


def count_nodes(page: Any) -> int:
    return page.locator(".react-flow__node-baton").count()


def count_edges(page: Any) -> int:
    return page.locator(".react-flow__edge").count()


def wait_for_count(page: Any, selector: str, n: int) -> None:
    page.wait_for_function(
        "([s, n]) => document.querySelectorAll(s).length === n", arg=[selector, n]
    )


# -- the editor -----------------------------------------------------------------


def test_editor_builds_configures_saves_and_runs_a_workflow(
    context: Any, base_url: str, tmp_path: Path
) -> None:
    page = login(context, base_url, "editor")
    open_new_workflow(page)
    node(page, "Start").wait_for()

    # Build: drag two nodes from the palette and connect them.
    box = canvas_box(page)
    drag_from_palette(page, "If / else", box["width"] * 0.55, box["height"] * 0.35)
    node(page, "If / else").wait_for()
    drag_from_palette(page, "Transform data", box["width"] * 0.75, box["height"] * 0.6)
    node(page, "Transform data").wait_for()
    assert count_nodes(page) == 3

    connect(page, "Start output out", "If / else input")
    wait_for_count(page, ".react-flow__edge", 1)
    connect(page, "If / else output true", "Transform data input")
    wait_for_count(page, ".react-flow__edge", 2)

    # A validation error: the condition is required. The node carries a badge,
    # the form names the field, and publishing is blocked.
    select(page, "If / else")
    panel = page.get_by_role("complementary", name="Node settings")
    panel.get_by_text("Condition is required", exact=True).wait_for()
    assert node(page, "If / else").get_by_role("img", name="1 problem").is_visible()
    assert "blocked" in page.get_by_role("button", name=re.compile("^Publish")).inner_text()

    # Fix it; the suggestion list offers the trigger's data.
    condition = panel.get_by_role("combobox", name=re.compile("^Condition"))
    condition.fill("trigger.amount > 10")
    panel.get_by_text("Condition is required", exact=True).wait_for(state="detached")
    node(page, "If / else").get_by_role("img", name="1 problem").wait_for(state="detached")

    # Configure the transform: its output is JSON with a template.
    select(page, "Transform data")
    panel.get_by_role("textbox", name="Output").fill(
        '{"big": true, "amount": "{{ trigger.amount }}"}'
    )
    page.get_by_role("button", name=re.compile("^Validation: No problems")).wait_for()

    # Undo and redo a deletion with the keyboard.
    press_on_canvas(page, "Delete")
    wait_for_count(page, ".react-flow__node-baton", 2)
    wait_for_count(page, ".react-flow__edge", 1)
    press_on_canvas(page, "Control+z")
    wait_for_count(page, ".react-flow__node-baton", 3)
    wait_for_count(page, ".react-flow__edge", 2)
    press_on_canvas(page, "Control+Shift+z")
    wait_for_count(page, ".react-flow__node-baton", 2)
    page.get_by_role("button", name="Undo").click()
    wait_for_count(page, ".react-flow__node-baton", 3)

    # It autosaves; after a reload everything is still there.
    expect_saved(page)
    page.reload()
    node(page, "Transform data").wait_for()
    assert count_nodes(page) == 3
    wait_for_count(page, ".react-flow__edge", 2)
    select(page, "If / else")
    assert panel.get_by_role("combobox", name=re.compile("^Condition")).input_value() == (
        "trigger.amount > 10"
    )

    # Export, then import an edited copy of the file.
    page.get_by_text("More").click()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export").click()
    exported = tmp_path / "exported.json"
    download_info.value.save_as(exported)
    graph = json.loads(exported.read_text())
    assert {n["type"] for n in graph["nodes"]} == {"trigger.manual", "logic.if", "data.transform"}
    assert len(graph["edges"]) == 2
    for item in graph["nodes"]:
        if item["type"] == "logic.if":
            item["name"] = "Is it big?"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(graph))
    page.get_by_label("Import workflow file").set_input_files(str(edited))
    node(page, "Is it big?").wait_for()

    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"nodes": [{"id": "1 bad", "type": "nope"}]}))
    page.get_by_label("Import workflow file").set_input_files(str(broken))
    dialog = page.get_by_role("alertdialog", name="This file cannot be imported")
    dialog.wait_for()
    dialog.get_by_role("button", name="OK").click()
    node(page, "Is it big?").wait_for()
    expect_saved(page)

    # Run the draft from the editor; the nodes show their step status.
    page.get_by_role("button", name="Test run").click()
    run_dialog = page.get_by_role("dialog", name="Test run")
    run_dialog.get_by_label("Input (JSON)").fill('{"amount": 20}')
    run_dialog.get_by_role("button", name="Start test run").click()
    result = page.get_by_role("region", name="Run result")
    result.get_by_text("Succeeded").first.wait_for(timeout=30_000)
    node(page, "Transform data").get_by_text("Succeeded").wait_for()
    # the mini map recolours its nodes with the run's statuses too
    page.wait_for_function(
        """() => [...document.querySelectorAll('.react-flow__minimap-node')]
            .filter((n) => n.style.fill === 'var(--status-succeeded)').length >= 3""",
        timeout=10_000,
    )

    assert page.js_errors == []
    assert not [c for c in page.api_calls if c.endswith((" 409", " 500"))], page.api_calls


def test_keyboard_help_and_find(context: Any, base_url: str) -> None:
    page = login(context, base_url, "editor")
    open_new_workflow(page)
    press_on_canvas(page, "Shift+?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    help_dialog.wait_for()
    page.keyboard.press("Escape")
    help_dialog.wait_for(state="hidden")
    press_on_canvas(page, "Control+k")
    find = page.get_by_role("dialog", name="Find a node")
    find.get_by_role("combobox").fill("start")
    page.keyboard.press("Enter")
    page.get_by_role("complementary", name="Node settings").get_by_role(
        "heading", name="Start"
    ).wait_for()
    assert page.js_errors == []


# -- roles ----------------------------------------------------------------------


def test_viewer_finds_no_way_to_edit(context: Any, base_url: str) -> None:
    page = login(context, base_url, "viewer")
    page.get_by_role("link", name="Email triage").first.click()
    page.locator(".react-flow__node-baton").first.wait_for()
    nodes_before = count_nodes(page)
    edges_before = count_edges(page)

    assert page.get_by_text("Read-only").is_visible()
    assert page.get_by_role("navigation", name="Node palette").count() == 0
    for name in ("Undo", "Redo", "Import", "Tidy up", "Add note", re.compile("^Publish")):
        assert page.get_by_role("button", name=name).count() == 0
    assert page.get_by_label("Import workflow file").count() == 0

    # Selecting a node shows its settings, all disabled.
    first = page.locator(".react-flow__node-baton").first
    first.locator(".bt-node-title").click()
    panel = page.get_by_role("complementary", name="Node settings")
    panel.get_by_label("Name").wait_for()
    assert panel.get_by_label("Name").is_disabled()
    assert panel.get_by_role("button", name="Delete node").count() == 0
    for field in panel.locator("input, textarea, select").all():
        assert field.is_disabled()

    # Neither dragging, deleting, pasting nor connecting changes anything.
    # (a drag on a node pans the view instead: compare flow positions, not pixels)
    position = "n => n.style.transform"
    before = first.evaluate(position)
    box = first.bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + 15)
    page.mouse.down()
    page.mouse.move(box["x"] + 240, box["y"] + 215, steps=8)
    page.mouse.up()
    assert first.evaluate(position) == before
    press_on_canvas(page, "Delete")
    press_on_canvas(page, "Control+d")
    page.evaluate(
        """() => {
            const data = new DataTransfer();
            data.setData("text/plain", JSON.stringify({version: 1, nodes: [{id: "x", type: "logic.if"}], edges: []}));
            document.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true}));
        }"""
    )
    handles = page.locator(".react-flow__handle.connectable")
    assert handles.count() == 0
    page.wait_for_timeout(300)
    assert count_nodes(page) == nodes_before
    assert count_edges(page) == edges_before
    assert page.js_errors == []


def test_a_stale_draft_opens_the_conflict_dialog(context: Any, base_url: str) -> None:
    mine = login(context, base_url, "editor")
    open_new_workflow(mine)
    theirs = context.new_page()
    theirs.goto(mine.url)
    node(theirs, "Start").wait_for()

    # They rename the trigger and it saves.
    select(theirs, "Start")
    theirs.get_by_role("complementary", name="Node settings").get_by_label("Name").fill(
        "Their start"
    )
    expect_saved(theirs)

    # My page still holds the old revision: my next save is refused.
    select(mine, "Start")
    mine.get_by_role("complementary", name="Node settings").get_by_label("Name").fill("My start")
    dialog = mine.get_by_role("alertdialog", name="Someone else changed this workflow")
    dialog.wait_for()
    assert mine.get_by_role("status").filter(has_text="Conflict").is_visible()

    dialog.get_by_role("button", name="Reload theirs").click()
    node(mine, "Their start").wait_for()
    expect_saved(mine)

    # Another conflict, resolved the other way: my version becomes a copy.
    theirs.reload()
    select(theirs, "Their start")
    theirs.get_by_role("complementary", name="Node settings").get_by_label("Name").fill(
        "Theirs again"
    )
    expect_saved(theirs)
    select(mine, "Their start")
    mine.get_by_role("complementary", name="Node settings").get_by_label("Name").fill("Mine again")
    dialog.wait_for()
    first_url = mine.url
    dialog.get_by_role("button", name="Keep mine as a copy").click()
    mine.wait_for_url(lambda url: url != first_url)
    node(mine, "Mine again").wait_for()
    mine.get_by_role("heading", name=re.compile(r"\(copy\)$")).wait_for()
    assert mine.js_errors == []
