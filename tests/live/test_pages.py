"""The run page and the run list listen to their sockets instead of polling."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import make_user, make_workflow, make_workspace
from tests.runtime.run_factories import make_run


@pytest.fixture
def signed_in(db: Any) -> tuple[Client, Any]:
    workspace = make_workspace("acme")
    user = make_user("vera", workspace=workspace, roles=["viewer"])
    client = Client()
    client.force_login(user)
    return client, make_workflow(workspace)


def test_an_active_run_page_listens_to_its_socket(signed_in: tuple[Client, Any]) -> None:
    client, workflow = signed_in
    run = make_run(workflow, status="running", event_seq=7)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert f'data-live-socket="/ws/runs/{run.pk}/"' in page
    assert 'data-live-since="7"' in page
    assert "js/live-runs.js" in page
    assert "every 1s" not in page


def test_a_finished_run_page_does_not(signed_in: tuple[Client, Any]) -> None:
    client, workflow = signed_in
    run = make_run(workflow, status="succeeded")
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert "data-live-socket" not in page


def test_the_run_list_listens_to_the_workspace_socket(signed_in: tuple[Client, Any]) -> None:
    client, workflow = signed_in
    make_run(workflow, status="running")
    page = client.get("/runs/").content.decode()
    assert 'data-live-socket="/ws/workspaces/acme/"' in page
    assert "js/live-runs.js" in page
    partial = client.get("/runs/", headers={"HX-Request": "true", "HX-Target": "run-table"})
    assert 'data-live-socket="/ws/workspaces/acme/"' in partial.content.decode()
