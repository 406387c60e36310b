"""What the fault tests add to every process of their throw-away deployment.

Workers load it with ``celery -A config worker --include
tests.distributed.worker_setup``; the driver imports it. It

- registers ``test.probe``, a no-op node that reports each execution that
  ran to its end (idempotency key, attempt, start, end, pid) to a Redis list,
  so the tests see real executions, not only recorded states;
- shortens the step lease and the "queued too long" delay from the
  environment (``DIST_LEASE_S``, ``DIST_QUEUED_STALE_S``), so that recovery
  after a ``kill -9`` takes seconds instead of the production 30 s;
- with ``DIST_DUPLICATES=LOW-HIGH`` (and ``DIST_DUPLICATE_DELAY_S``), delivers
  every step LOW to HIGH times: each ``execute_step`` message the engine or
  the sweeper sends goes out that many times, and a step claimed inline (no
  message) gets that many minus one; about half the extra copies are delayed
  by up to the delay (a late redelivery), the rest go at once (a duplicate).
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis
from django.conf import settings

from builder.nodes.base import NodeConfig, NodeContext, NodeType, Result
from builder.nodes.registry import registry

PROBE_KEY = "probe:executions"
#: how many extra execute_step messages the duplicate injection sent
EXTRA_KEY = "probe:extra-deliveries"

settings.BATON_STEP_LEASE_S = float(os.environ.get("DIST_LEASE_S", "30"))
settings.BATON_QUEUED_STALE_S = float(os.environ.get("DIST_QUEUED_STALE_S", "30"))


class ProbeConfig(NodeConfig):
    #: how long one execution takes, so that kills land in the middle of steps
    sleep_ms: int = 0


_probe_redis: redis.Redis | None = None


def probe_redis() -> redis.Redis:
    """The probe's own Redis (not the broker: the broker may be restarted)."""
    global _probe_redis
    if _probe_redis is None:
        _probe_redis = redis.Redis.from_url(os.environ["DIST_PROBE_REDIS_URL"])
    return _probe_redis


class Probe(NodeType):
    key = "test.probe"
    Config = ProbeConfig

    def run(self, ctx: NodeContext, config: ProbeConfig, input: Any) -> Result:
        started = time.time()
        if config.sleep_ms:
            time.sleep(config.sleep_ms / 1000)
        record = {
            "key": ctx.idempotency_key,
            "attempt": ctx.attempt,
            "start": started,
            "end": time.time(),
            "pid": os.getpid(),
        }
        probe_redis().rpush(PROBE_KEY, json.dumps(record))
        return Result({"node": ctx.node_id, "attempt": ctx.attempt})


if registry.get(Probe.key) is None:
    registry.register(Probe)


log = logging.getLogger(__name__)


def duplicate_deliveries(low: int, high: int, delay_s: float) -> None:
    """Wrap the engine's message sending (no engine code changes): the
    original send, then ``low - 1`` to ``high - 1`` extra copies per step."""
    from runtime.engine import dispatch, transitions

    rng = random.Random()

    def extra_copies(step_ids: Sequence[int], run_id: Any, copies: Callable[[], int]) -> None:
        from runtime.tasks import execute_step

        args = (str(run_id),) if run_id is not None else ()  # as dispatch.send sends them
        try:
            sent = 0
            for step_id in step_ids:
                for _ in range(copies()):
                    delayed = rng.random() < 0.5
                    countdown = rng.uniform(0.05, delay_s) if delayed else None
                    execute_step.apply_async((step_id, *args), countdown=countdown)
                    sent += 1
            probe_redis().incrby(EXTRA_KEY, sent)
        except Exception:  # injected faults must not become faults of their own
            log.exception("could not send duplicate deliveries")

    original_send = dispatch.send
    original_finish = transitions.finish

    def send(step_ids: Sequence[int], run_id: Any = None) -> None:
        original_send(step_ids, run_id)
        extra_copies(list(step_ids), run_id, lambda: rng.randint(low, high) - 1)

    def finish(claim: Any, outcome: Any, *, inline: bool = True) -> Any:
        following = original_finish(claim, outcome, inline=inline)
        if following is not None:  # claimed inline: the claim is its first delivery
            extra_copies([following.step_id], following.run_id, lambda: rng.randint(low, high) - 1)
        return following

    dispatch.send = send
    transitions.finish = finish


if os.environ.get("DIST_DUPLICATES") and not getattr(duplicate_deliveries, "installed", False):
    _low, _, _high = os.environ["DIST_DUPLICATES"].partition("-")
    duplicate_deliveries(
        int(_low), int(_high or _low), float(os.environ.get("DIST_DUPLICATE_DELAY_S", "0.5"))
    )
    duplicate_deliveries.installed = True  # type: ignore[attr-defined]
