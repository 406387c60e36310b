"""Matrix rows that need committed data: async views and WebSocket consumers.

They read the database from other threads, which cannot see data held in an
open test transaction, so these rows run on a transactional database.
"""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.test import Client

from builder.models import Workflow
from builder.services import create_version
from runtime.models import Run
from tests.accounts.authz_rows import CALLERS, GRAPH, ROWS, WS_ROWS, Row
from tests.accounts.test_authorization_matrix import call
from tests.conftest import make_user, make_workspace


@pytest.fixture
def committed_world(transactional_db: None) -> dict[str, Any]:
    acme, other = make_workspace("acme"), make_workspace("other")
    users: dict[str, Any] = {
        role: make_user(role, workspace=acme, roles=[role])
        for role in ("viewer", "runner", "editor", "approver", "admin")
    }
    users["other_admin"] = make_user("other_admin", workspace=other, roles=["admin"])
    workflow = Workflow.objects.create(workspace=acme, name="Flow", graph=GRAPH)
    create_version(users["admin"], workflow, "v1")
    run = Run.objects.create(
        workspace=acme,
        workflow=workflow,
        version=workflow.published_version,
        graph=GRAPH,
        status="running",
        input={},
        started_by=users["runner"],
        trigger_node="start",
    )
    return {"users": users, "ids": {"workflow": workflow.pk, "run": run.pk}, "tokens": {}}


def _client(caller: str, world: dict[str, Any]) -> Client:
    client = Client(raise_request_exception=False)
    if caller != "anonymous":
        client.force_login(world["users"][caller])
    return client


@pytest.mark.parametrize("row", [r for r in ROWS if r.committed], ids=lambda row: row.id)
def test_committed_row(row: Row, committed_world: dict[str, Any]) -> None:
    actual = {}
    for caller in CALLERS:
        cache.clear()
        actual[caller] = call(row, caller, _client(caller, committed_world), committed_world)
    assert actual == row.expected(), f"{row.id}: {actual}"


async def _socket_outcome(path: str, cookie: str) -> Any:
    """ "open" if the socket stays open, else the close code it was sent."""
    from config.asgi import application

    headers = [(b"origin", b"http://localhost")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=5)
    if not connected:
        return code
    outcome: Any = "open"
    # receive_nothing waits without cancelling the consumer (receive_output's timeout would).
    while not await communicator.receive_nothing(timeout=0.5):
        message = await communicator.receive_output()
        if message["type"] == "websocket.close":
            return message.get("code")
    await communicator.disconnect()
    return outcome


@pytest.mark.parametrize("row", WS_ROWS, ids=lambda row: row.id)
def test_websocket_row(row: Row, committed_world: dict[str, Any]) -> None:
    ids = committed_world["ids"]
    kwargs = {key: ids.get(value, value) for key, value in row.kwargs.items()}
    path = reverse_ws(row.route, kwargs)
    actual = {}
    for caller in CALLERS:
        client = _client(caller, committed_world)
        session = client.cookies.get("sessionid")
        cookie = f"sessionid={session.value}" if session else ""
        actual[caller] = async_to_sync(_socket_outcome)(path, cookie)
    assert actual == row.expected(), f"{row.id}: {actual}"


def reverse_ws(name: str, kwargs: dict[str, Any]) -> str:
    """Reverse a WebSocket route of config.routing (not part of the HTTP URLconf)."""
    from django.urls import URLResolver
    from django.urls.resolvers import RegexPattern

    from config.routing import websocket_urlpatterns

    resolver = URLResolver(RegexPattern(r"^/"), websocket_urlpatterns)
    return resolver.reverse(name, **{k: str(v) for k, v in kwargs.items()})
