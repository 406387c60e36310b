"""Webhook benchmark: ``python -m bench.webhook`` (``--mode embedded``,
``--mode distributed`` or both by default).

A published workflow ``webhook (sync) -> one step -> response``: each call
starts a durable run (run, trigger step and step rows, events, all committed)
and answers with the run's output. ``--clients`` concurrent clients (20) each
send calls back to back over a keep-alive connection for ``--seconds`` (10);
the result is the median latency of answered calls and executions per second
(200 answers with the run's output, per second of the window).

Back to back, 20 clients make the median latency 20 / (executions per
second) by Little's law: a 15 ms median that way would need 1,333 executions
per second. So each deployment is measured twice: back to back (the rate it
sustains, against >= 170/s) and paced at each of ``--rates`` calls per
second in all (170 by default: the latency at the target rate, against
p50 <= 15 ms; then 40: the latency when not saturated). Each paced call's
latency counts from its scheduled time, so queueing behind a slow call is
charged.

- embedded: ``manage.py serve`` on a fresh SQLite database (web, worker and
  scheduler in one process);
- distributed: a scratch Postgres database and a private Redis database
  (``bench.cluster``), uvicorn with one process per core for the web side
  (``--web-workers``; the README's deployment routes ``/hooks/`` there) and
  a ``celery -A config worker`` process.

For scale (issue 9): n8n 1.123 with its defaults, same machine kind, same
shape and load: 74 ms at the median, 17 executions per second. Targets:
p50 <= 15 ms, >= 170 executions per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import cluster as cluster_mod

ROOT = Path(__file__).resolve().parent.parent
N8N = {"p50_ms": 74.0, "executions_per_s": 17.0}
TARGET = {"p50_ms": 15.0, "executions_per_s": 170.0}

GRAPH = {
    "version": 1,
    "nodes": [
        {"id": "hook", "type": "trigger.webhook", "config": {"mode": "sync"}},
        {
            "id": "step",
            "type": "data.transform",
            "config": {"output": {"echo": "{{ trigger.body.n }}", "ok": True}},
        },
    ],
    "edges": [{"id": "e1", "source": "hook", "target": "step"}],
}


@dataclass
class Measurement:
    mode: str
    clients: int
    seconds: float
    calls: int
    answered_200: int
    other_statuses: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    executions_per_s: float
    #: calls per second in all for a paced round, None back to back
    paced_rate: float | None = None


# -- setup (runs inside the deployment's environment) ----------------------------


def setup_workflow() -> str:
    """Create a workspace, a user and the published workflow; return the hook path."""
    import django

    django.setup()
    from accounts.models import Membership, User, Workspace
    from builder import services
    from builder.models import Workflow
    from triggers.models import Hook

    workspace = Workspace.objects.create(slug=f"bench-{os.getpid()}", name="Bench")
    user = User.objects.create_user(f"bench{os.getpid()}", password=os.urandom(16).hex())
    Membership.objects.create(workspace=workspace, user=user, roles=["admin"])
    workflow = Workflow.objects.create(
        workspace=workspace, name="webhook bench", graph=GRAPH, created_by=user
    )
    services.create_version(user, workflow, note="bench")
    return f"/hooks/{Hook.objects.get(workflow=workflow).pk}/"


def _run_setup(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bench.webhook", "--setup"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1]


# -- load -----------------------------------------------------------------------


async def _client(
    port: int,
    path: str,
    until: float,
    latencies: list[float],
    statuses: dict,
    interval: float | None = None,
    offset: float = 0.0,
) -> None:
    """Calls back to back, or (``interval``) one every ``interval`` seconds
    from ``offset``: latency then counts from the scheduled time, so a call
    delayed by a slow previous one is charged its wait (no coordinated
    omission)."""
    n = 0
    next_at = time.perf_counter() + offset
    while time.monotonic() < until:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < until:
                n += 1
                if interval is not None:
                    await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                    started, next_at = next_at, next_at + interval
                else:
                    started = time.perf_counter()
                status, answer = await _call(reader, writer, path, n)
                elapsed = time.perf_counter() - started
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200 and answer.get("step", {}).get("echo") == n:
                    latencies.append(elapsed)
        except (ConnectionError, asyncio.IncompleteReadError):
            statuses["connection lost"] = statuses.get("connection lost", 0) + 1
        finally:
            writer.close()


async def _call(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, n: int
) -> tuple[int, Any]:
    body = json.dumps({"n": n}).encode()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    writer.write(request)
    await writer.drain()
    return await _read_response(reader)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, Any]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
    }
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            size = int((await reader.readline()).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    try:
        return status, json.loads(body or b"null") or {}
    except ValueError:
        return status, {}


async def _load(
    port: int, path: str, clients: int, seconds: float, rate: float | None = None
) -> tuple[list[float], dict]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    until = time.monotonic() + seconds
    interval = clients / rate if rate else None
    await asyncio.gather(
        *(
            _client(port, path, until, latencies, statuses, interval, (interval or 0) * i / clients)
            for i in range(clients)
        )
    )
    return latencies, statuses


def measure(
    mode: str, port: int, path: str, clients: int, seconds: float, rate: float | None = None
) -> Measurement:
    asyncio.run(_load(port, path, clients, 2.0))  # warm-up: connections, caches
    started = time.monotonic()
    latencies, statuses = asyncio.run(_load(port, path, clients, seconds, rate))
    window = time.monotonic() - started
    ordered = sorted(latencies) or [float("nan")]

    def pct(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return Measurement(
        mode=mode if rate is None else f"{mode} @{rate:g}/s",
        clients=clients,
        seconds=round(window, 2),
        calls=sum(statuses.values()),
        answered_200=len(latencies),
        other_statuses={str(k): v for k, v in statuses.items() if k != 200},
        p50_ms=round(1000 * statistics.median(ordered), 2),
        p90_ms=pct(0.90),
        p99_ms=pct(0.99),
        executions_per_s=round(len(latencies) / window, 1),
        paced_rate=rate,
    )


# -- deployments ------------------------------------------------------------------


def _wait_for_port(port: int, process: cluster_mod.Process, timeout: float = 120) -> None:
    import socket

    def listening() -> bool:
        if not process.alive:
            raise RuntimeError(f"{process.name} exited:\n{process.log_tail()}")
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    cluster_mod.wait_until(listening, timeout, what=f"{process.name} on port {port}")


def _bench_env(base: dict[str, str]) -> dict[str, str]:
    return {
        **base,
        "BATON_WEBHOOK_RATE_LIMIT_PER_MIN": str(10**9),
        "BATON_WEBHOOK_SYNC_TIMEOUT_S": "10",
        "BATON_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
    }


def serve_embedded(env: dict[str, str], workdir: Path, port: int) -> cluster_mod.Process:
    """``manage.py serve`` (embedded mode unless ``env`` says Redis), listening."""
    process = cluster_mod.Process(
        "web",
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        env,
        workdir / "web.log",
    ).start()
    _wait_for_port(port, process)
    return process


@contextmanager
def embedded() -> Any:
    with tempfile.TemporaryDirectory(prefix="baton-webhook-") as workdir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
        env = _bench_env({**env, "BATON_VAR_DIR": workdir})
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        path = _run_setup(env)
        port = cluster_mod.free_port()
        web = serve_embedded(env, Path(workdir), port)
        try:
            yield port, path, web
        finally:
            web.stop()


@contextmanager
def distributed(workers: int, web_workers: int) -> Any:
    """The README's deployment: webhooks (and WebSockets) served by uvicorn,
    ``web_workers`` processes, steps by a ``celery -A config worker``."""
    with cluster_mod.cluster(**_bench_env({})) as running:
        running.env = _bench_env(running.env)
        path = _run_setup(running.env)
        running.worker(concurrency=workers)
        port = cluster_mod.free_port()
        web = running.spawn(
            "web",
            [
                *(sys.executable, "-m", "uvicorn", "config.asgi:application"),
                *("--port", str(port), "--workers", str(web_workers), "--lifespan", "off"),
                *("--log-level", "warning", "--ws-per-message-deflate", "false"),
            ],
        )
        _wait_for_port(port, web)
        yield port, path, web


def report(result: Measurement) -> str:
    p50_ratio = N8N["p50_ms"] / result.p50_ms if result.p50_ms else float("nan")
    rate_ratio = result.executions_per_s / N8N["executions_per_s"]
    if result.paced_rate is not None and result.paced_rate != TARGET["executions_per_s"]:
        verdict = "for reference (the target is set at the target rate)"
    elif result.paced_rate is not None:  # the latency at the target rate
        met = result.p50_ms <= TARGET["p50_ms"]
        verdict = (
            f"target p50 <= {TARGET['p50_ms']:g} ms at this rate: {'met' if met else 'NOT met'}"
        )
    else:  # back to back: the rate it sustains
        met = result.executions_per_s >= TARGET["executions_per_s"]
        target = f">= {TARGET['executions_per_s']:g} exec/s back to back"
        verdict = f"target {target}: {'met' if met else 'NOT met'}"
    return (
        f"{result.mode:18} p50 {result.p50_ms:7.2f} ms (p90 {result.p90_ms:.1f}, p99 {result.p99_ms:.1f})"
        f"  {result.executions_per_s:7.1f} exec/s  [{result.answered_200} runs, "
        f"other answers {result.other_statuses or 'none'}]\n"
        f"{'':18} vs n8n 74 ms / 17 exec/s: {p50_ratio:.1f}x faster median, {rate_ratio:.1f}x the rate;"
        f" {verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["embedded", "distributed", "both"], default="both")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2, help="celery concurrency (distributed)")
    parser.add_argument(
        "--web-workers",
        type=int,
        default=os.cpu_count() or 1,
        help="uvicorn processes (distributed; default: one per core)",
    )
    parser.add_argument(
        "--rates",
        default=f"{TARGET['executions_per_s']:g},40",
        help="calls per second in all, one paced round each (default: the target rate, "
        "then 40/s: the latency of a call when the deployment is not saturated)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.setup:
        print(setup_workflow())
        return 0
    results = []
    modes = ["embedded", "distributed"] if args.mode == "both" else [args.mode]
    for mode in modes:
        deployment = (
            embedded() if mode == "embedded" else distributed(args.workers, args.web_workers)
        )
        with deployment as (port, path, web):
            rates = [float(r) for r in args.rates.split(",") if r.strip()]
            for rate in (None, *rates):
                result = measure(mode, port, path, args.clients, args.seconds, rate)
                if not result.answered_200:
                    print(web.log_tail(60), file=sys.stderr)
                results.append(result)
                print(report(result), flush=True)
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
