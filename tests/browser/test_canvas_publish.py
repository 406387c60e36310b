"""Publishing and versions in real Chromium, driven by role and label: an
admin's publish is blocked while the graph is invalid and direct once it is
fixed; an editor's publish goes to review, where an admin finds and approves
it; a published version can be restored into the draft (undoable, saved as a
new revision, still there after a reload); a viewer sees versions but cannot
restore them.

The workflows are made on the server (one call each) so that every test
starts on the canvas; building by hand is what tests/browser/test_canvas.py
exercises."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from tests.browser.conftest import login
from tests.browser.test_canvas import expect_saved, node, select, wait_for_count

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GRAPH = {
    "version": 1,
    "nodes": [
        {
            "id": "start",
            "type": "trigger.manual",
            "name": "Start",
            "config": {},
            "position": {"x": 0, "y": 0},
        },
        {
            "id": "check",
            "type": "logic.if",
            "name": "Check amount",
            "config": {"condition": "trigger.amount > 10"},
            "position": {"x": 300, "y": 0},
        },
        {
            "id": "shape",
            "type": "data.transform",
            "name": "Shape reply",
            "config": {"output": {"big": True}},
            "position": {"x": 600, "y": 0},
        },
    ],
    "edges": [
        {"id": "e1", "source": "start", "target": "check"},
        {"id": "e2", "source": "check", "source_port": "true", "target": "shape"},
    ],
}


def make_workflow(name: str, graph: dict[str, Any], *, publish: bool = False) -> Any:
    """A workflow of the demo workspace, made by the admin (and published: version 1)."""
    from accounts.models import User, Workspace
    from builder import services

    admin = User.objects.get(username="admin")
    workflow = services.create_workflow(
        admin, Workspace.objects.get(slug="demo"), name=name, graph=copy.deepcopy(graph)
    ).workflow
    if publish:
        services.publish(admin, workflow, "The first cut")
    return workflow


def open_editor(page: Any, base_url: str, workflow: Any, first: str = "Start") -> None:
    page.goto(f"{base_url}/workflows/{workflow.pk}/")
    node(page, first).wait_for()
    expect_saved(page)


def publish_now(page: Any) -> None:
    """Publish from the top bar's dialog as an admin: version 1."""
    page.get_by_role("button", name="Publish", exact=True).click()
    dialog = page.get_by_role("dialog", name="Publish this workflow")
    dialog.get_by_role("button", name="Publish", exact=True).click()
    toast(page, r"^Published as version 1\.$").wait_for()


def toast(page: Any, text: str) -> Any:
    return page.locator(".bt-toasts").get_by_text(re.compile(text))


def open_versions(page: Any) -> Any:
    page.get_by_text("More").click()
    page.get_by_role("button", name="Versions").click()
    dialog = page.get_by_role("dialog", name="Versions")
    dialog.wait_for()
    return dialog


def version_item(dialog: Any, n: int) -> Any:
    return dialog.get_by_role("listitem", name=f"Version {n}", exact=True)


def node_names(page: Any) -> list[str]:
    return sorted(page.locator(".react-flow__node-baton .bt-node-title").all_inner_texts())


def clean(page: Any) -> None:
    assert page.js_errors == []
    assert not [c for c in page.api_calls if c.endswith(" 500")], page.api_calls


# -- publishing -----------------------------------------------------------------


def test_admin_publish_is_blocked_while_invalid_then_makes_version_1(
    context: Any, base_url: str
) -> None:
    invalid = copy.deepcopy(GRAPH)
    invalid["nodes"][1]["config"] = {}  # an If / else needs its condition
    workflow = make_workflow("Refund check", invalid)
    page = login(context, base_url, "admin")
    open_editor(page, base_url, workflow)
    page.get_by_text("Draft · never published").wait_for()

    # Blocked: the button says so, and the dialog lists the problem and refuses.
    publish = page.get_by_role("button", name=re.compile("^Publish"))
    publish.filter(has_text="(blocked)").wait_for()
    assert publish.get_attribute("aria-disabled") == "true"
    # aria-disabled, not disabled: it stays focusable and, activated, says why.
    publish.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Publish this workflow")
    dialog.get_by_text("Fix them before publishing").wait_for()
    dialog.get_by_text("Condition is required").wait_for()
    assert dialog.get_by_role("button", name="Publish", exact=True).is_disabled()
    assert not [c for c in page.api_calls if "/publish/" in c]

    # The problem's link leads to the node; fixing it unblocks publishing.
    dialog.get_by_role("button", name=re.compile("^check")).click()
    dialog.wait_for(state="hidden")
    panel = page.get_by_role("complementary", name="Node settings")
    panel.get_by_role("combobox", name=re.compile("^Condition")).fill("trigger.amount > 10")
    page.get_by_role("button", name="Publish", exact=True).wait_for()
    expect_saved(page)

    page.get_by_role("button", name="Publish", exact=True).click()
    dialog.get_by_label("What changed? (note)").fill("Refunds above 10 go to review")
    dialog.get_by_role("button", name="Publish", exact=True).click()
    toast(page, r"^Published as version 1\.$").wait_for()
    page.get_by_text("Draft · v1 published").wait_for()

    versions = open_versions(page)
    first = version_item(versions, 1)
    first.get_by_text("Live", exact=True).wait_for()
    first.get_by_text("Refunds above 10 go to review").wait_for()
    assert "by admin" in first.inner_text()
    assert "3 nodes, 2 connections" in first.inner_text()
    # Version 1 is the draft as it stands: nothing to restore.
    first.get_by_text("Same as the draft").wait_for()
    assert first.get_by_role("button", name=re.compile("^Restore")).count() == 0
    page.keyboard.press("Escape")
    versions.wait_for(state="hidden")

    workflow.refresh_from_db()
    assert workflow.published_version.number == 1
    assert workflow.published_version.graph["nodes"][1]["config"] == {
        "condition": "trigger.amount > 10"
    }
    clean(page)


def test_editor_publish_goes_to_review_and_the_admin_approves_it(
    browser: Any, context: Any, base_url: str
) -> None:
    workflow = make_workflow("Refund check", GRAPH)
    page = login(context, base_url, "editor")
    open_editor(page, base_url, workflow)

    page.get_by_role("button", name="Publish", exact=True).click()
    dialog = page.get_by_role("dialog", name="Publish this workflow")
    dialog.get_by_text("This workspace reviews publishing").wait_for()
    dialog.get_by_label("What changed? (note)").fill("Please ship the refund check")
    dialog.get_by_role("button", name="Submit for review").click()
    toast(page, r"^Sent for review").wait_for()
    dialog.wait_for(state="hidden")
    assert page.get_by_text("Draft · never published").is_visible()
    assert any(c.startswith("POST workflows/") and "/publish/ 200" in c for c in page.api_calls)

    # The admin finds the request under Reviews, and approves it.
    admin_context = browser.new_context(viewport={"width": 1400, "height": 900})
    admin_context.set_default_timeout(20_000)
    try:
        admin = login(admin_context, base_url, "admin")
        admin.get_by_role("link", name="Reviews").click()
        admin.get_by_role("heading", name="Publish requests").wait_for()
        pending = admin.get_by_role("listitem").filter(has_text="Refund check")
        pending.get_by_text("Requested by editor").wait_for()
        pending.get_by_text("Please ship the refund check").wait_for()
        pending.get_by_role("button", name="Approve and publish").click()
        admin.get_by_role("heading", name="Recently decided").wait_for()
        admin.get_by_role("row").filter(has_text="Refund check").get_by_text("Approved").wait_for()
        assert admin.js_errors == []
    finally:
        admin_context.close()

    # Back in the editor: version 1 is live.
    page.reload()
    page.get_by_text("Draft · v1 published").wait_for()
    versions = open_versions(page)
    version_item(versions, 1).get_by_text("Please ship the refund check").wait_for()
    clean(page)


# -- versions -------------------------------------------------------------------


def test_restoring_version_1_brings_its_graph_back_and_survives_reload(
    context: Any, base_url: str
) -> None:
    workflow = make_workflow("Refund check", GRAPH, publish=True)
    page = login(context, base_url, "admin")
    open_editor(page, base_url, workflow)
    page.get_by_text("Draft · v1 published").wait_for()
    original = node_names(page)
    assert original == ["Check amount", "Shape reply", "Start"]

    # Edit the draft: rename one node, delete another.
    select(page, "Check amount")
    panel = page.get_by_role("complementary", name="Node settings")
    panel.get_by_label("Name").fill("Is it big?")
    node(page, "Is it big?").wait_for()
    select(page, "Shape reply")
    panel.get_by_role("button", name="Delete node").click()
    wait_for_count(page, ".react-flow__node-baton", 2)
    expect_saved(page)
    workflow.refresh_from_db()
    edited_revision = workflow.revision

    # Restore asks first; Escape (or Cancel) leaves everything as it was.
    versions = open_versions(page)
    first = version_item(versions, 1)
    restore = first.get_by_role("button", name="Restore version 1 into the draft")
    restore.click()
    confirm = first.get_by_role("group", name="Restore version 1?")
    confirm.get_by_text("The draft becomes version 1 (3 nodes, 2 connections).").wait_for()
    confirm.get_by_text("Your current draft (2 nodes, 1 connection) is replaced").wait_for()
    assert page.evaluate("document.activeElement.textContent") == "Restore version 1"
    page.keyboard.press("Escape")
    confirm.wait_for(state="detached")
    assert versions.is_visible()  # Escape closed the question, not the dialog
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == (
        "Restore version 1 into the draft"
    )

    # Restore, with the keyboard: Enter on the button, Enter on the confirmation.
    page.keyboard.press("Enter")
    confirm.wait_for()
    page.keyboard.press("Enter")
    versions.wait_for(state="hidden")
    # The focus goes back to the menu the dialog came from, not to nowhere.
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "More actions"
    message = toast(page, r"^Restored version 1 into the draft \(saved as revision \d+\)")
    message.wait_for()
    node(page, "Check amount").wait_for()
    wait_for_count(page, ".react-flow__node-baton", 3)
    wait_for_count(page, ".react-flow__edge", 2)
    expect_saved(page)
    revision = int(re.search(r"revision (\d+)", message.inner_text()).group(1))
    assert revision > edited_revision
    workflow.refresh_from_db()
    assert workflow.revision == revision
    assert workflow.graph == workflow.published_version.graph
    assert page.get_by_text("Draft · v1 published").is_visible()  # restoring publishes nothing

    # It is one undo step.
    page.get_by_role("button", name="Undo").click()
    node(page, "Is it big?").wait_for()
    wait_for_count(page, ".react-flow__node-baton", 2)
    page.get_by_role("button", name="Redo").click()
    node(page, "Check amount").wait_for()
    wait_for_count(page, ".react-flow__node-baton", 3)
    expect_saved(page)

    # After a reload the draft is version 1's graph, and the dialog says so.
    page.reload()
    node(page, "Check amount").wait_for()
    assert node_names(page) == original
    wait_for_count(page, ".react-flow__edge", 2)
    versions = open_versions(page)
    version_item(versions, 1).get_by_text("Same as the draft").wait_for()
    clean(page)


def test_a_viewer_sees_versions_but_cannot_restore(context: Any, base_url: str) -> None:
    workflow = make_workflow("Refund check", GRAPH, publish=True)
    page = login(context, base_url, "viewer")
    page.goto(f"{base_url}/workflows/{workflow.pk}/")
    node(page, "Start").wait_for()
    versions = open_versions(page)
    first = version_item(versions, 1)
    first.get_by_text("The first cut").wait_for()
    assert versions.get_by_role("button", name=re.compile("Restore")).count() == 0
    assert page.get_by_role("button", name=re.compile("^(Publish|Submit)")).count() == 0
    clean(page)


# -- webhook URL ----------------------------------------------------------------

HOOK_GRAPH = {
    "version": 1,
    "nodes": [
        {
            "id": "incoming",
            "type": "trigger.webhook",
            "name": "Incoming order",
            "config": {"mode": "sync"},
            "position": {"x": 0, "y": 0},
        },
        {
            "id": "reply",
            "type": "data.transform",
            "name": "Reply",
            "config": {"output": {"order": "{{ trigger.body.order }}"}},
            "position": {"x": 300, "y": 0},
        },
    ],
    "edges": [{"id": "e1", "source": "incoming", "target": "reply"}],
}


def test_the_webhook_url_appears_on_publish_and_starts_the_live_version(
    context: Any, base_url: str, settings: Any
) -> None:
    import json
    import urllib.request

    settings.BASE_URL = base_url  # the address this server is reached at
    workflow = make_workflow("Orders", HOOK_GRAPH)
    page = login(context, base_url, "admin")
    open_editor(page, base_url, workflow, "Incoming order")
    select(page, "Incoming order")
    panel = page.get_by_role("complementary", name="Node settings")
    panel.get_by_role("heading", name="Webhook URL").wait_for()
    panel.get_by_text("Publish the workflow to get this trigger's URL.").wait_for()

    publish_now(page)

    field = panel.get_by_label("POST to this address to start a run")
    field.wait_for()
    url = field.input_value()
    hook = workflow.hooks.get()
    assert url == f"{base_url}/hooks/{hook.pk}/"
    panel.get_by_text("Calls run the live version (v1)").wait_for()

    # The address, as copied, starts a run of the live version and answers with its output.
    call = urllib.request.Request(
        url,
        data=json.dumps({"order": "A-17"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(call, timeout=30) as answer:
        assert answer.status == 200
        assert json.loads(answer.read()) == {"reply": {"order": "A-17"}}

    # After a reload the URL is still shown, without publishing again.
    page.reload()
    node(page, "Incoming order").wait_for()
    select(page, "Incoming order")
    assert panel.get_by_label("POST to this address to start a run").input_value() == url
    clean(page)


def test_a_schedule_trigger_says_when_it_runs_once_published(context: Any, base_url: str) -> None:
    graph = {
        "version": 1,
        "nodes": [
            {
                "id": "nightly",
                "type": "trigger.schedule",
                "name": "Nightly",
                "config": {"cron": "30 2 * * *", "timezone": "Asia/Tokyo"},
                "position": {"x": 0, "y": 0},
            },
            {
                "id": "report",
                "type": "data.transform",
                "name": "Report",
                "config": {"output": {"ok": True}},
                "position": {"x": 300, "y": 0},
            },
        ],
        "edges": [{"id": "e1", "source": "nightly", "target": "report"}],
    }
    workflow = make_workflow("Nightly report", graph)
    page = login(context, base_url, "admin")
    open_editor(page, base_url, workflow, "Nightly")
    select(page, "Nightly")
    panel = page.get_by_role("complementary", name="Node settings")
    panel.get_by_role("heading", name="When it runs").wait_for()
    panel.get_by_text("Publish the workflow to start this schedule.").wait_for()

    publish_now(page)

    next_run = panel.get_by_text(re.compile(r"^Next run:"))
    next_run.wait_for()
    # 02:30 in Tokyo, whatever the browser's own time zone
    assert "02:30" in next_run.inner_text() and "(Asia/Tokyo)" in next_run.inner_text()
    panel.get_by_text(re.compile("It has not run yet")).wait_for()
    clean(page)
