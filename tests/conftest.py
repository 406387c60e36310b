"""Shared fixtures and small factories (each creates the parents it needs)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from typing import Any

import pytest
from rest_framework.test import APIClient

IN_CI = os.environ.get("CI") == "true"


@pytest.fixture(autouse=True)
def _test_settings(settings: Any) -> None:
    """Tests render templates without running collectstatic first, and hash
    passwords quickly (Argon2 is slow on purpose; tests that check hashing
    set PASSWORD_HASHERS themselves)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def service_available(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip outside CI when a service is absent; in CI its absence is a failure."""
    if service_available(host, port):
        return
    if IN_CI:
        pytest.fail(f"{name} is not reachable at {host}:{port}, and CI must not skip it")
    pytest.skip(f"{name} is not reachable at {host}:{port}; start it to run this test")


# -- factories -------------------------------------------------------------

_counter = iter(range(1, 10**9))


def make_workspace(slug: str | None = None, **fields: Any):
    from accounts.models import Workspace

    slug = slug or f"ws-{next(_counter)}"
    return Workspace.objects.create(slug=slug, name=fields.pop("name", slug.title()), **fields)


def make_user(
    username: str | None = None,
    *,
    workspace=None,
    roles: Iterable[str] = ("admin",),
    password: str = "pw-Secret-123",
):
    from accounts.models import Membership, User

    user = User.objects.create_user(username or f"user{next(_counter)}", password=password)
    if workspace is not None:
        Membership.objects.create(workspace=workspace, user=user, roles=list(roles))
    return user


def make_workflow(workspace=None, *, graph: dict | None = None, name: str = "Flow", user=None):
    from builder.models import Workflow

    workspace = workspace or make_workspace()
    return Workflow.objects.create(
        workspace=workspace, name=name, graph=graph or simple_graph(), created_by=user
    )


def simple_graph() -> dict[str, Any]:
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "trigger.manual", "config": {}},
            {
                "id": "shape",
                "type": "data.transform",
                "config": {"output": {"greeting": "Hi {{ trigger.name }}"}},
            },
        ],
        "edges": [{"id": "e1", "source": "start", "target": "shape"}],
    }


def api_client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def workspace(db):
    return make_workspace("acme")


@pytest.fixture
def admin(workspace):
    return make_user("alice", workspace=workspace, roles=["admin"])


@pytest.fixture
def editor(workspace):
    return make_user("eddie", workspace=workspace, roles=["editor"])


@pytest.fixture
def viewer(workspace):
    return make_user("vera", workspace=workspace, roles=["viewer"])


@pytest.fixture
def outsider(db):
    other = make_workspace("other")
    return make_user("mallory", workspace=other, roles=["admin"])


def deliver(run_id: Any, limit: int | None = None) -> list[str]:
    """Play the worker (with ``held``): run the ``execute_step`` messages of
    this run that the in-memory broker holds, oldest first, at most
    ``limit`` of them; return their step's node ids. Other messages are
    dropped."""
    from config.celery import app
    from runtime import tasks
    from runtime.models import Step

    delivered: list[str] = []
    with app.connection_for_read() as conn:
        queue = conn.SimpleQueue("celery")
        try:
            while limit is None or len(delivered) < limit:
                try:
                    message = queue.get(block=False)
                except queue.Empty:
                    break
                message.ack()
                args = message.decode()[0]
                if message.headers.get("task") == "runtime.execute_step" and args[1:] == [
                    str(run_id)
                ]:
                    delivered.append(Step.objects.get(pk=args[0]).node_id)
                    tasks.execute_step(*args)
        finally:
            queue.close()
    return delivered


@pytest.fixture
def held(engine: Any) -> Any:
    """Messages go to the in-memory broker and nobody consumes them: the
    test plays the workers."""
    from config.celery import app

    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True
