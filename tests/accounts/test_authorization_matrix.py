"""The authorization matrix, derived from the URL configuration itself.

``test_every_route_has_a_row`` walks ``get_resolver()`` and fails, naming the
routes, when one (or one method of an API view) has no row in authz_rows.py.
``test_row`` then calls every row as each of the seven callers and compares
the statuses with the row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.views.generic.edit import ProcessFormView

from accounts.models import ApiToken, Invitation, PublishRequest
from approvals.models import ApprovalTask
from builder.models import Workflow
from builder.services import create_version
from integrations.models import Credential
from runtime.models import Run, Step
from tests.accounts.authz_rows import CALLERS, GRAPH, ROWS, SKIPPED_PREFIXES, Row
from tests.conftest import make_user, make_workspace

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    view: Any

    def methods(self) -> set[str] | None:
        """The methods a class-based view implements; None for function views."""
        cls = getattr(self.view, "cls", None) or getattr(self.view, "view_class", None)
        if cls is None:
            return None
        allowed = {m for m in getattr(cls, "http_method_names", HTTP_METHODS) if m in HTTP_METHODS}
        methods = {m.upper() for m in allowed if hasattr(cls, m)}
        if getattr(cls, "put", None) is ProcessFormView.put:
            methods.discard("PUT")  # Django's form views treat PUT as POST; the POST row covers it
        return methods


def walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(n for n in (namespace, entry.namespace or "") if n)
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield Route(
                name or f"<unnamed {prefix}{entry.pattern}>",
                prefix + str(entry.pattern),
                entry.callback,
            )


def routes() -> list[Route]:
    return [
        route
        for route in walk(get_resolver().url_patterns)
        if not route.pattern.startswith(SKIPPED_PREFIXES) or route.name == "admin:index"
    ]


def test_every_route_has_a_row() -> None:
    rows_by_route: dict[str, set[str]] = {}
    for row in ROWS:
        rows_by_route.setdefault(row.route, set()).add(row.method)
    missing: list[str] = []
    for route in routes():
        covered = rows_by_route.get(route.name, set())
        wanted = route.methods()
        if not covered:
            missing.append(
                f"{route.name}  /{route.pattern}  ({', '.join(sorted(wanted or {'any method'}))})"
            )
        elif wanted:
            missing += [
                f"{route.name}  /{route.pattern}  {method}" for method in sorted(wanted - covered)
            ]
    known = {route.name for route in routes()}
    stale = sorted({row.route for row in ROWS} - known)
    assert not missing, (
        "Routes without a row in tests/accounts/authz_rows.py (add the status each caller "
        "should get):\n  " + "\n  ".join(missing)
    )
    assert not stale, f"Rows for routes that no longer exist: {stale}"


# -- the world every row runs against ----------------------------------------------

PASSWORD = "pw-Secret-123"


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """Built once for the module inside a transaction that is rolled back at its end;
    each test's own transaction (and each caller's savepoint) nests inside it."""
    fast_hashing = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
    )
    with django_db_blocker.unblock(), transaction.atomic(), fast_hashing:
        yield build_world()
        transaction.set_rollback(True)


def build_world() -> dict[str, Any]:
    acme = make_workspace("acme")
    other = make_workspace("other")
    users = {
        role: make_user(role, workspace=acme, roles=[role])
        for role in ("viewer", "runner", "editor", "approver", "admin")
    }
    users["other_admin"] = make_user("other_admin", workspace=other, roles=["admin"])
    newcomer = make_user("newcomer")
    workflow = Workflow.objects.create(
        workspace=acme, name="Flow", graph=GRAPH, created_by=users["editor"]
    )
    create_version(users["admin"], workflow, "v1")
    publish_request = PublishRequest.objects.create(
        workspace=acme,
        workflow=workflow,
        requested_by=users["editor"],
        graph=GRAPH,
        source_revision=1,
    )
    invitation_token = "matrix-invitation-token"
    invitation = Invitation.objects.create(
        workspace=acme,
        roles=["viewer"],
        token_hash=Invitation.hash_token(invitation_token),
        expires_at="2999-01-01T00:00:00Z",
        created_by=users["admin"],
    )
    tokens = {name: ApiToken.issue(user, "matrix")[0].pk for name, user in users.items()}
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
    finished = Run.objects.create(
        workspace=acme,
        workflow=workflow,
        version=workflow.published_version,
        graph=GRAPH,
        status="succeeded",
        input={"x": 1},
        started_by=users["runner"],
        trigger_node="start",
    )
    Step.objects.create(
        run=finished, node_id="start", status="succeeded", port="out", output={"x": 1}
    )
    Step.objects.create(
        run=finished, node_id="shape", status="succeeded", port="out", output={"x": 1}
    )
    credential = Credential.objects.create(workspace=acme, name="llm", kind="scripted", config={})
    task = ApprovalTask.objects.create(
        workspace=acme,
        run=run,
        node_id="review",
        title="Check",
        assignee_roles=["approver"],
        started_by=users["runner"],
        created_at=timezone.now(),
    )
    return {
        "users": users,
        "sessions": _sessions(users),
        "ids": {
            **{name: user.pk for name, user in users.items()},
            "newcomer": newcomer.pk,
            "workflow": workflow.pk,
            "publish_request": publish_request.pk,
            "invitation": invitation.pk,
            "invitation_token": invitation_token,
            "admin_token": tokens["admin"],
            "run": run.pk,
            "finished_run": finished.pk,
            "credential": credential.pk,
            "task": task.pk,
        },
        "tokens": tokens,
    }


def url_for(row: Row, caller: str, world: dict[str, Any]) -> str:
    ids = world["ids"]
    kwargs = {}
    for key, value in row.kwargs.items():
        if value == "own_token":
            value = world["tokens"].get(caller, world["tokens"]["admin"])
        elif isinstance(value, str) and value in ids:
            value = ids[value]
        kwargs[key] = value
    url = reverse(row.route, kwargs=kwargs)
    return f"{url}?{row.query}" if row.query else url


def signed_in_clients(world: dict[str, Any]) -> dict[str, Client]:
    """Clients carrying the sessions made once for the module (see build_world)."""
    clients = {}
    for caller in CALLERS:
        clients[caller] = Client(raise_request_exception=False)
        if caller in world["sessions"]:
            clients[caller].cookies[settings.SESSION_COOKIE_NAME] = world["sessions"][caller]
    return clients


def _sessions(users: dict[str, Any]) -> dict[str, str]:
    """One signed-in session per caller, kept in the module's transaction."""
    sessions = {}
    for name, user in users.items():
        client = Client()
        client.force_login(user)
        sessions[name] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return sessions


def call(row: Row, caller: str, client: Client, world: dict[str, Any]) -> int:
    url = url_for(row, caller, world)
    headers = {"HX-Request": "true"} if row.htmx else {}
    method = getattr(client, row.method.lower())
    if url.startswith("/api/"):
        body = json.dumps(row.body) if row.body is not None else None
        response = method(url, body, content_type="application/json", headers=headers)
    elif row.method == "GET":
        response = method(url, headers=headers)
    else:
        response = method(url, row.body or {}, headers=headers)
    return response.status_code


@pytest.mark.parametrize("row", [r for r in ROWS if not r.committed], ids=lambda row: row.id)
def test_row(row: Row, world: dict[str, Any], db: None, settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    actual: dict[str, int] = {}
    clients = signed_in_clients(world)
    for caller in CALLERS:
        cache.clear()
        with transaction.atomic():
            actual[caller] = call(row, caller, clients[caller], world)
            transaction.set_rollback(True)
    expected = row.expected()
    assert actual == expected, (
        f"{row.id}\n  expected: {' '.join(str(expected[c]) for c in CALLERS)}"
        f"\n  actual:   {' '.join(str(actual[c]) for c in CALLERS)}\n  callers:  {' '.join(CALLERS)}"
    )


def websocket_routes() -> list[str]:
    from config.routing import websocket_urlpatterns

    return [route.name for route in walk(websocket_urlpatterns)]


def test_every_websocket_route_has_a_row() -> None:
    """WebSocket routes (contract section 5) need rows too, in WS_ROWS."""
    from tests.accounts.authz_rows import WS_ROWS

    covered = {row.route for row in WS_ROWS}
    missing = [name for name in websocket_routes() if name not in covered]
    assert not missing, f"WebSocket routes without a row in WS_ROWS: {missing}"
