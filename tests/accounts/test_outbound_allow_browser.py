"""In real Chromium: a workspace admin edits the outbound allow-list on the
settings page (htmx, no page load) and is told which entry is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from accounts.models import Workspace
from tests.browser.conftest import chromium_browser, open_page, require_chromium
from tests.conftest import make_user, make_workspace

PASSWORD = "pw-Secret-123"  # tests.conftest.make_user's default

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    require_chromium()
    with chromium_browser() as browser:
        yield browser


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    with open_page(chromium, width=1280) as page:
        yield page


def test_admin_saves_the_allow_list_and_sees_a_bad_entry_named(live_server, page) -> None:
    workspace = make_workspace("lab")
    make_user("lena", workspace=workspace, roles=["admin"])
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("lena")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.goto(f"{live_server.url}/accounts/settings/")
    loads: list[str] = []
    page.on("load", lambda loaded: loads.append(loaded.url))
    entries = page.get_by_label("Allowed internal destinations (one a line)")
    entries.fill("localhost:11434\n10.0.0.1/8")
    page.get_by_role("button", name="Save allow-list").click()
    alert = page.get_by_role("status").filter(has_text="did you mean 10.0.0.0/8?")
    alert.wait_for()
    assert Workspace.objects.get(slug="lab").outbound_allow == []

    entries.fill("localhost:11434\n10.0.0.0/8\n*.Lab.Example.com")
    page.get_by_role("button", name="Save allow-list").click()
    page.get_by_text("Outbound allow-list saved.").wait_for()
    assert entries.input_value() == "localhost:11434\n10.0.0.0/8\n*.lab.example.com"
    assert Workspace.objects.get(slug="lab").outbound_allow == [
        "localhost:11434",
        "10.0.0.0/8",
        "*.lab.example.com",
    ]
    assert loads == []  # both answers came as htmx partials
