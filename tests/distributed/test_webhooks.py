"""Sync webhooks in the README's deployment: uvicorn with two processes for
``/hooks/``, a Celery worker and beat, Postgres and Redis. A workflow of
pure steps is answered by the web process itself; one whose step waits is
answered once a worker ends the run, announced over Redis."""

from __future__ import annotations

import itertools
import json
import sys
import time
import urllib.request

import pytest

from bench.cluster import free_port, wait_until
from tests.distributed.conftest import pool_children

pytestmark = pytest.mark.distributed

HOOK = {"id": "hook", "type": "trigger.webhook", "config": {"mode": "sync"}}
REPLY = {
    "id": "reply",
    "type": "data.transform",
    "config": {"output": {"n": "{{ trigger.body.n }}"}},
}


def graph(*nodes: dict) -> str:
    chain = [HOOK, *nodes]
    edges = [
        {"id": f"e{i}", "source": a["id"], "target": b["id"]}
        for i, (a, b) in enumerate(itertools.pairwise(chain))
    ]
    return json.dumps({"version": 1, "nodes": chain, "edges": edges})


def publish(deployment, document: str) -> str:
    driver = deployment.driver("hook", document)
    driver.popen.wait(timeout=60)
    lines = [line for line in driver.log_path.read_text().splitlines() if line.startswith("{")]
    assert lines, driver.log_tail(30)
    return json.loads(lines[-1])["path"]


def call(port: int, path: str, body: dict) -> tuple[int, dict, float]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    began = time.monotonic()
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status, json.loads(answer.read()), time.monotonic() - began


def test_sync_hooks_answer_from_the_web_process_or_after_a_worker(deployment) -> None:
    pure = publish(deployment, graph(REPLY))
    delayed = publish(
        deployment,
        graph({"id": "wait", "type": "flow.delay", "config": {"seconds": 1}}, REPLY),
    )
    worker = deployment.worker()
    running = deployment.cluster
    running.spawn(
        "beat",
        [sys.executable, "-m", "celery", "-A", "config", "beat", "-s", str(running.workdir / "b")],
    )
    port = free_port()
    web = running.spawn(
        "web",
        [
            *(sys.executable, "-m", "uvicorn", "config.asgi:application"),
            *("--port", str(port), "--workers", "2", "--lifespan", "off"),
        ],
    )
    deployment.wait_ready([worker])
    wait_until(lambda: _listening(port), 60, 0.2, f"uvicorn\n{web.log_tail(30)}")

    for n in range(20):  # both uvicorn processes answer some of them
        assert call(port, pure, {"n": n})[:2] == (200, {"reply": {"n": n}})

    status, body, took = call(port, delayed, {"n": 7})
    assert (status, body) == (200, {"reply": {"n": 7}}), deployment.logs()
    assert 1.0 <= took < 8, took  # the timer, a worker and the Redis announcement

    counts, pure_pids, waited_pids = _steps(running.database.url)
    assert counts == {
        "hook": {"succeeded": 21},
        "reply": {"succeeded": 21},
        "wait": {"succeeded": 1},
    }
    # the pure calls' steps ran in the uvicorn processes, none in the worker
    assert pure_pids and pure_pids <= set(pool_children(web.popen.pid)), pure_pids
    # the timer's step ran in a pool process of the worker (not its main process)
    assert waited_pids and waited_pids <= set(pool_children(worker.popen.pid)), waited_pids


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _steps(database_url: str) -> tuple[dict[str, dict[str, int]], set[int], set[int]]:
    """Step counts by node and status; the pids that ran the pure runs'
    steps, and the one that ran the timer's step."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        counts: dict[str, dict[str, int]] = {}
        for node_id, status, n in conn.execute(
            "SELECT node_id, status, count(*) FROM runtime_step GROUP BY 1, 2"
        ):
            counts.setdefault(node_id, {})[status] = n
        pids = {
            int(worker.rsplit(":", 1)[1])
            for (worker,) in conn.execute(
                "SELECT s.worker FROM runtime_step s WHERE s.node_id = 'reply' AND NOT EXISTS"
                " (SELECT 1 FROM runtime_step w WHERE w.run_id = s.run_id AND w.node_id = 'wait')"
            )
        }
        waited = {
            int(worker.rsplit(":", 1)[1])
            for (worker,) in conn.execute("SELECT worker FROM runtime_step WHERE node_id = 'wait'")
        }
        return counts, pids, waited
