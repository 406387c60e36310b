"""The triggers' tick in embedded mode (``manage.py serve`` without Redis).

There is no Celery beat there, and the runtime's embedded scheduler thread
runs only the engine's sweeper. So when the embedded runtime runs in this
process, a daemon thread of ours runs :func:`triggers.services.tick` every
``TRIGGERS_TICK_S`` seconds (5 by default): it starts with the first request
(``request_started``, or the first webhook call), once per process, and
never in distributed mode, where beat runs the same tick.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger(__name__)

_started = threading.Event()


def runtime_is_embedded_here() -> bool:
    from runtime import embedded

    started = getattr(embedded, "_started", None)
    return not settings.DISTRIBUTED and started is not None and started.is_set()


def start_if_embedded(**_signal: Any) -> None:
    if _started.is_set() or not runtime_is_embedded_here():
        return
    _started.set()
    threading.Thread(target=_loop, name="baton-triggers-tick", daemon=True).start()


def _loop() -> None:
    from triggers import services

    interval = float(getattr(settings, "TRIGGERS_TICK_S", 5))
    pause = threading.Event()
    while True:
        close_old_connections()
        try:
            services.tick()
        except Exception:
            log.exception("the triggers tick failed")
        pause.wait(interval)
