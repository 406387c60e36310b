"""The fault tests' helper processes, run with the throw-away deployment's
environment (``python -m tests.distributed.driver <command>``):

- ``load``: start fan-out/fan-in runs (one join each, or layers of random
  joins), wait until they all end (or time out) and print a JSON report of
  what the database and the probe recorded;
- ``sweep``: call the sweeper in a loop (two of them race in one test).

Duplicate deliveries of every message are injected in every process of the
deployment by :mod:`tests.distributed.worker_setup` (``DIST_DUPLICATES``).

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


def layered_graph(
    rng: random.Random, layers: int, width: int, fan_in: tuple[int, int], pure: int = 0
) -> dict:
    """trigger -> ``width`` probe branches -> ``layers`` layers of ``width``
    probe joins, each a ``join: all`` fan-in of a random ``fan_in`` number of
    distinct nodes of the layer before: ``layers * width`` joins per run, whose
    inputs end at about the same time on different workers. The first
    ``pure`` branches are ``data.transform`` nodes instead of probes: they
    end together, with whichever of them is claimed first, while the probe
    branches end on the workers."""
    edges: list[tuple[str, str]] = []
    previous = [f"b{i}" for i in range(width)]
    edges += [("start", b) for b in previous]
    names = list(previous)
    for layer in range(1, layers + 1):
        current = [f"j{layer}_{i}" for i in range(width)]
        for join in current:
            count = rng.randint(fan_in[0], min(fan_in[1], len(previous)))
            edges += [(source, join) for source in sorted(rng.sample(previous, count))]
        names += current
        previous = current
    probe = {"type": "test.probe", "config": {"sleep_ms": 0}}
    transform = {"type": "data.transform", "config": {"output": {"pure": True}}}
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "trigger.manual", "config": {}},
            *(
                {"id": name, **(transform if index < pure else probe)}
                for index, name in enumerate(names)
            ),
        ],
        "edges": [{"id": f"e{i}", "source": s, "target": t} for i, (s, t) in enumerate(edges)],
    }


def setup_user() -> Any:
    from accounts.models import Membership, User, Workspace

    workspace, _ = Workspace.objects.get_or_create(slug="dist", defaults={"name": "Dist"})
    user, created = User.objects.get_or_create(username="dist")
    if created:
        Membership.objects.create(workspace=workspace, user=user, roles=["admin"])
    return user


def start_runs(args: argparse.Namespace) -> list[str]:
    """``--layers 0``: one fan-in per run, of ``--branches`` branches (one
    workflow per width); else layered runs (``--graphs`` random workflows).
    With ``--in-flight N`` a run starts only while fewer than N are active."""
    from builder.models import Workflow
    from runtime import services

    user = setup_user()
    workspace = user.memberships.first().workspace
    rng = random.Random(args.seed)
    low, _, high = args.branches.partition("-")
    widths = (int(low), int(high or low))
    workflows: dict[Any, Any] = {}
    run_ids: list[str] = []
    for number in range(args.runs):
        if args.layers:
            shape: Any = number % args.graphs
            if shape not in workflows:
                graph = layered_graph(rng, args.layers, args.width, widths, args.pure_branches)
                workflows[shape] = Workflow.objects.create(
                    workspace=workspace, name=f"layers-{shape}", graph=graph
                )
        else:
            shape = rng.randint(*widths)
            if shape not in workflows:
                workflows[shape] = Workflow.objects.create(
                    workspace=workspace, name=f"fan-{shape}", graph=fan_graph(shape, args.sleep_ms)
                )
        if args.in_flight:
            wait_below(run_ids, args.in_flight)
        run = _start_with_retry(services, user, workflows[shape])
        run_ids.append(str(run.pk))
    return run_ids


def wait_below(run_ids: list[str], limit: int) -> None:
    """Wait until fewer than ``limit`` of the runs are still active."""
    from runtime.models import RUN_ACTIVE, Run

    while Run.objects.filter(pk__in=run_ids[-4 * limit :], status__in=RUN_ACTIVE).count() >= limit:
        time.sleep(0.05)


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


def joins_of(graph: dict[str, Any]) -> list[str]:
    """The graph's fan-ins: nodes with two or more incoming edges."""
    fan_in = Counter(edge["target"] for edge in graph["edges"] if not edge.get("loop"))
    return [node for node, count in fan_in.items() if count >= 2]


def report(run_ids: list[str]) -> dict[str, Any]:
    from runtime.models import Run, RunEvent, Step

    runs = Run.objects.filter(pk__in=run_ids)
    events = RunEvent.objects.filter(run_id__in=run_ids, kind="step").order_by("run_id", "seq")
    history: dict[tuple, list[str]] = defaultdict(list)
    for run_id, node_id, visit, status in events.values_list(
        "run_id", "node_id", "visit", "status"
    ):
        history[(str(run_id), node_id, visit)].append(status)
    graphs = {
        str(pk): (graph, status) for pk, graph, status in runs.values_list("pk", "graph", "status")
    }
    joins = {(run, node) for run, (graph, _status) in graphs.items() for node in joins_of(graph)}
    rows = Counter(
        (str(run), node)
        for run, node in Step.objects.filter(run_id__in=run_ids).values_list("run_id", "node_id")
        if (str(run), node) in joins
    )
    executions = probe_executions()
    ran = Counter(tuple(key.split(":")[:2]) for key, records in executions.items() for _ in records)
    return {
        "runs": len(run_ids),
        "statuses": dict(Counter(status for _graph, status in graphs.values())),
        "run_errors": dict(
            Counter(
                (e or {}).get("type", "?")
                for e in runs.exclude(status="succeeded").values_list("error", flat=True)
            )
        ),
        "succeeded_twice": [k for k, h in history.items() if h.count("succeeded") > 1][:20],
        "claimed_while_running": [k for k, h in history.items() if _double_claim(h)][:20],
        # per fan-in of every run: its step rows, succeeded events, probe executions
        "joins": len(joins),
        "joins_of_succeeded_runs": sum(1 for run, _n in joins if graphs[run][1] == "succeeded"),
        "join_rows": dict(Counter(rows[join] for join in joins)),
        "join_succeeded_events": dict(
            Counter(history.get((*join, 1), []).count("succeeded") for join in joins)
        ),
        "join_visits": sorted({v for (r, n, v) in history if (r, n) in joins}),
        "steps_without_end": Step.objects.filter(
            run_id__in=run_ids, status__in=["queued", "running", "pending"]
        ).count(),
        "overlapping_executions": overlaps(executions)[:20],
        "join_executions": dict(Counter(ran[join] for join in joins)),
        "executions": sum(len(v) for v in executions.values()),
        "extra_deliveries": extra_deliveries(),
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


def extra_deliveries() -> int:
    from tests.distributed.worker_setup import EXTRA_KEY, probe_redis

    return int(probe_redis().get(EXTRA_KEY) or 0)


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
    began = time.monotonic()
    run_ids = start_runs(args)
    started = time.monotonic() - began
    print(json.dumps({"started": len(run_ids), "start_s": round(started, 1)}), flush=True)
    wait_for(run_ids, args.timeout)
    ended = time.monotonic() - began
    print(
        json.dumps({**report(run_ids), "start_s": round(started, 1), "end_s": round(ended, 1)}),
        flush=True,
    )


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


def cmd_hook(args: argparse.Namespace) -> None:
    """Publish a workflow of ``args.graph`` (JSON); print its webhook's path."""
    from builder import services
    from builder.models import Workflow
    from triggers.models import Hook

    user = setup_user()
    workflow = Workflow.objects.create(
        workspace=user.memberships.get().workspace, name="hook", graph=json.loads(args.graph)
    )
    services.create_version(user, workflow)
    print(json.dumps({"path": f"/hooks/{Hook.objects.get(workflow=workflow).pk}/"}), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.distributed.driver")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load")
    load.add_argument("--runs", type=int, required=True)
    load.add_argument("--branches", default="3", help="a width, or a range like 2-8 (a fan-in's)")
    load.add_argument("--layers", type=int, default=0, help="layers of joins per run (0: one join)")
    load.add_argument("--width", type=int, default=8, help="nodes per layer")
    load.add_argument(
        "--pure-branches", type=int, default=0, help="branches that are data.transform nodes"
    )
    load.add_argument("--graphs", type=int, default=25, help="distinct layered workflows")
    load.add_argument("--in-flight", type=int, default=0, help="active runs at most (0: all)")
    load.add_argument("--sleep-ms", type=int, default=0)
    load.add_argument("--seed", type=int, default=1)
    load.add_argument("--timeout", type=float, default=120)
    sweep = commands.add_parser("sweep")
    sweep.add_argument("--interval", type=float, default=0.5)
    hook = commands.add_parser("hook")
    hook.add_argument("graph", help="the workflow's graph document, JSON")
    args = parser.parse_args(argv)

    django.setup()
    import tests.distributed.worker_setup  # noqa: F401 -- test.probe and the short leases

    logging.basicConfig(level=logging.WARNING)
    {"load": cmd_load, "sweep": cmd_sweep, "hook": cmd_hook}[args.command](args)


if __name__ == "__main__":
    main(sys.argv[1:])
