"""A throw-away distributed deployment per test: a scratch Postgres database
(created with psycopg, migrated by ``manage.py migrate``, dropped after), a
private Redis database, real ``celery -A config worker`` processes and the
driver processes of :mod:`tests.distributed.driver`.

Outside CI these tests skip when Postgres or Redis is absent; in CI
(``CI=true``) their absence fails the run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from bench.cluster import Cluster, Process, RedisServer, cluster
from tests.conftest import require_service

#: short enough that a killed worker's steps come back within seconds
FAST_RECOVERY = {"DIST_LEASE_S": "3", "DIST_QUEUED_STALE_S": "3"}


def pool_children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (a prefork worker's pool processes)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(entry.name))
    return children


def worker_name(worker: Process) -> str:
    return worker.argv[worker.argv.index("--hostname") + 1].split("@")[0]


@dataclass
class Deployment:
    cluster: Cluster

    def worker(self, concurrency: int = 2) -> Process:
        return self.cluster.worker(
            concurrency, "config", "--include", "tests.distributed.worker_setup"
        )

    def ready(self, workers: list[Process], timeout: float = 0.3) -> set[str]:
        """Names of the given workers that answer a ping over the broker."""
        from celery import Celery

        app = Celery("probe", broker=self.cluster.redis_url, set_as_current=False)
        names = [worker_name(w) for w in workers if w.alive]
        try:
            replies = app.control.ping(timeout=timeout) if names else []
        finally:
            app.close()
        answered = {key.split("@")[0] for reply in replies for key in reply}
        return answered & set(names)

    def wait_ready(self, workers: list[Process], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while len(self.ready(workers)) < len(workers):
            if time.monotonic() > deadline:
                raise TimeoutError(f"workers did not start:\n{self.logs()}")
            time.sleep(0.2)

    def driver(self, command: str, *args: str) -> Process:
        argv = [sys.executable, "-m", "tests.distributed.driver", command, *args]
        return self.cluster.spawn(f"driver-{command}-", argv)

    def kill_worker_node(self, victim: Process) -> Process:
        """``kill -9`` a whole worker (main process and pool), start a replacement."""
        victim.kill()
        return self.worker()

    def kill_pool_child(self, victim: Process) -> bool:
        """``kill -9`` one pool process of a worker; its parent replaces it."""
        children = pool_children(victim.popen.pid) if victim.alive else []
        if not children:
            return False
        try:
            os.kill(children[0], signal.SIGKILL)
        except ProcessLookupError:
            return False
        return True

    def wait_started(self, load: Process, timeout: float = 120) -> None:
        """Wait until a ``load`` driver has started all its runs (they are in flight)."""
        deadline = time.monotonic() + timeout
        while '"started"' not in load.log_path.read_text():
            assert load.alive, f"the load driver died:\n{load.log_tail(40)}"
            assert time.monotonic() < deadline, "the load driver did not start its runs"
            time.sleep(0.1)

    def report(self, load: Process, timeout: float) -> dict[str, Any]:
        """Wait for a ``load`` driver to end and return its JSON report."""
        load.popen.wait(timeout=timeout)
        lines = [line for line in load.log_path.read_text().splitlines() if line.startswith("{")]
        assert len(lines) >= 2, f"the load driver gave no report:\n{load.log_tail(60)}"
        return json.loads(lines[-1])

    def logs(self) -> str:
        return "\n\n".join(f"== {p.name}\n{p.log_tail(15)}" for p in self.cluster.processes)


@pytest.fixture
def postgres_and_redis() -> None:
    require_service("Postgres", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)


def claim_redis(url: str) -> None:
    """Mark the deployment's Redis database as taken again: ``cluster()``
    flushes it right after ``empty_redis_db()`` put the claim marker there,
    so another session's deployment could pick the same database and flush
    our broker queue and probe records."""
    client = redis.Redis.from_url(url)
    try:
        client.set("baton:bench:claim", "1", ex=3600)
    finally:
        client.close()


@pytest.fixture
def deployment(postgres_and_redis: None) -> Iterator[Deployment]:
    with cluster(**FAST_RECOVERY) as running:
        claim_redis(running.redis_url)
        running.env["DIST_PROBE_REDIS_URL"] = running.redis_url
        yield Deployment(running)


@pytest.fixture
def private_redis(postgres_and_redis: None) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed: the restart test needs a private one")
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def deployment_on_private_redis(
    private_redis: RedisServer,
) -> Iterator[tuple[Deployment, RedisServer]]:
    """Broker on a private Redis the test may restart; the probe stays on the shared one."""
    from bench.cluster import REDIS_HOST, REDIS_PORT, empty_redis_db, flush_redis

    probe_url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{empty_redis_db()}"
    claim_redis(probe_url)
    with cluster(redis_url=private_redis.url, **FAST_RECOVERY) as running:
        running.env["DIST_PROBE_REDIS_URL"] = probe_url
        try:
            yield Deployment(running), private_redis
        finally:
            flush_redis(probe_url)


def sleep_while(process: Process, seconds: float) -> bool:
    """Sleep up to ``seconds``; False as soon as ``process`` has ended."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not process.alive:
            return False
        time.sleep(0.1)
    return process.alive
