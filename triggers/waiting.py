"""Waiting for a run to finish without holding a thread (sync webhooks).

A waiter is an ``asyncio.Event`` on the caller's loop. The run-event hook
(:func:`triggers.receivers.on_run_events`) calls :func:`notify` after a run's
end commits; in embedded mode that happens in this process, so the waiter
wakes at once. A worker in another process (distributed mode) cannot reach
the event, so the waiter also re-reads the run on a short, growing interval.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

_lock = threading.Lock()
_waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

POLL_START_S = 0.005
POLL_MAX_S = 0.1


def notify(run_ids: Iterable[Any]) -> None:
    """Wake the waiters of these runs (from any thread)."""
    with _lock:
        woken = [w for run_id in run_ids for w in _waiters.pop(str(run_id), [])]
    for loop, event in woken:
        loop.call_soon_threadsafe(event.set)


async def wait_until_finished(
    run_id: Any, is_finished: Callable[[], Awaitable[bool]], timeout_s: float
) -> bool:
    """True once ``is_finished()`` says so, False after ``timeout_s``."""
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
