"""Running a node with a deadline while keeping its lease alive.

Python cannot kill a thread, so a node with ``timeout_s`` (or with side
effects, which may block on the network) runs in a daemon thread while the
worker's own thread waits for it, renewing the lease every third of its
length. At the deadline the step fails with a retryable ``Timeout`` and the
thread is abandoned: its late result is never written. If the lease cannot be
renewed (the sweeper gave the step to someone else, the run was cancelled),
the worker gives up the result the same way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class StepTimeout(Exception):
    pass


class LeaseLost(Exception):
    pass


def call(
    function: Callable[[], Any],
    *,
    timeout_s: float | None,
    lease_s: float,
    renew: Callable[[], bool],
) -> Any:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = function()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="baton-step", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s if timeout_s else None
    every = max(lease_s / 3, 0.05)
    while True:
        remaining = deadline - time.monotonic() if deadline is not None else every
        thread.join(max(min(every, remaining), 0))
        if not thread.is_alive():
            break
        if deadline is not None and time.monotonic() >= deadline:
            raise StepTimeout
        if not renew():
            raise LeaseLost
    if "error" in box:
        raise box["error"]
    return box.get("value")
