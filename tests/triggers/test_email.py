"""notify.email through a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import socket

import pytest

from builder.nodes.base import NodeError
from tests.triggers.conftest import make_credential, run_node
from tests.triggers.servers import local_smtp


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_email_through_a_workspace_smtp_credential(ctx, workspace, settings):
    with local_smtp(auth=("mailer", "pw")) as (mailbox, port):
        settings.OUTBOUND_ALLOW = [f"127.0.0.1:{port}"]
        make_credential(
            workspace,
            name="mail",
            kind="smtp",
            config={
                "host": "127.0.0.1",
                "port": port,
                "username": "mailer",
                "use_tls": False,
                "from_email": "bot@acme.test",
            },
            secret="pw",
        )
        result = run_node(
            "notify.email",
            ctx,
            {
                "to": "a@acme.test, b@acme.test",
                "subject": "Hi",
                "body": "Ticket 7 needs you",
                "credential": "mail",
            },
        )
    assert result.output == {"sent": True, "to": ["a@acme.test", "b@acme.test"]}
    [message] = mailbox.messages
    assert message["from"] == "bot@acme.test"
    assert message["to"] == ["a@acme.test", "b@acme.test"]
    assert "Subject: Hi" in message["data"] and "Ticket 7 needs you" in message["data"]


def plain_smtp_credential(workspace, settings, port: int, host: str = "127.0.0.1") -> None:
    """Credential ``mail``: plain SMTP, no login, to ``host``; 127.0.0.1 on
    ``port`` allowed for outbound calls."""
    settings.OUTBOUND_ALLOW = [f"127.0.0.1:{port}"]
    make_credential(
        workspace,
        name="mail",
        kind="smtp",
        config={"host": host, "port": port, "use_tls": False},
        secret="",
    )


def test_the_same_step_sends_the_same_message_id(ctx, workspace, settings):
    with local_smtp() as (mailbox, port):
        plain_smtp_credential(workspace, settings, port)
        for _ in range(2):
            run_node(
                "notify.email", ctx, {"to": "a@acme.test", "subject": "x", "credential": "mail"}
            )
    ids = {
        line
        for m in mailbox.messages
        for line in m["data"].splitlines()
        if line.startswith("Message-ID")
    }
    assert len(mailbox.messages) == 2 and len(ids) == 1


def test_the_mail_goes_to_the_address_that_was_vetted(ctx, workspace, settings, monkeypatch):
    """DNS rebinding: the credential's host name resolves to an allowed
    address when it is vetted and to another one afterwards; the connection
    still goes to the vetted address."""
    with local_smtp() as (mailbox, port):
        plain_smtp_credential(workspace, settings, port, host="mail.acme.test")
        answers = iter(["127.0.0.1"])  # the first answer is vetted; later ones differ
        resolve = socket.getaddrinfo

        def rebinding(host, *args, **kwargs):
            if host == "mail.acme.test":
                host = next(answers, "127.0.0.2")  # nothing listens there
            return resolve(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        result = run_node(
            "notify.email", ctx, {"to": "a@acme.test", "subject": "x", "credential": "mail"}
        )
    assert result.output["sent"] is True
    assert [m["to"] for m in mailbox.messages] == [["a@acme.test"]]


def test_default_backend_without_credential(ctx, settings):
    with local_smtp() as (mailbox, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.DEFAULT_FROM_EMAIL = "baton@acme.test"
        run_node("notify.email", ctx, {"to": ["ops@acme.test"], "subject": "Default"})
    assert mailbox.messages[0]["to"] == ["ops@acme.test"]
    assert mailbox.messages[0]["from"] == "baton@acme.test"


def test_smtp_host_is_guarded_like_http(ctx, workspace, settings):
    settings.OUTBOUND_ALLOW = []
    make_credential(
        workspace, name="mail", kind="smtp", config={"host": "127.0.0.1", "port": 2525}, secret="x"
    )
    with pytest.raises(NodeError) as failure:
        run_node("notify.email", ctx, {"to": "a@acme.test", "subject": "x", "credential": "mail"})
    assert failure.value.type == "OutboundRefused"


def test_an_unreachable_server_is_retryable(ctx, workspace, settings):
    settings.OUTBOUND_ALLOW = ["127.0.0.1:9"]
    make_credential(
        workspace,
        name="mail",
        kind="smtp",
        config={"host": "127.0.0.1", "port": 9, "use_tls": False},
        secret="",
    )
    with pytest.raises(NodeError) as failure:
        run_node("notify.email", ctx, {"to": "a@acme.test", "subject": "x", "credential": "mail"})
    assert failure.value.retryable
