"""What the fault tests add to every process of their throw-away deployment.

Workers load it with ``celery -A config worker --include
tests.distributed.worker_setup``; the driver imports it. It

- registers ``test.probe``, a no-op node that reports each execution that
  ran to its end (idempotency key, attempt, start, end, pid) to a Redis list,
  so the tests see real executions, not only recorded states;
- shortens the step lease and the "queued too long" delay from the
  environment (``DIST_LEASE_S``, ``DIST_QUEUED_STALE_S``), so that recovery
  after a ``kill -9`` takes seconds instead of the production 30 s.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import redis
from django.conf import settings

from builder.nodes.base import NodeConfig, NodeContext, NodeType, Result
from builder.nodes.registry import registry

PROBE_KEY = "probe:executions"

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
