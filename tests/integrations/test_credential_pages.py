"""The credential pages: list, create and edit with a write-only secret,
disable and enable, delete, prices; scripted credentials marked as test doubles."""

from __future__ import annotations

import pytest
from django.test import Client

from integrations import crypto, services
from integrations.models import Credential, ModelPrice
from tests.integrations.fake_providers import CANARY

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def browser(admin) -> Client:
    client = Client()
    client.force_login(admin)
    return client


def test_list_marks_scripted_credentials_as_test_doubles(browser, workspace):
    services.create_credential(None, workspace, name="openai-main", kind="openai", secret=CANARY)
    services.create_credential(
        None, workspace, name="demo-model", kind="scripted", config={"default": "hi"}
    )
    page = browser.get("/credentials/").content.decode()
    assert "openai-main" in page and "demo-model" in page
    assert page.count("Test double") == 1
    assert 'href="/credentials/"' in page  # the nav link for admins
    assert CANARY not in page


def test_create_with_a_secret_that_is_never_shown_again(browser, workspace):
    response = browser.post(
        "/credentials/new/",
        {
            "name": "claude",
            "kind": "anthropic",
            "config": "{}",
            "secret": CANARY,
        },
    )
    assert response.status_code == 302
    credential = Credential.objects.get(workspace=workspace, name="claude")
    assert crypto.decrypt(credential.secret_token) == CANARY
    form = browser.get(f"/credentials/{credential.pk}/").content.decode()
    assert CANARY not in form and "A secret is stored." in form
    assert 'type="password"' in form


def test_editing_without_a_secret_keeps_it(browser, workspace):
    credential = services.create_credential(None, workspace, name="c", kind="openai", secret=CANARY)
    response = browser.post(
        f"/credentials/{credential.pk}/",
        {
            "name": "c2",
            "kind": "openai",
            "config": '{"base_url": "http://localhost:11434/v1"}',
            "secret": "",
        },
    )
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.name == "c2" and credential.config["base_url"].endswith("/v1")
    assert crypto.decrypt(credential.secret_token) == CANARY


def test_form_errors_are_shown(browser, workspace):
    services.create_credential(None, workspace, name="taken", kind="scripted")
    page = browser.post(
        "/credentials/new/", {"name": "taken", "kind": "scripted", "config": "{"}
    ).content.decode()
    assert "Not valid JSON" in page
    page = browser.post(
        "/credentials/new/", {"name": "taken", "kind": "scripted", "config": "{}"}
    ).content.decode()
    assert "already exists" in page


def test_disable_enable_and_delete_with_htmx(browser, workspace):
    credential = services.create_credential(None, workspace, name="c", kind="scripted")
    row = browser.post(f"/credentials/{credential.pk}/toggle/", **HTMX).content.decode()
    assert "Disabled" in row and "Enable" in row
    credential.refresh_from_db()
    assert credential.disabled
    browser.post(f"/credentials/{credential.pk}/toggle/", **HTMX)
    credential.refresh_from_db()
    assert not credential.disabled
    response = browser.post(f"/credentials/{credential.pk}/delete/", **HTMX)
    assert response.status_code == 200 and response.content == b""
    assert not Credential.objects.filter(pk=credential.pk).exists()


def test_members_without_the_right_are_refused(editor, workspace):
    client = Client()
    client.force_login(editor)
    assert client.get("/credentials/").status_code == 403
    assert client.get("/credentials/prices/").status_code == 403
    assert 'href="/credentials/"' not in client.get("/").content.decode()


def test_prices_page_shows_defaults_and_saves_edits(browser, workspace):
    page = browser.get("/credentials/prices/").content.decode()
    assert "gpt-4o-mini" in page and "default list prices" in page
    assert not ModelPrice.objects.filter(workspace=workspace).exists()  # a GET writes nothing
    response = browser.post(
        "/credentials/prices/",
        {"model": "llama3", "input_usd_per_mtok": "0", "output_usd_per_mtok": "0"},
    )
    assert response.status_code == 302
    assert ModelPrice.objects.filter(workspace=workspace, model="gpt-4o-mini").exists()
    assert ModelPrice.objects.filter(workspace=workspace, model="llama3").exists()
    page = browser.get("/credentials/prices/").content.decode()
    assert "llama3" in page and "default list prices" not in page
    browser.post("/credentials/prices/delete/", {"model": "llama3"}, **HTMX)
    assert not ModelPrice.objects.filter(workspace=workspace, model="llama3").exists()
