"""Faults the runtime must survive, on the distributed stack: real Postgres,
Redis and separate ``celery -A config worker`` processes (runtime issue,
"Faults it must survive"). Each test starts its own throw-away deployment.

What every test checks from the database and the probe node's own record of
what really ran: every run ends; no step is recorded as succeeded twice; no
step is claimed while a claim of it is still running; a node never runs in two
places at the same time; every join has one row per visit and succeeds once.
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest
import redis

from tests.distributed.conftest import Deployment, sleep_while, worker_name

pytestmark = pytest.mark.distributed

FINISHED = {"succeeded", "failed", "cancelled"}
#: BATON_DIST_SCALE=0.25 runs a quarter of the runs (a loaded laptop); CI runs them all
SCALE = float(os.environ.get("BATON_DIST_SCALE", "1"))


def scaled(runs: int) -> int:
    return max(10, round(runs * SCALE))


def assert_history_is_legal(report: dict[str, Any], runs: int) -> None:
    assert report["runs"] == runs
    assert set(report["statuses"]) <= FINISHED, report
    assert report["steps_without_end"] == 0, report
    assert report["succeeded_twice"] == [], report
    assert report["claimed_while_running"] == [], report
    assert report["overlapping_executions"] == [], report
    # every fan-in of every run: one row (visit 1), at most one success, which
    # every join of a succeeded run has
    assert report["join_rows"] == {"1": report["joins"]}, report
    assert report["join_visits"] == [1], report
    assert set(report["join_succeeded_events"]) <= {"0", "1"}, report
    ended = report["join_succeeded_events"].get("1", 0)
    assert ended >= report["joins_of_succeeded_runs"], report


def test_kill_9_workers_while_200_fan_in_runs_execute(deployment: Deployment) -> None:
    """Every two seconds one worker process dies by SIGKILL: a pool process
    (its parent replaces it), and every third time a whole worker node (a
    replacement node is started). A node is only killed while another one is
    up, so the runs keep moving and the kills keep landing in running steps."""
    runs = scaled(200)
    workers = [deployment.worker() for _ in range(3)]
    deployment.wait_ready(workers)
    deployment.driver("sweep", "--interval", "0.5")
    load = deployment.driver(
        "load", "--runs", str(runs), "--branches", "3", "--sleep-ms", "100", "--timeout", "150"
    )
    rng = random.Random(3)
    kills = 0
    while sleep_while(load, 2.0):
        up = [w for w in workers if worker_name(w) in deployment.ready(workers)]
        if not up:
            continue
        victim = rng.choice(up)
        if kills % 3 == 2 and len(up) >= 2:
            workers[workers.index(victim)] = deployment.kill_worker_node(victim)
        else:
            deployment.kill_pool_child(victim)
        kills += 1
    report = deployment.report(load, timeout=30)
    print(f"{kills} kills; report: {report}")
    assert kills >= 3, "the runs ended before the workers were killed often enough"
    assert_history_is_legal(report, runs)
    # A step may fail for good only after losing its worker on every attempt.
    assert set(report["run_errors"]) <= {"WorkerLost"}, report
    assert report["statuses"].get("succeeded", 0) >= 0.95 * runs, report


def test_two_sweepers_never_run_a_step_twice_at_once(deployment: Deployment) -> None:
    """Two sweepers race to re-send the same lost messages and to recover the
    same expired leases; messages are thrown away and a worker is killed to
    give them work. Only the claim decides who runs a step."""
    runs = scaled(60)
    deployment.cluster.env["DIST_QUEUED_STALE_S"] = "1"
    workers = [deployment.worker(), deployment.worker()]
    deployment.wait_ready(workers)
    for _ in range(2):
        deployment.driver("sweep", "--interval", "0.05")
    load = deployment.driver(
        "load", "--runs", str(runs), "--branches", "2-4", "--sleep-ms", "100", "--timeout", "120"
    )
    broker = redis.Redis.from_url(deployment.cluster.redis_url)
    ticks = 0
    while sleep_while(load, 1.0):
        ticks += 1
        broker.delete("celery")  # lose whatever messages are waiting
        if ticks == 2:
            workers[0] = deployment.kill_worker_node(workers[0])
    report = deployment.report(load, timeout=30)
    print(f"report: {report}")
    assert_history_is_legal(report, runs)
    assert report["statuses"] == {"succeeded": runs}, report


def test_duplicate_deliveries_into_10000_random_fan_ins_join_once(deployment: Deployment) -> None:
    """10,000 random fan-ins of 2 to 8 branches (250 runs, each 5 layers of 8
    joins, each join a fan-in of 2 to 8 nodes of the layer before; 24 runs in
    flight at a time, so a join's inputs end close together) while every step
    is delivered 2 to 3 times, about half the extra copies late: each join
    runs exactly once. Half the first layer's branches are pure nodes, which
    end together with whichever of them a worker claims first, while the
    other half end on the workers. Leases and the sweeper's "lost message" delay are long
    here (no worker dies, no message is lost): a starved worker's step is
    never recovered and run again, and a backlog is not re-sent (each re-send
    would be duplicated too)."""
    runs = scaled(250)
    deployment.cluster.env.update(
        DIST_DUPLICATES="2-3",
        DIST_DUPLICATE_DELAY_S="0.5",
        DIST_LEASE_S="120",
        DIST_QUEUED_STALE_S="120",
    )
    deployment.wait_ready([deployment.worker(), deployment.worker()])
    deployment.driver("sweep", "--interval", "0.5")
    load = deployment.driver(
        "load",
        *("--runs", str(runs), "--layers", "5", "--width", "8", "--branches", "2-8"),
        *("--pure-branches", "4"),
        *("--in-flight", "24", "--timeout", "900"),
    )
    report = deployment.report(load, timeout=960)
    print(f"report: {report}")
    assert report["joins"] == 40 * runs, report
    assert_history_is_legal(report, runs)
    assert report["statuses"] == {"succeeded": runs}, report
    assert report["join_executions"] == {"1": report["joins"]}, report  # the probe ran each once
    assert report["executions"] == 44 * runs, report  # 4 probe branches, 40 joins, each once
    assert report["extra_deliveries"] >= 48 * runs, report  # every step came 2 or 3 times


def test_redis_restarted_mid_run_loses_no_run(deployment_on_private_redis) -> None:
    deployment, broker = deployment_on_private_redis
    runs = scaled(60)
    deployment.wait_ready([deployment.worker(), deployment.worker()])
    deployment.driver("sweep", "--interval", "0.5")
    load = deployment.driver(
        "load", "--runs", str(runs), "--branches", "3", "--sleep-ms", "100", "--timeout", "120"
    )
    deployment.wait_started(load)
    assert load.alive, "the runs ended before Redis could be restarted"
    broker.restart(down_s=1.0)
    report = deployment.report(load, timeout=150)
    print(f"report: {report}")
    assert_history_is_legal(report, runs)
    assert report["statuses"] == {"succeeded": runs}, report
