"""Live-event benchmarks (issue 6), distributed mode: a real ASGI server and Redis.

``python -m bench.live [--clients 20] [--rate 100] [--seconds 10]``

1. **Event to client**: a scratch Postgres database and Redis database
   (``bench.cluster``), ``uvicorn config.asgi:application`` as its own
   process, ``--clients`` WebSocket clients (token in the subprotocol) all
   watching one run's socket with ``?since=0``. This process appends that
   run's events at ``--rate`` per second in total, each in its own
   transaction through the engine's own path (``runtime.events`` ->
   ``runtime.live`` -> Redis pub/sub), stamping the wall-clock time it
   committed; every client records when each event arrived. Reported: p50,
   p99 and max latency over all deliveries, and events missing, duplicated or
   out of order per client. Target: p99 <= 25 ms, none missing or reordered.
2. **Publishing cost in the worker**: the caller-side time of
   ``runtime.live.publish_events`` per event (what a worker pays after each
   commit), against one step's overhead measured in the same process: a
   chain of no-op steps run with eager tasks, with and without the publisher
   hook. Target: <= 10% of a step's overhead.

Exit status 0 when every target is met. Needs Postgres at 127.0.0.1:5432 and
Redis at 127.0.0.1:6379 (see ``bench.cluster`` for the variables).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import socket
import statistics
import sys
import time
from typing import Any

from bench import cluster as cluster_mod
from bench.cluster import Process, free_port, wait_until

LATENCY_TARGET_MS = 25.0
PUBLISH_SHARE_TARGET = 0.10


# -- processes -----------------------------------------------------------------------


def serve_asgi(running: cluster_mod.Cluster) -> tuple[Process, int]:
    """``uvicorn config.asgi:application`` on a free port (WebSockets, as in the README)."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "config.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--lifespan",
        "off",
    ]
    server = running.spawn("uvicorn-", argv)
    wait_until(lambda: listening(port), 60, 0.1, "uvicorn")
    return server, port


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def configure_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


# -- the world (Django configured against the scratch database) ------------------------


def chain_graph(length: int) -> dict[str, Any]:
    """``trigger.manual`` then ``length`` no-op ``data.transform`` nodes in a row."""
    ids = [f"n{i}" for i in range(length)]
    return {
        "version": 1,
        "nodes": [{"id": "start", "type": "trigger.manual", "config": {}}]
        + [{"id": i, "type": "data.transform", "config": {"output": {"ok": True}}} for i in ids],
        "edges": [
            {"id": f"e{k}", "source": s, "target": t}
            for k, (s, t) in enumerate(zip(["start", *ids], ids, strict=False))
        ],
    }


def seed(chain: int = 40) -> dict[str, Any]:
    """A workspace with a viewer (token and session), an outsider (another
    workspace), a workflow with a run, and a workflow of a ``chain``-step chain."""
    from django.test import Client

    from accounts.models import ApiToken, Membership, User, Workspace
    from builder.models import Workflow
    from runtime.models import Run

    graph = {
        "version": 1,
        "nodes": [{"id": "start", "type": "trigger.manual", "config": {}}],
        "edges": [],
    }
    acme = Workspace.objects.create(slug="live", name="Live")
    other = Workspace.objects.create(slug="elsewhere", name="Elsewhere")
    viewer = User.objects.create_user("live-viewer", password=None)
    outsider = User.objects.create_user("live-outsider", password=None)
    Membership.objects.create(workspace=acme, user=viewer, roles=["admin"])
    Membership.objects.create(workspace=other, user=outsider, roles=["admin"])
    workflow = Workflow.objects.create(workspace=acme, name="Live", graph=graph)
    run = Run.objects.create(
        workspace=acme, workflow=workflow, graph=graph, status="running", trigger_node="start"
    )
    cookies = {}
    for user in (viewer, outsider):
        client = Client()
        client.force_login(user)
        cookies[user.username] = f"sessionid={client.cookies['sessionid'].value}"
    chained = Workflow.objects.create(workspace=acme, name="Chain", graph=chain_graph(chain))
    long = Workflow.objects.create(workspace=acme, name="Long", graph=chain_graph(chain * 4))
    return {
        "run": str(run.pk),
        "workflow": str(workflow.pk),
        "chain": str(chained.pk),
        "long": str(long.pk),
        "token": ApiToken.issue(viewer, "bench")[1],
        "outsider_token": ApiToken.issue(outsider, "bench")[1],
        "viewer_cookie": cookies["live-viewer"],
        "outsider_cookie": cookies["live-outsider"],
    }


def append_event(run_id: str, number: int) -> None:
    """One event in its own transaction, as a transition writes it; published on commit."""
    from django.db import transaction
    from django.utils import timezone

    from runtime import events as hooks
    from runtime.models import Run, RunEvent

    with transaction.atomic():
        run = Run.objects.select_for_update().only("event_seq").get(pk=run_id)
        seq = run.event_seq + 1
        event = RunEvent(
            run_id=run_id,
            seq=seq,
            kind="step",
            node_id=f"n{number % 50}",
            visit=1,
            status="running",
            at=timezone.now(),
        )
        Run.objects.filter(pk=run_id).update(event_seq=seq)
        # The commit time is what the latency is measured from.
        transaction.on_commit(lambda: event.payload.update(sent=time.time()))
        event.save()
        hooks.publish_on_commit([event])


def produce(run_id: str, rate: float, seconds: float) -> int:
    total = int(rate * seconds)
    start = time.perf_counter()
    for number in range(total):
        delay = start + number / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        append_event(run_id, number)
    return total


# -- clients -----------------------------------------------------------------------------


async def watch(
    url: str, origin: str, subprotocols: list[str], expect: int, opened: asyncio.Event, over: Any
) -> list[tuple[int, float, float | None]]:
    """(seq, arrival time, sent time) of every event until ``expect`` arrived or ``over()``."""
    import websockets

    got: list[tuple[int, float, float | None]] = []
    async with websockets.connect(url, origin=origin, subprotocols=subprotocols) as socket:
        opened.set()  # the server subscribes before it accepts: from here nothing is missed
        while len(got) < expect:
            try:
                raw = await asyncio.wait_for(socket.recv(), 1.0)
            except TimeoutError:
                if over():
                    break
                continue
            message = json.loads(raw)
            if "seq" in message:
                got.append((message["seq"], time.time(), message.get("sent")))
    return got


def fanout(port: int, world: dict[str, Any], clients: int, rate: float, seconds: float) -> dict:
    """The clients run in a process of their own, so that the producer (this
    process, writing to Postgres) and the clients do not share a GIL."""
    url = f"ws://127.0.0.1:{port}/ws/runs/{world['run']}/?since=0"
    origin = f"http://127.0.0.1:{port}"
    protocols = ["baton", f"bearer.{world['token']}"]
    total = int(rate * seconds)
    context = multiprocessing.get_context("fork")
    all_open, produced = context.Event(), context.Event()
    receiving, sending = context.Pipe(duplex=False)
    watcher = context.Process(
        target=watch_all,
        args=(url, origin, protocols, clients, total, all_open, produced, sending),
    )
    watcher.start()
    if not all_open.wait(120):
        watcher.kill()
        raise TimeoutError("the WebSocket clients did not all connect")
    started = time.perf_counter()
    produce(world["run"], rate, seconds)
    achieved = total / (time.perf_counter() - started)
    produced.set()
    results = receiving.recv() if receiving.poll(GRACE_S + 60) else []
    watcher.join(10)
    return {**summarize(results, total), "produced_per_s": round(achieved, 1)}


#: how long clients wait for stragglers once everything was produced
GRACE_S = 15.0


def watch_all(
    url: str,
    origin: str,
    protocols: list[str],
    clients: int,
    total: int,
    all_open: Any,
    produced: Any,
    results: Any,
) -> None:
    noticed: list[float] = []

    def over() -> bool:
        if not produced.is_set():
            return False
        noticed.append(time.time())
        return noticed[-1] - noticed[0] > GRACE_S

    async def run() -> list[list[tuple[int, float, float | None]]]:
        opened = [asyncio.Event() for _ in range(clients)]
        tasks = [
            asyncio.create_task(watch(url, origin, protocols, total, flag, over)) for flag in opened
        ]
        await asyncio.gather(*(flag.wait() for flag in opened))
        all_open.set()
        return list(await asyncio.gather(*tasks))

    results.send(asyncio.run(run()))


def summarize(results: list[list[tuple[int, float, float | None]]], total: int) -> dict:
    latencies: list[float] = []
    missing = duplicated = reordered = from_database = 0
    for got in results:
        seqs = [seq for seq, _, _ in got]
        missing += len(set(range(1, total + 1)) - set(seqs))
        duplicated += len(seqs) - len(set(seqs))
        reordered += sum(1 for a, b in itertools.pairwise(seqs) if b <= a)
        latencies += [(arrived - sent) * 1000 for _, arrived, sent in got if sent is not None]
        # replayed or gap-filled from the database: delivered, but without a send stamp
        from_database += sum(1 for _, _, sent in got if sent is None)
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return {
        "clients": len(results),
        "events": total,
        "deliveries": sum(len(got) for got in results),
        "from_database": from_database,
        "p50_ms": round(p(0.50), 2) if latencies else None,
        "p99_ms": round(p(0.99), 2) if latencies else None,
        "max_ms": round(latencies[-1], 2) if latencies else None,
        "missing": missing,
        "duplicated": duplicated,
        "reordered": reordered,
    }


# -- publishing cost ------------------------------------------------------------------------


def publish_cost(events_per_call: int = 2, calls: int = 3000) -> float:
    """Caller-side microseconds per event of ``live.publish_events``."""
    from django.utils import timezone

    from runtime import live
    from runtime.models import RunEvent

    world_run = seed_run()
    batches = [
        [
            RunEvent(
                run_id=world_run,
                seq=i * events_per_call + k,
                kind="step",
                node_id="n",
                visit=1,
                status="running",
                at=timezone.now(),
            )
            for k in range(events_per_call)
        ]
        for i in range(calls)
    ]
    live.publish_events(batches[0])  # warm the run's cache entry and the loop thread
    live.publisher.flush()
    spent = 0.0
    for batch in batches[1:]:
        started = time.perf_counter()
        live.publish_events(batch)
        spent += time.perf_counter() - started
        time.sleep(0.0005)  # spread as a worker would; the loop drains meanwhile
    live.publisher.flush()
    return spent / ((calls - 1) * events_per_call) * 1e6


def seed_run() -> str:
    from runtime.models import Run

    return str(Run.objects.order_by("created_at").values_list("pk", flat=True).first())


def step_overhead(length: int = 60, rounds: int = 3) -> tuple[float, float, float]:
    """(ms per step with the publisher, without it, events per step): eager no-op chains."""
    from accounts.models import User
    from builder.models import Workflow
    from config.celery import app
    from runtime import events, live, services
    from runtime.models import RunEvent

    graph = chain_graph(length)
    user = User.objects.get(username="live-viewer")
    workflow = Workflow.objects.create(
        workspace_id=user.memberships.first().workspace_id, name="chain", graph=graph
    )
    app.conf.task_always_eager = True

    def timed() -> float:
        started = time.perf_counter()
        services.start_run(user, workflow, input={}, version="draft")
        return (time.perf_counter() - started) / (length + 1) * 1000

    timed()  # warm up
    with_hook, without_hook = [], []
    for _ in range(rounds):
        with_hook.append(timed())
        events.unregister(live.publish_events)
        without_hook.append(timed())
        events.register(live.publish_events)
    live.publisher.flush()
    per_step = RunEvent.objects.filter(run__workflow=workflow).count() / (
        (rounds * 2 + 1) * (length + 1)
    )
    return statistics.median(with_hook), statistics.median(without_hook), per_step


# -- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.live", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rate", type=float, default=100.0, help="events per second in total")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--seed-only",
        action="store_true",
        help="seed the database of the environment and print the world as JSON (tests use it)",
    )
    args = parser.parse_args(argv)
    if args.seed_only:
        configure_django(dict(os.environ))
        print(json.dumps(seed()))
        return 0
    print(f"cpus={os.cpu_count()} load={os.getloadavg()}", flush=True)
    with cluster_mod.cluster() as running:
        server, port = serve_asgi(running)
        configure_django(running.env)
        world = seed()
        try:
            fan = fanout(port, world, args.clients, args.rate, args.seconds)
        finally:
            server.stop()
        print(json.dumps({"fanout": fan}), flush=True)
        per_event_us = publish_cost()
        with_ms, without_ms, events_per_step = step_overhead()
        share = per_event_us / 1000 * events_per_step / with_ms
        cost = {
            "publish_us_per_event": round(per_event_us, 1),
            "events_per_step": round(events_per_step, 2),
            "step_ms_with_publisher": round(with_ms, 3),
            "step_ms_without_publisher": round(without_ms, 3),
            "publish_share_of_step": round(share, 4),
        }
        print(json.dumps({"publish": cost}), flush=True)
    met = (
        fan["p99_ms"] is not None
        and fan["p99_ms"] <= LATENCY_TARGET_MS
        and fan["missing"] == fan["duplicated"] == fan["reordered"] == 0
        and share <= PUBLISH_SHARE_TARGET
    )
    print(json.dumps({"targets_met": met, "load_after": os.getloadavg()}), flush=True)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
