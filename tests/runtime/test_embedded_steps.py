"""Embedded mode for real (`manage.py serve` in its own process, SQLite file,
in-process worker): parallel branches that call out do so at once, and a
slow call holds up no other run's steps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.cluster import ROOT, free_port
from bench.webhook import serve_embedded
from tests.triggers.servers import Reply, local_http

SETUP = """
import json, sys
import django
django.setup()
from accounts.models import Membership, User, Workspace
from builder import services
from builder.models import Workflow
from triggers.models import Hook

workspace = Workspace.objects.create(slug="t", name="T")
user = User.objects.create_user("t", password=None)
Membership.objects.create(workspace=workspace, user=user, roles=["admin"])
paths = {}
for name, graph in json.loads(sys.argv[1]).items():
    workflow = Workflow.objects.create(workspace=workspace, name=name, graph=graph, created_by=user)
    services.create_version(user, workflow, note="test")
    paths[name] = f"/hooks/{Hook.objects.get(workflow=workflow).pk}/"
print(json.dumps(paths))
"""


def fan_out(url: str, width: int) -> dict[str, Any]:
    """webhook (sync) -> ``width`` HTTP calls in parallel -> merge."""
    calls = [
        {"id": f"call{i}", "type": "http.request", "config": {"url": f"{url}?branch={i}"}}
        for i in range(width)
    ]
    return {
        "version": 1,
        "nodes": [
            {"id": "hook", "type": "trigger.webhook", "config": {"mode": "sync"}},
            *calls,
            {"id": "join", "type": "logic.merge", "config": {"mode": "list"}},
        ],
        "edges": [
            *({"id": f"a{i}", "source": "hook", "target": c["id"]} for i, c in enumerate(calls)),
            *({"id": f"b{i}", "source": c["id"], "target": "join"} for i, c in enumerate(calls)),
        ],
    }


#: a sync call runs the first pure step in the web thread and sends the
#: second to the worker: it answers once the worker took that message
QUICK = {
    "version": 1,
    "nodes": [
        {"id": "hook", "type": "trigger.webhook", "config": {"mode": "sync"}},
        {"id": "shape", "type": "data.transform", "config": {"output": {"ok": True}}},
        {"id": "again", "type": "data.transform", "config": {"output": {"ok": True}}},
    ],
    "edges": [
        {"id": "e1", "source": "hook", "target": "shape"},
        {"id": "e2", "source": "shape", "target": "again"},
    ],
}


@contextmanager
def serving(graphs: dict[str, Any], allow: str) -> Iterator[tuple[str, dict[str, str]]]:
    """``manage.py serve`` on a fresh SQLite file, its workflows published;
    yields the base URL and each workflow's hook path."""
    with tempfile.TemporaryDirectory(prefix="baton-embedded-") as workdir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
        env.update(
            BATON_VAR_DIR=workdir,
            BATON_OUTBOUND_ALLOW=allow,
            BATON_LOG_LEVEL="WARNING",
            DJANGO_SETTINGS_MODULE="config.settings",
        )
        run = {"cwd": ROOT, "env": env, "check": True, "capture_output": True, "text": True}
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], **run)
        done = subprocess.run([sys.executable, "-c", SETUP, json.dumps(graphs)], **run)
        paths = json.loads(done.stdout.strip().splitlines()[-1])
        port = free_port()
        web = serve_embedded(env, Path(workdir), port)
        try:
            yield f"http://127.0.0.1:{port}", paths
        finally:
            web.stop()


def call(url: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=b"{}", headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status, json.loads(answer.read())


def test_parallel_branches_call_out_at_once_and_others_go_on() -> None:
    with local_http() as slow:
        slow.routes["/slow"] = Reply(200, {"ok": True}, delay_s=1.0)
        graphs = {"fan": fan_out(slow.url("/slow"), 4), "quick": QUICK}
        with serving(graphs, slow.address) as (base, paths):
            answered: dict[str, Any] = {}
            thread = threading.Thread(target=lambda: answered.update(fan=call(base + paths["fan"])))
            thread.start()
            while slow.in_flight == 0 and thread.is_alive():
                time.sleep(0.01)
            # While the calls are out, another run's step runs on the worker.
            quick = call(base + paths["quick"])
            out_meanwhile = slow.in_flight
            thread.join(30)

    assert quick == (200, {"again": {"ok": True}})
    assert out_meanwhile > 0
    status, output = answered["fan"]
    assert status == 200
    assert [item["body"] for item in output["join"]] == [{"ok": True}] * 4
    assert sorted(r.path for r in slow.requests) == [f"/slow?branch={i}" for i in range(4)]
    # The four branches' calls were held by the server at the same time.
    assert slow.most_at_once == 4
