"""Every outbound caller made on behalf of a workspace honours that workspace's
allow-list, and only that one: the AI providers (a local OpenAI-compatible or
Anthropic server, as a local Ollama would be) and the SMTP host of notify.email."""

from __future__ import annotations

import pytest

from accounts import services as accounts
from builder.nodes.base import NodeError
from integrations import services
from tests.conftest import make_user, make_workspace
from tests.integrations.fake_providers import FakeAnthropic, FakeOpenAI, reply
from tests.triggers.conftest import Ctx, run_node
from tests.triggers.servers import local_smtp

pytestmark = pytest.mark.django_db

KINDS = {"openai": (FakeOpenAI, "gpt-4o-mini"), "anthropic": (FakeAnthropic, "claude-haiku-4-5")}


@pytest.fixture(autouse=True)
def _operator_allows_nothing(settings):
    settings.OUTBOUND_ALLOW = []


def lab_and_admin(slug: str = "lab"):
    workspace = make_workspace(slug)
    return workspace, make_user(f"{slug}-admin", workspace=workspace, roles=["admin"])


def ask(workspace, kind: str, base_url: str, model: str):
    config = {"base_url": base_url, "default_model": model}
    services.create_credential(None, workspace, name="local", kind=kind, config=config, secret="k")
    return run_node("ai.llm", Ctx(workspace.pk), {"credential": "local", "prompt": "Say hi"})


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_local_model_server_needs_the_workspace_to_allow_it(kind):
    server_class, model = KINDS[kind]
    server = server_class().start()
    try:
        lab, admin = lab_and_admin()
        other, _ = lab_and_admin("other")
        accounts.set_outbound_allow(admin, lab, [f"localhost:{server.port}", server.address])
        server.queue(reply("hello"))
        assert ask(lab, kind, server.base_url, model).output["text"] == "hello"
        with pytest.raises(NodeError) as refused:
            ask(other, kind, server.base_url, model)
        assert refused.value.type == "OutboundRefused"
        assert "workspace settings" in refused.value.message
        assert len(server.received) == 1
    finally:
        server.stop()


def test_the_smtp_host_of_a_credential_follows_the_workspace_list():
    lab, admin = lab_and_admin()
    other, _ = lab_and_admin("other")
    with local_smtp() as (mailbox, port):
        config = {"host": "127.0.0.1", "port": port, "use_tls": False}
        for workspace in (lab, other):
            services.create_credential(
                None, workspace, name="mail", kind="smtp", config=config, secret=""
            )
        email = {"to": "a@acme.test", "subject": "x", "credential": "mail"}
        accounts.set_outbound_allow(admin, lab, [f"127.0.0.1:{port}"])
        assert run_node("notify.email", Ctx(lab.pk), email).output["sent"] is True
        with pytest.raises(NodeError) as refused:
            run_node("notify.email", Ctx(other.pk), email)
    assert refused.value.type == "OutboundRefused"
    assert len(mailbox.messages) == 1
