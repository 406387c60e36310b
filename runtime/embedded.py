"""Embedded mode (no BATON_REDIS_URL): the worker and the scheduler run as
threads of the web process, on the same code path as distributed mode.

- The worker is a Celery ``WorkController`` with the solo pool consuming the
  ``memory://`` broker in a background thread (about 0.6 ms a task here; the
  threads pool stalls on ``memory://``). Steps dispatched by any thread of the
  process land in its queue.
- Steps of nodes that call out (models, HTTP, email: not ``pure``) run on a
  pool of ``BATON_STEP_THREADS`` threads (8): the worker thread claims such a
  step only once a pool thread is free, hands it over and takes the next
  message, so parallel branches call out at once and one slow call holds up
  nothing else. Steps of pure nodes (data, logic) run in the worker thread
  inside their claim, as in a worker process. A step still running when the
  process stops is recovered by the next start's sweep (its lease expires).
- The scheduler thread runs the sweeper tick (``runtime.engine.sweeper``)
  once at start-up (recovering whatever a previous process left running) and
  then every ``BATON_TICK_S`` seconds (0.5 by default): due timers and
  retries, lost messages, expired leases.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger(__name__)

_started = threading.Event()
_stop = threading.Event()
_threads: list[threading.Thread] = []
_worker: Any = None


class StepThreads:
    """A pool of threads for claimed steps that call out
    (:class:`runtime.engine.execute.StepThreads`)."""

    def __init__(self, size: int) -> None:
        self._free = threading.Semaphore(size)
        self._pool = ThreadPoolExecutor(size, thread_name_prefix="baton-step")

    @contextmanager
    def slot(self) -> Iterator[Callable[[Callable[[], None]], None]]:
        self._free.acquire()
        handed = False

        def hand_over(function: Callable[[], None]) -> None:
            nonlocal handed
            self._pool.submit(self._run, function)
            handed = True

        try:
            yield hand_over
        finally:
            if not handed:
                self._free.release()

    def _run(self, function: Callable[[], None]) -> None:
        close_old_connections()
        try:
            function()
        except Exception:
            # The step stays running until its lease expires; the sweeper then
            # sends it again, as after a worker process died.
            log.exception("a step failed on its thread")
        finally:
            close_old_connections()
            self._free.release()

    def shutdown(self) -> None:
        """Take no more steps; those running go on to their end."""
        self._pool.shutdown(wait=False)


def start() -> None:
    """Start the embedded worker and scheduler threads (once per process)."""
    from runtime.engine import execute

    if _started.is_set():
        return
    _started.set()
    _stop.clear()
    execute.step_threads = StepThreads(max(1, settings.STEP_THREADS))
    _start_thread("baton-worker", _run_worker)
    _start_thread("baton-scheduler", _run_scheduler)


def stop(timeout: float = 5.0) -> None:
    """Stop both threads (used by tests and on shutdown)."""
    from runtime.engine import execute

    _stop.set()
    if _worker is not None:
        _worker.stop(in_sighandler=False)
    for thread in _threads:
        thread.join(timeout)
    _threads.clear()
    threads, execute.step_threads = execute.step_threads, None
    if isinstance(threads, StepThreads):
        threads.shutdown()
    _started.clear()


def _start_thread(name: str, target: Any) -> None:
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    _threads.append(thread)


def _run_worker() -> None:
    global _worker
    from celery.worker import WorkController

    from config.celery import app

    # kombu's in-memory transport polls its queue once a second by default.
    options = dict(app.conf.broker_transport_options or {})
    options.setdefault("polling_interval", 0.001)
    app.conf.broker_transport_options = options
    _worker = WorkController(
        app=app,
        hostname=f"embedded@{socket.gethostname()}",
        pool_cls="solo",
        concurrency=1,
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        optimization="fair",
    )
    try:
        _worker.start()
    except Exception:
        log.exception("the embedded worker stopped")


#: other apps' periodic work (approval timers, schedules): name -> (function,
#: interval in seconds). In distributed mode Celery beat runs the same
#: functions; here the scheduler thread does.
_periodic: dict[str, tuple[Any, float]] = {}


def register_periodic(name: str, function: Any, interval_s: float) -> None:
    """Run ``function()`` every ``interval_s`` seconds on the embedded
    scheduler thread (only in embedded mode, where there is no beat)."""
    _periodic[name] = (function, interval_s)


def _run_scheduler() -> None:
    from runtime.engine import sweeper

    interval = float(getattr(settings, "BATON_TICK_S", 0.5))
    last_run: dict[str, float] = {}
    while not _stop.is_set():
        close_old_connections()
        _guarded("the embedded scheduler tick", sweeper.tick)
        now = time.monotonic()
        for name, (function, every) in list(_periodic.items()):
            if now - last_run.get(name, float("-inf")) >= every:
                last_run[name] = now
                _guarded(name, function)
        _stop.wait(interval)
    close_old_connections()


def _guarded(name: str, function: Any) -> None:
    try:
        function()
    except Exception:
        log.exception("%s failed", name)
