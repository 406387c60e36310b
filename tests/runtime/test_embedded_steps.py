"""Embedded mode for real (`manage.py serve` in its own process, SQLite file,
in-process worker): parallel branches that call out do so at once, and a
slow call holds up no other run's steps."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

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


class SlowServer:
    """Answers every request after ``delay_s`` and counts how many it held at once."""

    def __init__(self, delay_s: float) -> None:
        self.in_flight = 0
        self.most_at_once = 0
        lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with lock:
                    owner.in_flight += 1
                    owner.most_at_once = max(owner.most_at_once, owner.in_flight)
                try:
                    time.sleep(delay_s)
                    body = json.dumps({"path": self.path}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                finally:
                    with lock:
                        owner.in_flight -= 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
        port = _free_port()
        log = open(Path(workdir) / "serve.log", "w")  # noqa: SIM115 (closed below)
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, (Path(workdir) / "serve.log").read_text()
                with socket.socket() as sock:
                    if sock.connect_ex(("127.0.0.1", port)) == 0:
                        break
                assert time.monotonic() < deadline, "manage.py serve did not listen"
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}", paths
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
            log.close()


def call(url: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status, json.loads(answer.read())


@pytest.fixture
def slow_server() -> Iterator[SlowServer]:
    server = SlowServer(delay_s=1.0)
    yield server
    server.close()


def test_parallel_branches_call_out_at_once_and_others_go_on(slow_server: SlowServer) -> None:
    target = f"http://127.0.0.1:{slow_server.port}/slow"
    graphs = {"fan": fan_out(target, 4), "quick": QUICK}
    with serving(graphs, f"127.0.0.1:{slow_server.port}") as (base, paths):
        answered: dict[str, Any] = {}

        def fan() -> None:
            answered["fan"] = call(base + paths["fan"])

        thread = threading.Thread(target=fan)
        thread.start()
        while slow_server.in_flight == 0 and thread.is_alive():
            time.sleep(0.01)
        # While the calls are out, another run's step runs on the worker.
        quick = call(base + paths["quick"])
        out_meanwhile = slow_server.in_flight
        thread.join(30)

    assert quick == (200, {"again": {"ok": True}})
    assert out_meanwhile > 0
    status, output = answered["fan"]
    assert status == 200
    assert [item["body"]["path"] for item in output["join"]] == [
        f"/slow?branch={i}" for i in range(4)
    ]
    # The four branches' calls were held by the server at the same time.
    assert slow_server.most_at_once == 4
