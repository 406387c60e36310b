"""The plain-Celery baselines: no-op tasks on the same broker, with the same
delivery settings as Baton's Celery app (late acks, reject on worker loss,
prefetch 1, JSON), plus a Redis result backend that chains and chords need.

Workers run it as ``celery -A bench.baseline worker``; the benchmark process
imports it to send the work. ``BENCH_BROKER_URL`` names the broker.
"""

from __future__ import annotations

import os
import time

import redis
from celery import Celery

BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/15")
QUEUE = "bench-baseline"

# Not the current app: in the benchmark process Baton's tasks must keep using config.celery.
app = Celery("bench-baseline", broker=BROKER_URL, backend=BROKER_URL, set_as_current=False)
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_default_queue=QUEUE,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)

_counter: redis.Redis | None = None


def counter() -> redis.Redis:
    global _counter
    if _counter is None:
        _counter = redis.Redis.from_url(BROKER_URL)
    return _counter


@app.task(name="bench.noop")
def noop(*args: object) -> None:
    """The cheapest task: the unit of the chain and of the chord's header."""


@app.task(name="bench.noop_counted", ignore_result=True)
def noop_counted(key: str) -> None:
    """A no-op that reports it ran (count, first and last time), for throughput
    without a result backend."""
    now = time.time()
    pipe = counter().pipeline(transaction=False)
    pipe.incr(key)
    pipe.set(f"{key}:first", now, nx=True)
    pipe.set(f"{key}:last", now)
    pipe.execute()


@app.task(name="bench.collect")
def collect(results: list[object]) -> int:
    """A chord's body: what Baton's fan-in node does."""
    return len(results)
