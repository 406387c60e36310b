"""A workspace admin's outbound allow-list, end to end: ``http.request`` steps run
by the real engine against a real local server on 127.0.0.1."""

from __future__ import annotations

import pytest

from accounts import services as accounts
from runtime import services as runtime
from runtime.models import Run
from tests.conftest import make_user, make_workspace
from tests.runtime.conftest import flow
from tests.triggers.servers import Reply, local_http

TRIGGER = {"id": "t", "type": "trigger.manual"}


@pytest.fixture
def server(settings):
    settings.OUTBOUND_ALLOW = []  # the operator allows nothing: only workspace lists count
    with local_http() as http:
        http.routes["/ping"] = Reply(200, {"pong": True})
        yield http


@pytest.fixture
def admin(engine):
    return make_user("ws-admin", workspace=make_workspace("lab"), roles=["admin"])


def call(user, url: str) -> Run:
    """Run ``trigger -> http.request(url)`` as ``user`` and return the finished run."""
    node = {"id": "call", "type": "http.request", "config": {"url": url, "timeout_s": 5}}
    workflow = flow(user, [TRIGGER, node], [("t", "call")])
    run = runtime.start_run(user, workflow, input={}, version="draft")
    run.refresh_from_db()
    return run


def outcome(run: Run) -> tuple[str, str | None]:
    step = run.steps.get(node_id="call")
    return step.status, (step.error or {}).get("type")


def test_unreachable_by_default_reachable_once_the_admin_allows_it(server, admin):
    refused = call(admin, server.url("/ping"))
    assert refused.status == "failed" and outcome(refused) == ("failed", "OutboundRefused")
    assert server.requests == []

    accounts.set_outbound_allow(admin, admin.memberships.first().workspace, [server.address])
    allowed = call(admin, server.url("/ping"))
    assert allowed.status == "succeeded", allowed.error
    assert allowed.output["call"]["body"] == {"pong": True}
    assert server.attempts("/ping") == 1
    assert server.requests[0].headers["idempotency-key"] == f"{allowed.pk}:call:1"


def test_another_workspaces_allow_list_does_not_apply(server, admin):
    accounts.set_outbound_allow(admin, admin.memberships.first().workspace, [server.address])
    stranger = make_user("stranger", workspace=make_workspace("elsewhere"), roles=["admin"])
    run = call(stranger, server.url("/ping"))
    assert outcome(run) == ("failed", "OutboundRefused")
    assert server.requests == []


@pytest.mark.parametrize(
    "target",
    ["OTHER_PORT", "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/", "http://[::1]/"],
)
def test_a_redirect_from_an_allowed_server_to_anything_else_is_refused(server, admin, target):
    with local_http() as other:
        other.routes["/secret"] = Reply(200, {"secret": 1})
        location = other.url("/secret") if target == "OTHER_PORT" else target
        server.routes["/go"] = Reply(302, b"", {"Location": location})
        accounts.set_outbound_allow(admin, admin.memberships.first().workspace, [server.address])
        run = call(admin, server.url("/go"))
        assert outcome(run) == ("failed", "OutboundRefused")
        assert server.attempts("/go") == 1  # refused, so not retried either
        assert other.requests == []


def test_a_range_opens_the_server_but_never_the_metadata_address(server, admin):
    workspace = admin.memberships.first().workspace
    accounts.set_outbound_allow(admin, workspace, ["127.0.0.0/8", "169.254.0.0/16", "fd00::/8"])
    assert call(admin, server.url("/ping")).status == "succeeded"
    for url in ("http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/"):
        run = call(admin, url)
        assert outcome(run) == ("failed", "OutboundRefused")
        assert "cloud metadata" in run.steps.get(node_id="call").error["message"]


def test_a_removed_entry_closes_the_door_again(server, admin):
    workspace = admin.memberships.first().workspace
    accounts.set_outbound_allow(admin, workspace, [f"localhost:{server.port}", server.address])
    assert call(admin, server.url("/ping")).status == "succeeded"
    accounts.set_outbound_allow(admin, workspace, [])
    assert outcome(call(admin, server.url("/ping"))) == ("failed", "OutboundRefused")
    assert server.attempts("/ping") == 1
