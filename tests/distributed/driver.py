"""The fault tests' helper processes, run with the throw-away deployment's
environment (``python -m tests.distributed.driver <command>``):

- ``load``: start fan-out/fan-in runs, wait until they all end (or time out)
  and print a JSON report of what the database and the probe recorded;
- ``sweep``: call the sweeper in a loop (two of them race in one test);
- ``duplicate``: send extra ``execute_step`` messages for random steps of
  active runs, i.e. inject duplicate deliveries.

The pytest process itself never touches the scratch database: its own
Django points at pytest's test database.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import random
import sys
import time
from collections import Counter, defaultdict
from typing import Any

import django

log = logging.getLogger("tests.distributed.driver")


def fan_graph(width: int, sleep_ms: int) -> dict[str, Any]:
    """trigger -> ``width`` probe branches -> a probe join (``join: all``) -> a probe tail."""
    probe = {"type": "test.probe", "config": {"sleep_ms": sleep_ms}}
    branches = [f"b{i}" for i in range(width)]
    nodes = [
        {"id": "start", "type": "trigger.manual", "config": {}},
        *({"id": b, **probe} for b in branches),
        {"id": "join", **probe},
        {"id": "tail", **probe},
    ]
    edges = [("start", b) for b in branches] + [(b, "join") for b in branches] + [("join", "tail")]
    return {
        "version": 1,
        "nodes": nodes,
        "edges": [{"id": f"e{i}", "source": s, "target": t} for i, (s, t) in enumerate(edges)],
    }


def setup_user() -> Any:
    from accounts.models import Membership, User, Workspace

    workspace, _ = Workspace.objects.get_or_create(slug="dist", defaults={"name": "Dist"})
    user, created = User.objects.get_or_create(username="dist")
    if created:
        Membership.objects.create(workspace=workspace, user=user, roles=["admin"])
    return user


def start_runs(count: int, widths: tuple[int, int], sleep_ms: int, seed: int) -> list[str]:
    from builder.models import Workflow
    from runtime import services

    user = setup_user()
    workspace = user.memberships.first().workspace
    rng = random.Random(seed)
    workflows: dict[int, Any] = {}
    run_ids = []
    for _ in range(count):
        width = rng.randint(*widths)
        if width not in workflows:
            workflows[width] = Workflow.objects.create(
                workspace=workspace, name=f"fan-{width}", graph=fan_graph(width, sleep_ms)
            )
        run = _start_with_retry(services, user, workflows[width])
        run_ids.append(str(run.pk))
    return run_ids


def _start_with_retry(services: Any, user: Any, workflow: Any) -> Any:
    """A web process retries a request that met a database hiccup; so does the load."""
    from django.db import OperationalError, close_old_connections

    for attempt in range(20):
        try:
            return services.start_run(user, workflow, input={"n": attempt}, version="draft")
        except OperationalError:
            close_old_connections()
            time.sleep(0.5)
    raise RuntimeError("could not start a run")


def wait_for(run_ids: list[str], timeout: float) -> None:
    from runtime.models import RUN_ACTIVE, Run

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Run.objects.filter(pk__in=run_ids, status__in=RUN_ACTIVE).exists():
            return
        time.sleep(0.5)


# -- the report ------------------------------------------------------------------


def report(run_ids: list[str]) -> dict[str, Any]:
    from runtime.models import Run, RunEvent, Step

    runs = Run.objects.filter(pk__in=run_ids)
    events = RunEvent.objects.filter(run_id__in=run_ids, kind="step").order_by("run_id", "seq")
    history: dict[tuple, list[str]] = defaultdict(list)
    for run_id, node_id, visit, status in events.values_list(
        "run_id", "node_id", "visit", "status"
    ):
        history[(str(run_id), node_id, visit)].append(status)
    joins = Step.objects.filter(run_id__in=run_ids, node_id="join")
    executions = probe_executions()
    return {
        "runs": len(run_ids),
        "statuses": dict(Counter(runs.values_list("status", flat=True))),
        "run_errors": dict(
            Counter(
                (e or {}).get("type", "?")
                for e in runs.exclude(status="succeeded").values_list("error", flat=True)
            )
        ),
        "succeeded_twice": [k for k, h in history.items() if h.count("succeeded") > 1][:20],
        "claimed_while_running": [k for k, h in history.items() if _double_claim(h)][:20],
        "join_rows": dict(Counter(Counter(joins.values_list("run_id", flat=True)).values())),
        "join_succeeded_events": dict(
            Counter(h.count("succeeded") for k, h in history.items() if k[1] == "join")
        ),
        "steps_without_end": Step.objects.filter(
            run_id__in=run_ids, status__in=["queued", "running", "pending"]
        ).count(),
        "overlapping_executions": overlaps(executions)[:20],
        "join_executions": dict(
            Counter(
                len(v)
                for k, v in executions.items()
                if k.split(":")[1] == "join" and k.split(":")[0] in set(run_ids)
            )
        ),
        "executions": sum(len(v) for v in executions.values()),
        "attempts_max": max(
            Step.objects.filter(run_id__in=run_ids).values_list("attempts", flat=True), default=0
        ),
    }


def _double_claim(statuses: list[str]) -> bool:
    """Two ``running`` events for one step with no end or requeue between them."""
    return any(a == b == "running" for a, b in itertools.pairwise(statuses))


def probe_executions() -> dict[str, list[dict[str, Any]]]:
    from tests.distributed.worker_setup import PROBE_KEY, probe_redis

    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for raw in probe_redis().lrange(PROBE_KEY, 0, -1):
        record = json.loads(raw)
        by_key[record["key"]].append(record)
    return by_key


def overlaps(executions: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Keys of steps whose node ran in two places at the same time."""
    bad = []
    for key, records in executions.items():
        ordered = sorted(records, key=lambda r: r["start"])
        if any(b["start"] < a["end"] for a, b in itertools.pairwise(ordered)):
            bad.append(key)
    return bad


# -- commands ----------------------------------------------------------------------


def cmd_load(args: argparse.Namespace) -> None:
    low, _, high = args.branches.partition("-")
    run_ids = start_runs(args.runs, (int(low), int(high or low)), args.sleep_ms, args.seed)
    print(json.dumps({"started": len(run_ids)}), flush=True)
    wait_for(run_ids, args.timeout)
    print(json.dumps(report(run_ids)), flush=True)


def cmd_sweep(args: argparse.Namespace) -> None:
    from django.db import close_old_connections

    from runtime import services

    while True:
        try:
            services.sweep()
        except Exception:  # a database or broker outage: keep sweeping, as beat would
            log.exception("sweep failed")
            close_old_connections()
        time.sleep(args.interval)


def cmd_duplicate(args: argparse.Namespace) -> None:
    from runtime.engine import dispatch
    from runtime.models import RUN_ACTIVE, Step

    rng = random.Random(args.seed)
    while True:
        ids = list(
            Step.objects.filter(run__status__in=RUN_ACTIVE)
            .order_by("-id")
            .values_list("pk", flat=True)[:400]
        )
        # Every pick is delivered twice more: a redelivery and a sweeper's resend.
        picked = rng.sample(ids, min(len(ids), args.batch))
        dispatch.send(picked + picked)
        time.sleep(args.interval)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.distributed.driver")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load")
    load.add_argument("--runs", type=int, required=True)
    load.add_argument("--branches", default="3", help="a width, or a range like 2-8")
    load.add_argument("--sleep-ms", type=int, default=0)
    load.add_argument("--seed", type=int, default=1)
    load.add_argument("--timeout", type=float, default=120)
    sweep = commands.add_parser("sweep")
    sweep.add_argument("--interval", type=float, default=0.5)
    duplicate = commands.add_parser("duplicate")
    duplicate.add_argument("--interval", type=float, default=0.05)
    duplicate.add_argument("--batch", type=int, default=40)
    duplicate.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    django.setup()
    import tests.distributed.worker_setup  # noqa: F401 -- test.probe and the short leases

    logging.basicConfig(level=logging.WARNING)
    {"load": cmd_load, "sweep": cmd_sweep, "duplicate": cmd_duplicate}[args.command](args)


if __name__ == "__main__":
    main(sys.argv[1:])
