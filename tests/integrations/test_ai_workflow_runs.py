"""AI nodes inside real runs: the engine renders templates, calls the node
(which talks to a local OpenAI wire server), records tokens and cost on the
step and the run, and follows ai.classify's category port."""

from __future__ import annotations

import json
from typing import Any

import pytest

from integrations import services
from tests.conftest import api_client, make_user, make_workflow, make_workspace
from tests.integrations.fake_providers import CANARY, reply


@pytest.fixture
def engine(transactional_db: Any) -> Any:
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def admin_user(engine: Any) -> Any:
    return make_user(workspace=make_workspace("support"), roles=["admin"])


def node(node_id: str, type_: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type_, "config": config}


def edge(source: str, target: str, port: str = "out") -> dict[str, Any]:
    return {"id": f"{source}-{target}", "source": source, "target": target, "source_port": port}


def run_draft(user: Any, nodes: list[dict], edges: list[dict], payload: dict) -> Any:
    from runtime import services as runtime_services
    from runtime.models import Run

    graph = {"version": 1, "nodes": nodes, "edges": edges}
    workflow = make_workflow(user.memberships.first().workspace, graph=graph, user=user)
    run = runtime_services.start_run(user, workflow, input=payload, version="draft")
    return Run.objects.get(pk=run.pk)


def steps_of(run: Any) -> dict[str, Any]:
    return {step.node_id: step for step in run.steps.all()}


SUPPORT_FLOW = [
    node("start", "trigger.manual"),
    node("mood", "ai.sentiment", text="{{ trigger.message }}"),
    node(
        "route",
        "ai.classify",
        credential="triage",
        model="gpt-4o-mini",
        text="{{ trigger.message }}",
        categories=[{"name": "billing"}, {"name": "technical"}],
    ),
    node(
        "reply",
        "ai.llm",
        credential="openai-main",
        model="gpt-4o-mini",
        system="Mood: {{ nodes.mood.output.label }}",
        prompt="Answer: {{ trigger.message }}",
    ),
    node("escalate", "data.transform", output={"to": "engineering"}),
]
SUPPORT_EDGES = [
    edge("start", "mood"),
    edge("mood", "route"),
    edge("route", "reply", "billing"),
    edge("route", "escalate", "technical"),
]


def test_usage_and_cost_per_step_and_per_run(admin_user, openai_server):
    workspace = admin_user.memberships.first().workspace
    services.create_credential(
        None,
        workspace,
        name="openai-main",
        kind="openai",
        config={"base_url": openai_server.base_url},
        secret=CANARY,
    )
    services.create_credential(
        None,
        workspace,
        name="triage",
        kind="scripted",
        config={
            "replies": [{"match": "invoice", "json": {"category": "billing", "confidence": 0.8}}],
        },
    )
    openai_server.queue(reply("We will fix your invoice.", input_tokens=1000, output_tokens=100))
    run = run_draft(
        admin_user, SUPPORT_FLOW, SUPPORT_EDGES, {"message": "My invoice is wrong, I am angry"}
    )

    assert run.status == "succeeded", run.error
    steps = steps_of(run)
    assert steps["mood"].output["label"] == "negative"
    assert steps["route"].port == "billing" and steps["escalate"].status == "skipped"
    assert steps["reply"].output["text"] == "We will fix your invoice."
    assert steps["reply"].usage == {"input_tokens": 1000, "output_tokens": 100}
    assert steps["reply"].cost_usd == pytest.approx(0.00021)
    assert steps["route"].usage["input_tokens"] > 0
    assert run.usage["input_tokens"] == 1000 + steps["route"].usage["input_tokens"]
    assert run.cost_usd == pytest.approx(steps["reply"].cost_usd + steps["route"].cost_usd)
    sent = openai_server.received[0].body["messages"]
    assert sent[0] == {"role": "system", "content": "Mood: negative"}
    records = [[s.input, s.output, s.error] for s in steps.values()] + [run.output, run.error]
    records += list(run.events.values_list("payload", flat=True))
    assert CANARY not in json.dumps(records, default=str)
    response = api_client(admin_user).get(f"/api/v1/runs/{run.pk}/")
    assert response.status_code == 200 and CANARY not in response.content.decode()
    by_node = {step["node_id"]: step for step in response.json()["steps"]}
    assert by_node["reply"]["usage"] == {"input_tokens": 1000, "output_tokens": 100}
    assert by_node["reply"]["cost_usd"] == pytest.approx(0.00021)


def test_a_disabled_credential_fails_the_step_at_once(admin_user, openai_server):
    workspace = admin_user.memberships.first().workspace
    credential = services.create_credential(
        None,
        workspace,
        name="openai-main",
        kind="openai",
        config={"base_url": openai_server.base_url},
        secret=CANARY,
    )
    services.update_credential(None, credential, disabled=True)
    nodes = [
        node("start", "trigger.manual"),
        node("ask", "ai.llm", credential="openai-main", model="gpt-4o-mini", prompt="hi"),
    ]
    run = run_draft(admin_user, nodes, [edge("start", "ask")], {})
    assert run.status == "failed"
    ask = steps_of(run)["ask"]
    assert ask.error["type"] == "CredentialDisabled"
    assert openai_server.received == []
