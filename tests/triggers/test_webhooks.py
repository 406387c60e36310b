"""Webhooks: URLs on publish, async and sync answers, signing, limits."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.test import Client

from builder import services as builder_services
from tests.conftest import api_client, make_workflow
from triggers import signing

SECRET = "whsec_" + "c2VjcmV0LXNpZ25pbmcta2V5LWZvci10ZXN0cw=="


def webhook_graph(mode: str = "async", signing_credential: str | None = None) -> dict:
    config = {"mode": mode}
    if signing_credential:
        config["signing_credential"] = signing_credential
    return {
        "version": 1,
        "nodes": [
            {"id": "hook", "type": "trigger.webhook", "config": config},
            {
                "id": "reply",
                "type": "data.transform",
                "config": {
                    "output": {"echo": "{{ trigger.body.name }}", "q": "{{ trigger.query.q }}"}
                },
            },
        ],
        "edges": [{"id": "e1", "source": "hook", "target": "reply"}],
    }


def published(user, graph: dict):
    workflow = make_workflow(user.memberships.first().workspace, graph=graph, user=user)
    builder_services.create_version(user, workflow)
    return workflow


def hook_path(user, workflow, node_id: str = "hook") -> str:
    answer = api_client(user).get(f"/api/v1/workflows/{workflow.pk}/")
    [hook] = [h for h in answer.json()["hooks"] if h["node_id"] == node_id]
    return "/" + hook["url"].split("/", 3)[3]


def post(path: str, body: dict | bytes, **headers) -> object:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Client().post(path, data, content_type="application/json", headers=headers)


def test_publishing_gives_an_unguessable_url(owner):
    workflow = published(owner, webhook_graph())
    path = hook_path(owner, workflow)
    hook_id = path.split("/")[2]
    assert path == f"/hooks/{hook_id}/" and len(hook_id) >= 40


def test_async_answers_202_with_the_run_of_the_published_version(owner):
    from runtime.models import Run

    workflow = published(owner, webhook_graph())
    workflow.graph = {**workflow.graph, "nodes": workflow.graph["nodes"][:1], "edges": []}
    workflow.save()  # a draft edit after publishing: the published version still runs
    answer = post(hook_path(owner, workflow) + "?q=1", {"name": "Ada"}, X_Source="crm")
    assert answer.status_code == 202
    run = Run.objects.get(pk=answer.json()["run_id"])
    assert run.trigger_kind == "webhook" and run.version_number == 1
    assert run.input["body"] == {"name": "Ada"}
    assert run.input["query"] == {"q": "1"} and run.input["method"] == "POST"
    assert run.input["headers"]["x-source"] == "crm"
    assert run.status == "succeeded" and run.output == {"reply": {"echo": "Ada", "q": "1"}}


def test_sync_answers_with_the_run_output(owner):
    workflow = published(owner, webhook_graph("sync"))
    answer = post(hook_path(owner, workflow) + "?q=x", {"name": "Grace"})
    assert answer.status_code == 200
    assert answer.json() == {"reply": {"echo": "Grace", "q": "x"}}


def test_sync_answers_202_when_the_run_takes_longer(owner, settings):
    settings.WEBHOOK_SYNC_TIMEOUT_S = 0.3
    graph = webhook_graph("sync")
    graph["nodes"][1] = {"id": "reply", "type": "flow.delay", "config": {"seconds": 60}}
    workflow = published(owner, graph)
    started = time.monotonic()
    answer = post(hook_path(owner, workflow), {"name": "slow"})
    assert answer.status_code == 202 and "run_id" in answer.json()
    assert time.monotonic() - started < 3


def test_sync_answers_500_when_the_run_fails(owner):
    graph = webhook_graph("sync")
    graph["nodes"][1] = {"id": "reply", "type": "flow.fail", "config": {"message": "nope"}}
    workflow = published(owner, graph)
    answer = post(hook_path(owner, workflow), {})
    assert answer.status_code == 500
    assert answer.json()["status"] == "failed" and answer.json()["run_id"]


def test_unknown_hook_is_404_json(transactional_db):
    answer = post("/hooks/not-a-hook/", {})
    assert answer.status_code == 404 and answer.json()["detail"]


def test_an_overlong_hook_id_is_404(transactional_db):
    answer = post("/hooks/" + "x" * 300 + "/", {})
    assert answer.status_code == 404 and answer.json()["detail"]


def test_a_new_version_without_the_trigger_drops_the_url(owner):
    workflow = published(owner, webhook_graph())
    path = hook_path(owner, workflow)
    builder_services.create_version(owner, workflow)  # same trigger: same URL
    assert hook_path(owner, workflow) == path
    builder_services.create_version(
        owner,
        workflow,
        graph={"version": 1, "nodes": [{"id": "m", "type": "trigger.manual"}], "edges": []},
    )
    assert post(path, {}).status_code == 404
    assert api_client(owner).get(f"/api/v1/workflows/{workflow.pk}/").json()["hooks"] == []


def test_a_deleted_workflow_stops_answering(owner):
    workflow = published(owner, webhook_graph())
    path = hook_path(owner, workflow)
    builder_services.delete_workflow(owner, workflow)
    assert post(path, {}).status_code == 404


def test_body_size_limit(owner, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 100
    workflow = published(owner, webhook_graph())
    answer = post(hook_path(owner, workflow), {"name": "x" * 200})
    assert answer.status_code == 413


def test_rate_limit_per_hook(owner, settings):
    settings.WEBHOOK_RATE_LIMIT_PER_MIN = 2
    first = published(owner, webhook_graph())
    second = published(owner, webhook_graph())
    path = hook_path(owner, first)
    assert [post(path, {}).status_code for _ in range(3)] == [202, 202, 429]
    assert post(hook_path(owner, second), {}).status_code == 202


# -- signing ---------------------------------------------------------------------


@pytest.fixture
def signed_hook(owner):
    from integrations import services

    workspace = owner.memberships.first().workspace
    services.create_credential(owner, workspace, name="sig", kind="http", config={}, secret=SECRET)
    return hook_path(owner, published(owner, webhook_graph(signing_credential="sig")))


def signed_headers(body: bytes, *, message_id: str | None = None, at: float | None = None) -> dict:
    message_id = message_id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time() if at is None else at)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.sign(SECRET, message_id, timestamp, body),
    }


def test_a_signed_call_is_accepted(signed_hook):
    body = b'{"name": "signed"}'
    assert post(signed_hook, body, **signed_headers(body)).status_code == 202


def test_an_unsigned_call_is_refused(signed_hook):
    answer = post(signed_hook, b"{}")
    assert answer.status_code == 401 and "not signed" in answer.json()["detail"]


def test_a_tampered_body_is_refused(signed_hook):
    headers = signed_headers(b'{"amount": 1}')
    assert post(signed_hook, b'{"amount": 1000}', **headers).status_code == 401


def test_an_expired_signature_is_refused(signed_hook):
    body = b"{}"
    answer = post(signed_hook, body, **signed_headers(body, at=time.time() - 6 * 60))
    assert answer.status_code == 401 and "5 minutes" in answer.json()["detail"]


def test_a_replayed_id_is_refused(signed_hook):
    from runtime.models import Run

    body = b'{"n": 1}'
    headers = signed_headers(body, message_id="msg_once")
    assert post(signed_hook, body, **headers).status_code == 202
    assert post(signed_hook, body, **headers).status_code == 409
    assert Run.objects.filter(trigger_kind="webhook").count() == 1


def test_the_signature_header_may_list_several_signatures(signed_hook):
    body = b"{}"
    headers = signed_headers(body)
    headers["webhook-signature"] = "v1,AAAA " + headers["webhook-signature"]
    assert post(signed_hook, body, **headers).status_code == 202


def test_signing_spec_vector():
    """The example of the Standard Webhooks specification."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert signing.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected
