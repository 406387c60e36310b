"""Waiting for a run to finish without holding a thread (sync webhooks).

A waiter is an ``asyncio.Event`` on the caller's loop, set by :func:`notify`
when the run's end commits (the run-event hook,
:func:`triggers.receivers.on_run_events`, calls it):
- embedded mode: the worker is a thread of this process, so it notifies
  directly;
- distributed mode: the worker process publishes the finished run ids on a
  Redis channel (:func:`publish_finished`); each web process keeps one
  subscription (:func:`_listen`) that notifies its waiters.
Either way the waiter also re-reads the run now and then (from 0.25 s,
doubling to 1 s), so a lost notification costs latency, never an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from functools import cache
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "baton:runs-finished"
POLL_START_S = 0.25
POLL_MAX_S = 1.0

_lock = threading.Lock()
_waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
_listeners: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}


def notify(run_ids: Iterable[Any]) -> None:
    """Wake the waiters of these runs (from any thread)."""
    with _lock:
        woken = [w for run_id in run_ids for w in _waiters.pop(str(run_id), [])]
    for loop, event in woken:
        with contextlib.suppress(RuntimeError):  # that loop has closed
            loop.call_soon_threadsafe(event.set)


@cache
def _redis() -> Any:
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


@cache
def channel() -> str:
    """Pub/sub channels are shared by every database of a Redis server: name
    the database in the channel so deployments sharing a server stay apart."""
    database = _redis().connection_pool.connection_kwargs.get("db", 0)
    return f"{CHANNEL_PREFIX}:{database}"


_here = threading.local()


@contextlib.contextmanager
def answered_here() -> Iterator[dict[str, Any]]:
    """Runs that end inside the block end in the thread that will answer
    for them (a sync webhook's first steps, run in its web process): no
    other process waits for them, so their end is not announced; the block
    gets them instead, run id -> the ending transition's ``RunFacts``."""
    ended: dict[str, Any] = {}
    _here.ended = ended
    try:
        yield ended
    finally:
        _here.ended = None


def ended_here(ended: Mapping[Any, Any]) -> bool:
    """Hand runs that ended to the :func:`answered_here` block of this
    thread, if there is one (then True: nobody else needs to hear)."""
    block = getattr(_here, "ended", None)
    if block is None:
        return False
    block.update((str(run_id), facts) for run_id, facts in ended.items())
    return True


def publish_finished(run_ids: list[str]) -> None:
    """Tell the web processes (distributed mode) that these runs ended."""
    if settings.REDIS_URL and run_ids:
        try:
            _redis().publish(channel(), ",".join(run_ids))
        except Exception:
            log.warning("could not publish finished runs; waiters will poll", exc_info=True)


async def _listen() -> None:
    import redis.asyncio as aioredis

    while True:
        try:
            client = aioredis.Redis.from_url(settings.REDIS_URL)
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(channel())
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        notify(message["data"].decode().split(","))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("run-finished subscription lost; retrying", exc_info=True)
            await asyncio.sleep(1)


def _ensure_listener() -> None:
    """One subscription per server loop. Only the loop of an ASGI server (in
    the main thread) lives long enough: under WSGI each async view runs on a
    short-lived loop of its own, and the waiter relies on re-reading the run."""
    if not settings.REDIS_URL or threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    task = _listeners.get(loop)
    if task is None or task.done():
        _listeners[loop] = loop.create_task(_listen())


async def wait_until_finished(
    run_id: Any, is_finished: Callable[[], Awaitable[bool]], timeout_s: float
) -> bool:
    """True once ``is_finished()`` says so, False after ``timeout_s``."""
    _ensure_listener()
    key = str(run_id)
    event = asyncio.Event()
    with _lock:
        _waiters.setdefault(key, []).append((asyncio.get_running_loop(), event))
    deadline = time.monotonic() + timeout_s
    interval = POLL_START_S
    try:
        while not await is_finished():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(event.wait(), min(interval, left))
            except TimeoutError:
                interval = min(interval * 2, POLL_MAX_S)
        return True
    finally:
        with _lock:
            remaining = [w for w in _waiters.get(key, []) if w[1] is not event]
            if remaining:
                _waiters[key] = remaining
            else:
                _waiters.pop(key, None)
