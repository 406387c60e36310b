"""Other apps' periodic work (approval timers, schedules) runs on the embedded
scheduler thread, at its own interval, and one failing job stops nothing."""

from __future__ import annotations

import threading
import time
from typing import Any

from runtime import embedded


def test_registered_jobs_run_at_their_interval_and_failures_are_contained(
    transactional_db: Any, settings: Any
) -> None:
    settings.BATON_TICK_S = 0.05
    calls: list[float] = []

    def boom() -> None:
        raise RuntimeError("broken job")

    embedded.register_periodic("test counter", lambda: calls.append(time.monotonic()), 0.2)
    embedded.register_periodic("test boom", boom, 0.05)
    embedded._stop.clear()
    thread = threading.Thread(target=embedded._run_scheduler, daemon=True)
    thread.start()
    try:
        time.sleep(1.0)
    finally:
        embedded._stop.set()
        thread.join(5)
        embedded._periodic.pop("test counter", None)
        embedded._periodic.pop("test boom", None)
    assert not thread.is_alive()
    # every 0.2 s, not at every 0.05 s tick (some 20 in the second); the gaps
    # between calls are not checked: a slow tick before the job delays a call
    assert 2 <= len(calls) <= 6
    assert {"approvals tick", "triggers tick"} <= set(embedded._periodic)
