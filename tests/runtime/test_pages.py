"""The run history page and the run page, as a person (or htmx) uses them."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.conftest import make_workflow, make_workspace
from tests.runtime.run_factories import finished_run, make_run, make_step

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_nav_links_the_run_history(admin):
    page = browser(admin).get("/").content.decode()
    assert 'href="/runs/"' in page


def test_history_lists_runs_with_status_badges(admin, workspace):
    workflow = make_workflow(workspace, name="Triage")
    failed = make_run(workflow, status="failed", user=admin)
    page = browser(admin).get("/runs/").content.decode()
    assert "Triage" in page and f"/runs/{failed.pk}/" in page
    assert 'class="badge status-failed">Failed<' in page
    assert "1.5 s" in page  # duration


def test_history_filters_return_only_the_table_for_htmx(admin, workspace):
    first, second = make_workflow(workspace, name="First"), make_workflow(workspace, name="Second")
    kept = make_run(first, status="failed")
    dropped = make_run(second, status="failed")
    response = browser(admin).get(
        f"/runs/?workflow={first.pk}&status=failed",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="run-table",
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="run-table"') and "<html" not in html
    assert f"/runs/{kept.pk}/" in html and f"/runs/{dropped.pk}/" not in html


def test_history_paginates(admin, workspace):
    workflow = make_workflow(workspace)
    for _ in range(27):
        make_run(workflow)
    client = browser(admin)
    first = client.get("/runs/").content.decode()
    assert "Page 1 of 2" in first and "27 runs" in first
    second = client.get("/runs/?page=2").content.decode()
    assert len(re.findall(r'href="/runs/[0-9a-f-]{36}/"', second)) == 2


def test_history_shows_only_the_current_workspace(admin, workspace):
    elsewhere = make_run(make_workflow(make_workspace("elsewhere")))
    assert f"/runs/{elsewhere.pk}/" not in browser(admin).get("/runs/").content.decode()


def test_run_page_shows_every_step_with_its_json(admin, workspace):
    workflow = make_workflow(workspace, name="Greeter")
    run = finished_run(workflow, user=admin)
    make_step(
        run,
        "boom",
        status="failed",
        attempts=3,
        error={"type": "Timeout", "message": "took too long"},
    )
    page = browser(admin).get(f"/runs/{run.pk}/").content.decode()
    assert "Greeter" in page and "alice" in page
    for node_id in ("start", "shape", "boom"):
        assert f"<strong>{node_id}</strong>" in page
    assert '<pre class="json">{\n  &quot;greeting&quot;: &quot;Hi Ada&quot;\n}</pre>' in page
    assert "Timeout: took too long" in page
    assert f'href="/workflows/{workflow.pk}/?run={run.pk}"' in page
    assert "data-live-socket" not in page  # finished: nothing to listen to


def test_an_active_run_listens_for_its_live_part(admin, workspace):
    run = make_run(make_workflow(workspace), status="running")
    make_step(run, "start")
    client = browser(admin)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert f'data-live-socket="/ws/runs/{run.pk}/"' in page and "Cancel run" in page
    partial = client.get(f"/runs/{run.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="run-live")
    assert partial.content.decode().lstrip().startswith('<div id="run-live"')


def test_viewers_see_no_run_buttons_and_cannot_post(viewer, workspace):
    run = make_run(make_workflow(workspace), status="running")
    client = browser(viewer)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert "Cancel run" not in page
    assert client.post(f"/runs/{run.pk}/cancel/").status_code == 403
    run.refresh_from_db()
    assert run.status == "running"


def test_runs_of_other_workspaces_are_404(outsider, workspace):
    run = make_run(make_workflow(workspace))
    assert browser(outsider).get(f"/runs/{run.pk}/").status_code == 404


def test_cancelling_a_finished_run_explains_why(admin, workspace):
    run = finished_run(make_workflow(workspace))
    response = browser(admin).post(f"/runs/{run.pk}/cancel/", follow=True)
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    run.refresh_from_db()
    assert run.status == "succeeded"


def test_rerun_from_a_step_opens_the_new_run(engine, workspace):
    from runtime import services
    from runtime.models import Run
    from tests.conftest import make_user

    runner = make_user("rhea", workspace=workspace, roles=["runner"])
    workflow = make_workflow(workspace, name="Greeter")
    run = services.start_run(runner, workflow, input={"name": "Ada"}, version="draft")
    client = browser(runner)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert '<option value="shape">shape</option>' in page
    response = client.post(f"/runs/{run.pk}/rerun/", {"from_node": "shape"})
    new_run = Run.objects.exclude(pk=run.pk).get()
    assert response.status_code == 302 and response["Location"] == f"/runs/{new_run.pk}/"
    assert new_run.rerun_of_id == run.pk
    shown = client.get(response["Location"]).content.decode()
    assert "Re-run of" in shown and "reused from" in shown
