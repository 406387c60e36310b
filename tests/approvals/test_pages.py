"""The inbox pages: list and detail, the generated form, decisions, refusals."""

from __future__ import annotations

from django.test import Client

from tests.approvals.conftest import reload, task_of

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "task-detail"}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_inbox_lists_the_task_and_shows_it_with_a_prefilled_form(team) -> None:
    run = team.start()
    task = task_of(run)
    html = signed_in(team.ann).get("/inbox/").content.decode()
    assert "Reply to Ada" in html and f"/inbox/{task.pk}/" in html
    assert 'class="nav-count" aria-label="1 pending"' in html
    assert "<strong>tone</strong>" in html  # instructions rendered from Markdown
    assert "Where is my order?" in html  # the data in context
    assert 'name="field__reply"' in html and "Dear Ada, thank you for writing." in html
    assert '<select id="f-priority" name="field__priority"' in html
    assert "Approve" in html and "Reject" in html


def test_instructions_are_sanitised(team) -> None:
    run = team.start(
        instructions="Hi <script>alert(1)</script> [x](javascript:alert(2)) "
        "<img src=x onerror=alert(3)> **ok**"
    )
    html = signed_in(team.ann).get(f"/inbox/{task_of(run).pk}/").content.decode()
    section = html[html.index('class="task-instructions') :]
    section = section[: section.index("</div>")]
    assert "<script" not in section and "javascript:" not in section
    assert "onerror" not in section and "<img" not in section
    assert "<strong>ok</strong>" in section


def test_deciding_on_the_page_with_htmx_resumes_the_run(team) -> None:
    run = team.start()
    task = task_of(run)
    response = signed_in(team.ann).post(
        f"/inbox/{task.pk}/decide/",
        {
            "decision": "approve",
            "comment": "ok",
            "field__reply": "Edited on the page",
            "field__priority": '"high"',
        },
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Approved “Reply to Ada”. The run continues." in html
    assert 'id="task-list" class="task-list" hx-swap-oob="true"' in html
    assert 'id="nav-inbox" hx-swap-oob="true"' in html
    output = reload(run).steps.get(node_id="review").output
    assert output["data"] == {"reply": "Edited on the page", "priority": "high"}
    assert reload(run).output["sent"]["reply"] == "Edited on the page"


def test_self_approval_is_refused_on_the_page(team) -> None:
    run = team.start()
    task = task_of(run)
    client = signed_in(team.starter)
    html = client.get(f"/inbox/{task.pk}/").content.decode()
    assert "You started this run, so someone else has to decide this approval." in html
    assert 'data-decision="approve"' not in html
    response = client.post(f"/inbox/{task.pk}/decide/", {"decision": "approve"}, **HTMX)
    assert response.status_code == 403
    assert "You started this run" in response.content.decode()
    assert task_of(run).status == "pending" and reload(run).status == "waiting"


def test_a_late_second_decision_explains_what_happened(team) -> None:
    from approvals import services

    run = team.start()
    task = task_of(run)
    bob = signed_in(team.bob)
    assert bob.get(f"/inbox/{task.pk}/").status_code == 200  # bob opens it...
    services.decide(team.ann, task, "approve")  # ...ann is faster
    response = bob.post(f"/inbox/{task.pk}/decide/", {"decision": "reject"}, **HTMX)
    assert response.status_code == 409
    assert "already decided: approved by ann" in response.content.decode()


def test_invalid_field_values_are_shown_next_to_the_form(team) -> None:
    run = team.start(
        fields={
            "type": "object",
            "properties": {
                "amount": {"type": "integer", "default": 3, "maximum": 10},
                "notify": {"type": "boolean", "default": True},
            },
        }
    )
    task = task_of(run)
    client = signed_in(team.ann)
    html = client.get(f"/inbox/{task.pk}/").content.decode()
    assert 'type="number" id="f-amount"' in html and 'type="checkbox" id="f-notify"' in html
    response = client.post(
        f"/inbox/{task.pk}/decide/", {"decision": "approve", "field__amount": "2.5"}, **HTMX
    )
    assert response.status_code == 400 and "Enter a whole number." in response.content.decode()
    response = client.post(
        f"/inbox/{task.pk}/decide/", {"decision": "approve", "field__amount": "11"}, **HTMX
    )
    assert response.status_code == 400 and "Some fields are not valid" in response.content.decode()
    response = client.post(
        f"/inbox/{task.pk}/decide/", {"decision": "approve", "field__amount": "7"}, **HTMX
    )
    assert response.status_code == 200
    output = reload(run).steps.get(node_id="review").output
    assert output["data"] == {"amount": 7, "notify": False}
    assert output["changes"] == {
        "amount": {"from": 3, "to": 7},
        "notify": {"from": True, "to": False},
    }


def test_other_workspaces_tasks_are_404_on_the_page(team) -> None:
    from tests.conftest import make_user, make_workspace

    task = task_of(team.start())
    outsider = make_user("mallory", workspace=make_workspace("other"), roles=["admin"])
    assert signed_in(outsider).get(f"/inbox/{task.pk}/").status_code == 404
    assert (
        signed_in(outsider).post(f"/inbox/{task.pk}/decide/", {"decision": "approve"}).status_code
        == 404
    )


def test_filters_and_empty_states(team) -> None:
    run = team.start()
    client = signed_in(team.ann)
    html = client.get(
        "/inbox/?q=nothing-like-this", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="task-list"
    ).content.decode()
    assert "No tasks here" not in html and "Nothing waits for you" in html
    assert 'id="nav-inbox" hx-swap-oob="true"' in html
    from approvals import services

    services.decide(team.ann, task_of(run), "approve")
    html = client.get("/inbox/?status=decided").content.decode()
    assert "Reply to Ada" in html and "Approved" in html
    html = client.get("/inbox/").content.decode()
    assert "Nothing waits for you" in html and "nav-count" not in html


def test_a_plain_form_post_redirects_back_to_the_inbox(team) -> None:
    run = team.start()
    client = signed_in(team.ann)
    response = client.post(
        f"/inbox/{task_of(run).pk}/decide/", {"decision": "reject", "comment": "no"}
    )
    assert response.status_code == 302 and response["Location"] == "/inbox/"
    html = client.get("/inbox/").content.decode()
    assert "Rejected “Reply to Ada”. The run continues." in html
    assert reload(run).output == {"dropped": {"why": "no"}}


def test_the_nav_count_refreshes_itself(team) -> None:
    client = signed_in(team.ann)
    html = client.get("/inbox/count/").content.decode()
    assert 'id="nav-inbox"' in html and "nav-count" not in html
    team.start()
    html = client.get("/inbox/count/?current=1").content.decode()
    assert 'aria-label="1 pending"' in html and 'aria-current="page"' in html
    assert 'hx-trigger="every 30s"' in html
