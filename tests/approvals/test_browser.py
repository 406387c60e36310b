"""End to end in real Chromium: a run waits; the approver edits the draft and
approves in the inbox (keyboard shortcut), without a page load; the run
finishes with the edited text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.approvals.conftest import reload, task_of
from tests.browser.conftest import chromium_browser, open_page, require_chromium

PASSWORD = "pw-Secret-123"  # tests.conftest.make_user's default

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    require_chromium()
    with chromium_browser() as browser:
        yield browser


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    with open_page(chromium, width=1360) as page:
        yield page


def sign_in(page: Any, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_approver_edits_the_draft_and_approves_in_the_browser(team, live_server, page) -> None:
    run = team.start()
    assert run.status == "waiting"
    sign_in(page, live_server.url, "ann")

    inbox = page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox")
    assert inbox.inner_text().strip().endswith("1")
    inbox.click()
    page.get_by_role("heading", name="Reply to Ada").wait_for()
    assert page.locator(".task-instructions strong").inner_text() == "tone"

    reply = page.get_by_role("textbox", name="Reply", exact=True)
    assert reply.input_value() == "Dear Ada, thank you for writing."
    edited = "Dear Ada, your order left our warehouse this morning."
    reply.fill(edited)
    page.get_by_label("Comment").fill("More concrete")
    page.get_by_role("heading", name="Reply to Ada").click()  # leave the text boxes

    page.evaluate("window.loadMarker = 'still here'")  # gone after a page load
    page.keyboard.press("a")
    page.get_by_text("Approved “Reply to Ada”. The run continues.").wait_for()
    page.get_by_role("heading", name="All done").wait_for()
    assert page.evaluate("window.loadMarker") == "still here"
    assert page.locator("#nav-inbox .nav-count").count() == 0
    assert page.js_errors == []

    run = reload(run)
    assert run.status == "succeeded"
    assert run.output["sent"] == {"reply": edited, "by": ["ann"]}
    review = run.steps.get(node_id="review").output
    assert review["comment"] == "More concrete"
    assert review["changes"]["reply"] == {"from": "Dear Ada, thank you for writing.", "to": edited}
    assert task_of(run).status == "approved"


def test_the_starter_sees_why_they_cannot_approve(team, live_server, page) -> None:
    run = team.start()
    sign_in(page, live_server.url, "sam")
    page.goto(f"{live_server.url}/inbox/{task_of(run).pk}/")
    page.get_by_text(
        "You started this run, so someone else has to decide this approval."
    ).wait_for()
    assert page.get_by_role("button", name="Approve").count() == 0
    assert reload(run).status == "waiting"
