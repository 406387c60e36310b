"""A throw-away distributed Baton: a scratch Postgres database, a private
Redis database and real ``celery worker`` processes.

Shared by the benchmarks (``python -m bench``) and the fault tests
(``tests/distributed/``). Nothing here imports Django: the caller decides
whether its own process talks to the scratch database (the benchmarks) or
only drives subprocesses (the tests, whose own Django points at pytest's
test database).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("BATON_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_HOST = os.environ.get("BATON_BENCH_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("BATON_BENCH_REDIS_PORT", "6379"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ScratchDatabase:
    """A Postgres database created for one benchmark or test session, then dropped."""

    admin_url: str = PG_ADMIN_URL
    name: str = field(default_factory=lambda: f"baton_dist_{secrets.token_hex(4)}")

    @property
    def url(self) -> str:
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{self.name}"

    def _admin(self, sql: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def create(self) -> ScratchDatabase:
        self._admin(f'CREATE DATABASE "{self.name}"')
        return self

    def drop(self) -> None:
        # FORCE ends sessions a killed worker left behind (Postgres 13+).
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


#: the key that marks a Redis database as taken by a running deployment
CLAIM_KEY = "baton:bench:claim"


def empty_redis_db(host: str = REDIS_HOST, port: int = REDIS_PORT) -> int:
    """A Redis database index nobody else is using right now (16..1 tried)."""
    for index in range(15, 0, -1):
        client = redis.Redis(host=host, port=port, db=index)
        try:
            # Claim it with a marker so a parallel session picks another one.
            if client.dbsize() == 0 and client.set(CLAIM_KEY, "1", nx=True, ex=3600):
                return index
        finally:
            client.close()
    raise RuntimeError("No empty Redis database left (1..15 are all in use)")


def flush_redis(url: str, *, keep_claim: bool = False) -> None:
    """Empty the database; ``keep_claim`` puts the claim marker back, so a
    parallel session still sees the database as taken."""
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
        if keep_claim:
            client.set(CLAIM_KEY, "1", ex=3600)
    finally:
        client.close()


def distributed_env(
    database_url: str, redis_url: str, var_dir: str, **extra: str
) -> dict[str, str]:
    """The environment of every process of the throw-away deployment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env.update(
        BATON_DATABASE_URL=database_url,
        BATON_REDIS_URL=redis_url,
        BATON_SECRET_KEY=secrets.token_urlsafe(48),
        BATON_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        BATON_HTTPS="0",
        BATON_VAR_DIR=var_dir,
        BATON_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class Process:
    """A subprocess in its own process group, so a kill takes its children too."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen | None = None

    def start(self) -> Process:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal_group(self, signum: int) -> None:
        if self.popen is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signum)

    def kill(self) -> None:
        """SIGKILL the whole group: the worker and its pool children die at once."""
        self.signal_group(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(timeout=10)

    def stop(self, timeout: float = 10) -> None:
        if not self.alive:
            return
        self.signal_group(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def celery_argv(app: str, name: str, concurrency: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        app,
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        str(concurrency),
        "--hostname",
        f"{name}@%h",
        "--loglevel",
        "WARNING",
        "--without-gossip",
        "--without-mingle",
        *extra,
    ]


@dataclass
class Cluster:
    """Worker processes of one throw-away deployment, plus its scratch state."""

    database: ScratchDatabase
    redis_url: str
    workdir: Path
    env: dict[str, str]
    processes: list[Process] = field(default_factory=list)
    _serial: int = 0

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
        )

    def spawn(self, role: str, argv: list[str], **env: str) -> Process:
        self._serial += 1
        name = f"{role}{self._serial}"
        process = Process(name, argv, {**self.env, **env}, self.workdir / f"{name}.log")
        self.processes.append(process.start())
        return process

    def worker(self, concurrency: int = 2, app: str = "config", *extra: str, **env: str) -> Process:
        name = f"w{self._serial + 1}-{secrets.token_hex(2)}"
        return self.spawn("worker", celery_argv(app, name, concurrency, *extra), **env)

    def workers(self) -> list[Process]:
        return [p for p in self.processes if p.name.startswith("worker") and p.alive]

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop()
        self.processes.clear()


@contextmanager
def cluster(
    *, migrate: bool = True, redis_url: str | None = None, **extra_env: str
) -> Iterator[Cluster]:
    """Create the scratch database and Redis db, yield, then remove everything.

    ``redis_url``: a broker of the caller's (say a private ``RedisServer``);
    by default an unused database of the shared Redis."""
    database = ScratchDatabase().create()
    claimed = redis_url is None
    redis_url = redis_url or f"redis://{REDIS_HOST}:{REDIS_PORT}/{empty_redis_db()}"
    flush_redis(redis_url, keep_claim=claimed)
    with tempfile.TemporaryDirectory(prefix="baton-dist-") as workdir:
        env = distributed_env(database.url, redis_url, workdir, **extra_env)
        running = Cluster(database, redis_url, Path(workdir), env)
        try:
            if migrate:
                running.migrate()
            yield running
        finally:
            running.stop_all()
            flush_redis(redis_url)
            database.drop()


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"Timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class RedisServer:
    """A private ``redis-server`` (no persistence) that a test may stop and
    start again without disturbing anyone else's Redis."""

    port: int = field(default_factory=free_port)
    popen: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.popen = subprocess.Popen(  # the server is our child: stop() ends only it
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, 10, 0.05, f"redis-server on port {self.port}")
        return self

    def _answers(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        """Lose everything: SIGKILL, as a crashed server would."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def restart(self, down_s: float = 1.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()
