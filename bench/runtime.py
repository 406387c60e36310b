"""Runtime benchmarks, each against a baseline measured in the same invocation.

``python -m bench`` (or ``python -m bench.runtime``) creates a scratch
Postgres database and a private Redis database, starts real ``celery
worker`` processes (Baton's, and a plain-Celery one for the baselines, with
the same delivery settings), runs the four workloads of the runtime issue
and prints each result with its ratio and target:

1. per-step overhead of a 100-node chain of no-op nodes vs a Celery chain of
   100 no-op tasks (target <= 0.5x);
2. a 100-branch fan-out/fan-in vs a Celery chord of 100 (target <= 1.0x);
3. concurrent one-step runs per second vs plain Celery no-op tasks per
   second (target >= 0.6x);
4. Windmill's "40 lightweight tasks": 40 sequential fibo(10) steps, total
   wall time (target <= 0.25 s; published: Hatchet 1.22 s, Windmill 2.09 s,
   Temporal 2.97 s, Prefect 4.87 s on 2 vCPUs).

Times are wall-clock from the client's call (``start_run`` / ``apply_async``)
to the moment it sees the end (the run's row / the Celery result), the
median of ``--repeat`` rounds after one warm-up round.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from bench import cluster as cluster_mod

#: the no-op node of every Baton workload: renders a constant
NOOP = {"type": "data.transform", "config": {"output": {"ok": True}}}
#: fibo(n) by Binet's closed form: the expression language has arithmetic
#: but no recursion or loops, so each step computes fibo(10) this way
FIBO = "{{ round(((1 + 5 ** 0.5) / 2) ** trigger.n / 5 ** 0.5) }}"
PUBLISHED = {"Hatchet": 1.22, "Windmill": 2.09, "Temporal": 2.97, "Prefect": 4.87}


@dataclass
class Result:
    name: str
    baton: float
    baseline: float | None
    unit: str
    ratio: float | None
    target: str
    met: bool
    note: str = ""


# -- graphs ------------------------------------------------------------------


def trigger() -> dict[str, Any]:
    return {"id": "start", "type": "trigger.manual", "config": {}}


def edge(index: int, source: str, target: str) -> dict[str, Any]:
    return {"id": f"e{index}", "source": source, "target": target}


def chain_graph(length: int, node: dict[str, Any] | None = None) -> dict[str, Any]:
    node = node or NOOP
    ids = [f"n{i}" for i in range(length)]
    nodes = [trigger(), *({"id": i, **node} for i in ids)]
    edges = [edge(k, s, t) for k, (s, t) in enumerate(zip(["start", *ids], ids, strict=False))]
    return {"version": 1, "nodes": nodes, "edges": edges}


def fan_graph(width: int) -> dict[str, Any]:
    ids = [f"b{i}" for i in range(width)]
    nodes = [trigger(), *({"id": i, **NOOP} for i in ids)]
    nodes.append({"id": "join", "type": "logic.merge", "config": {"mode": "object"}})
    edges = [edge(k, "start", i) for k, i in enumerate(ids)]
    edges += [edge(width + k, i, "join") for k, i in enumerate(ids)]
    return {"version": 1, "nodes": nodes, "edges": edges}


def fibo_graph(length: int) -> dict[str, Any]:
    return chain_graph(length, {"type": "data.transform", "config": {"output": {"fibo": FIBO}}})


# -- Baton side (Django configured against the scratch database) -------------


class Baton:
    def __init__(self, worker: cluster_mod.Process) -> None:
        self.worker = worker
        from accounts.models import Membership, User, Workspace

        self.workspace = Workspace.objects.create(slug="bench", name="Bench")
        self.user = User.objects.create_user("bench", password=None)
        Membership.objects.create(workspace=self.workspace, user=self.user, roles=["admin"])

    def workflow(self, graph: dict[str, Any], name: str) -> Any:
        """A published workflow: runs start from its version, as in production."""
        from builder import services as builder
        from builder.models import Workflow

        workflow = Workflow.objects.create(workspace=self.workspace, name=name, graph=graph)
        builder.create_version(self.user, workflow)
        workflow.refresh_from_db()
        return workflow

    def start(self, workflow: Any, input: Any = None) -> Any:
        from runtime import services

        return services.start_run(self.user, workflow, input=input or {}).pk

    def wait(
        self, run_ids: list[Any], timeout: float = 120, poll: float = 0.01, workflow: Any = None
    ) -> float:
        """Wait until the runs end; return when the last one ended (epoch seconds),
        as the worker recorded it, so the poll interval adds nothing to the time."""
        from django.db.models import Max

        from runtime.models import RUN_ACTIVE, Run

        runs = Run.objects.filter(pk__in=run_ids)
        # Many runs of one workflow: ask whether the workflow has active runs
        # (an index scan), not about the whole id list: a query naming thousands
        # of ids every 10 ms took a core from the workers it watched.
        active = (
            Run.objects.filter(workflow=workflow, status__in=RUN_ACTIVE)
            if workflow is not None
            else runs.filter(status__in=RUN_ACTIVE)
        )
        deadline = time.monotonic() + timeout
        while active.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"runs still active after {timeout}s")
            time.sleep(poll)
        failed = runs.exclude(status="succeeded").count()
        if failed:
            raise RuntimeError(f"{failed} benchmark runs did not succeed")
        return runs.aggregate(last=Max("finished_at"))["last"].timestamp()

    def one(self, workflow: Any, input: Any = None) -> float:
        began = time.time()
        return self.wait([self.start(workflow, input)]) - began

    def many(self, workflow: Any, count: int) -> float:
        """Seconds from the first step's start to the last run's end, for ``count``
        runs started while the worker took no messages (all in flight at once; the
        client's own speed is not part of the measure)."""
        from django.db.models import Max, Min

        from config.celery import app
        from runtime.models import Run, Step

        with paused(app.control, "celery", self.worker):
            ids = [self.start(workflow) for _ in range(count)]
        self.wait(ids, timeout=300, poll=0.05, workflow=workflow)
        # the first step a worker ran (trigger steps are recorded as the run is created)
        executed = Step.objects.filter(run_id__in=ids).exclude(node_type__startswith="trigger.")
        first = executed.aggregate(t=Min("started_at"))["t"]
        last = Run.objects.filter(pk__in=ids).aggregate(t=Max("finished_at"))["t"]
        return (last - first).total_seconds()


# -- plain Celery side ---------------------------------------------------------


class Celery:
    """Plain Celery, one worker per pool setting, each on its own queue: every
    baseline is measured under each and the best one is the baseline."""

    def __init__(self, workers: dict[str, cluster_mod.Process]) -> None:
        self.workers = workers
        from bench import baseline

        self.baseline = baseline

    def chain(self, length: int, queue: str) -> float:
        from celery import chain

        began = time.perf_counter()
        tasks = (self.baseline.noop.si().set(queue=queue) for _ in range(length))
        chain(*tasks).apply_async().get(timeout=120)
        return time.perf_counter() - began

    def chord(self, width: int, queue: str) -> float:
        from celery import chord

        began = time.perf_counter()
        header = [self.baseline.noop.si().set(queue=queue) for _ in range(width)]
        chord(header)(self.baseline.collect.s().set(queue=queue)).get(timeout=120)
        return time.perf_counter() - began

    def many(self, count: int, queue: str) -> float:
        """Like :meth:`Baton.many`: ``count`` no-op tasks sent while the worker took no
        messages; seconds from the first task's start to the last one's end."""
        key = f"bench:count:{time.monotonic_ns()}"
        counter = self.baseline.counter()
        with paused(self.baseline.app.control, queue, self.workers[queue]):
            for _ in range(count):
                self.baseline.noop_counted.apply_async((key,), queue=queue)
        cluster_mod.wait_until(
            lambda: int(counter.get(key) or 0) >= count, 300, 0.005, "no-op tasks"
        )
        return float(counter.get(f"{key}:last")) - float(counter.get(f"{key}:first"))


def hostname(worker: cluster_mod.Process) -> str:
    """The worker's node name (``--hostname name@%h``)."""
    return worker.argv[worker.argv.index("--hostname") + 1].replace("%h", socket.gethostname())


@contextmanager
def paused(control: Any, queue: str, worker: cluster_mod.Process) -> Iterator[None]:
    """``worker`` stops taking messages from ``queue`` inside the block and
    takes them again as it ends: the work piles up in the broker while the
    worker stays warm (its processes, imports and connections), as in a
    deployment that is merely busy. (Every worker on the broker hears the
    broadcast: only this one is addressed.)"""
    destination = [hostname(worker)]
    control.cancel_consumer(queue, destination=destination, reply=True)
    time.sleep(0.2)
    try:
        yield
    finally:
        control.add_consumer(queue, destination=destination, reply=True)


def median_of(measure: Callable[[], float], repeat: int) -> float:
    measure()  # warm-up: imports, connections, worker caches
    return statistics.median(measure() for _ in range(repeat))


# -- the four workloads ------------------------------------------------------------


def best_time(celery: Celery, measure: Callable[[str], float], repeat: int) -> float:
    """The baseline's time under its fastest pool setting."""
    return min(median_of(lambda q=queue: measure(q), repeat) for queue in celery.workers)


def per_step_overhead(baton: Baton, celery: Celery, repeat: int) -> Result:
    workflow = baton.workflow(chain_graph(100), "chain-100")
    ours = median_of(lambda: baton.one(workflow), repeat) / 100
    theirs = best_time(celery, lambda q: celery.chain(100, q), repeat) / 100
    return Result(
        "100-node chain, time per step",
        ours * 1000,
        theirs * 1000,
        "ms",
        ours / theirs,
        "<= 0.5x",
        ours / theirs <= 0.5,
    )


def fan_out_fan_in(baton: Baton, celery: Celery, repeat: int) -> Result:
    workflow = baton.workflow(fan_graph(100), "fan-100")
    ours = median_of(lambda: baton.one(workflow), repeat)
    theirs = best_time(celery, lambda q: celery.chord(100, q), repeat)
    return Result(
        "100-branch fan-out/fan-in",
        ours * 1000,
        theirs * 1000,
        "ms",
        ours / theirs,
        "<= 1.0x",
        ours / theirs <= 1.0,
    )


def throughput(baton: Baton, celery: Celery, count: int, repeat: int) -> Result:
    """Like the other workloads: a warm-up round, then the median of ``repeat``
    rounds for each side (the baseline: the faster pool's median). Until
    22 Nov 2026 each side ran one round, and the baseline was the better of
    two single rounds, a maximum of two noisy samples against one."""
    workflow = baton.workflow(chain_graph(1), "one-step")
    began = time.perf_counter()
    ids = [baton.start(workflow) for _ in range(20)]
    submit = 20 / (time.perf_counter() - began)
    baton.wait(ids)
    ours = median_of(lambda: count / baton.many(workflow, count), repeat)
    theirs = max(
        median_of(lambda q=queue: count / celery.many(count, q), repeat) for queue in celery.workers
    )
    return Result(
        f"{count} concurrent one-step runs",
        ours,
        theirs,
        "runs/s",
        ours / theirs,
        ">= 0.6x",
        ours / theirs >= 0.6,
        "a run = trigger step + one no-op step; a task = one no-op task; all sent while "
        f"the worker took no messages (warm, paused); start_run itself: {submit:.0f} runs/s from one client",
    )


def forty_lightweight_tasks(baton: Baton, repeat: int) -> Result:
    workflow = baton.workflow(fibo_graph(40), "windmill-40")
    ours = median_of(lambda: baton.one(workflow, {"n": 10}), repeat)
    peers = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in PUBLISHED.items())
    return Result(
        "40 sequential fibo(10) steps",
        ours,
        None,
        "s",
        None,
        "<= 0.25 s",
        ours <= 0.25,
        f"published on 2 vCPUs: {peers}",
    )


# -- driver --------------------------------------------------------------------


def configure_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


#: pool settings: Baton's worker runs the deployment default, the plain
#: Celery baseline is measured under Celery's default and under Baton's
BASELINE_POOLS = {
    "bench-prefork": ["--pool", "prefork"],
    "bench-threads": ["--pool", "threads"],
}


def start_workers(
    running: cluster_mod.Cluster, concurrency: int, pool: str, baton_concurrency: int
) -> tuple[cluster_mod.Process, dict[str, cluster_mod.Process]]:
    pool_args = ["--pool", pool, "--concurrency", str(baton_concurrency)]
    baton = running.worker(concurrency, "config", *pool_args)
    # The periodic tick (lost messages, expired leases), as in any deployment.
    schedule = str(running.workdir / "celerybeat-schedule")
    running.spawn("beat", [sys.executable, "-m", "celery", "-A", "config", "beat", "-s", schedule])
    plain = {
        queue: running.worker(
            concurrency if queue == "bench-prefork" else baton_concurrency,
            "bench.baseline",
            "-Q",
            queue,
            *args,
            BENCH_BROKER_URL=running.redis_url,
        )
        for queue, args in BASELINE_POOLS.items()
    }
    from bench import baseline
    from config.celery import app

    for process, control in (
        (baton, app.control),
        *((p, baseline.app.control) for p in plain.values()),
    ):
        name = process.argv[process.argv.index("--hostname") + 1].split("@")[0]
        cluster_mod.wait_until(
            lambda c=control, n=name: any(
                n in key for reply in c.ping(timeout=0.5) for key in reply
            ),
            180,
            0.2,
            f"worker {name}",
        )
    return baton, plain


def report(results: list[Result]) -> str:
    lines = [f"{'workload':38} {'Baton':>12} {'baseline':>12} {'ratio':>7}  target    met"]
    for r in results:
        baseline = f"{r.baseline:10.2f} {r.unit}" if r.baseline is not None else "-"
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
        lines.append(
            f"{r.name:38} {r.baton:9.2f} {r.unit:<3}{baseline:>13} {ratio:>7}  {r.target:9} {'yes' if r.met else 'NO'}"
        )
        if r.note:
            lines.append(f"{'':38} {r.note}")
    return "\n".join(lines)


WORKLOADS = ("chain", "fan", "throughput", "fibo")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeat", type=int, default=5, help="measured rounds per workload (median)"
    )
    parser.add_argument(
        "--runs", type=int, default=300, help="runs and tasks of the throughput workload"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=2,
        help="processes of the plain-Celery prefork worker (Celery's default: one per core)",
    )
    parser.add_argument(
        "--pool",
        default="prefork",
        choices=["prefork", "threads"],
        help="Baton worker's pool (default: prefork, as `celery -A config worker` runs)",
    )
    parser.add_argument(
        "--baton-concurrency",
        type=int,
        default=2,
        help="Baton worker's processes (or threads); the plain threads worker gets as many",
    )
    parser.add_argument(
        "--only", default=",".join(WORKLOADS), help="comma-separated workloads to run"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(WORKLOADS)
    if unknown:
        parser.error(
            f"unknown workload {', '.join(sorted(unknown))}; known: {', '.join(WORKLOADS)}"
        )

    with cluster_mod.cluster() as running:
        os.environ["BENCH_BROKER_URL"] = running.redis_url
        configure_django(running.env)
        worker, plain = start_workers(running, args.concurrency, args.pool, args.baton_concurrency)
        baton, celery = Baton(worker), Celery(plain)
        print(
            f"Postgres {running.database.name}, Redis {running.redis_url}; Baton worker: "
            f"{args.pool} pool x {args.baton_concurrency}; plain Celery: prefork x "
            f"{args.concurrency} and threads x {args.baton_concurrency}, the faster one is the "
            f"baseline; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        workloads = {
            "chain": lambda: per_step_overhead(baton, celery, args.repeat),
            "fan": lambda: fan_out_fan_in(baton, celery, args.repeat),
            "throughput": lambda: throughput(baton, celery, args.runs, args.repeat),
            "fibo": lambda: forty_lightweight_tasks(baton, args.repeat),
        }
        results = []
        for name in args.only.split(","):
            results.append(workloads[name]())
            print(report(results[-1:]).splitlines()[1], flush=True)
        print("\n" + report(results))
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
        if args.json:
            print(json.dumps([asdict(r) for r in results], indent=2))
    return 0 if all(r.met for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
