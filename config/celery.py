"""The Celery app. `celery -A config worker` and `celery -A config beat`."""

from __future__ import annotations

import os
import time

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("baton")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_process_init.connect
@signals.worker_init.connect
def freeze_startup_objects(**kwargs: object) -> None:
    """Move what start-up allocated (Django, the app registry, node types) out
    of the garbage collector's reach: a full collection walking it stalls
    whatever step is running (as in ``config.asgi``)."""
    import gc

    gc.freeze()


#: How often a worker's database connection is checked with a query before a
#: task (Django's health check runs before every web request; per task it was
#: one more round trip per step, about a sixth of a one-step run's time).
HEALTH_CHECK_EVERY_S = 1.0
_health_checked: dict[int, float] = {}  # id of the connection (one per thread) -> when


@signals.task_prerun.connect
def recycle_database_connections(task: object = None, **kwargs: object) -> None:
    """A worker's database connection is replaced by Django's own rules
    (``CONN_MAX_AGE``, health checks, errors), as before a web request, with
    the health check's query at most once a second while no error occurred.
    Celery's Django fix-up would close it around every task instead (see
    ``CELERY_DB_REUSE_MAX`` in the settings): a new connection per step cost
    more than the step. A connection that broke since its last check fails
    the step's first statement; the error marks it, the next task checks and
    replaces it, and the sweeper sends the step again."""
    if getattr(getattr(task, "request", None), "is_eager", False):
        return  # an eager task runs in its caller's connection and transaction
    from django.db import connections

    now = time.monotonic()
    for conn in connections.all(initialized_only=True):
        errors = conn.errors_occurred
        conn.close_if_unusable_or_obsolete()
        if conn.connection is None or errors:
            _health_checked[id(conn)] = now  # checked just now, or connects afresh
        elif now - _health_checked.get(id(conn), -HEALTH_CHECK_EVERY_S) < HEALTH_CHECK_EVERY_S:
            conn.health_check_done = True  # checked less than a second ago
        else:
            _health_checked[id(conn)] = now  # Django checks before the next statement


# The runtime's tick (timers, retries, lost messages, expired leases), run by
# `celery -A config beat` in distributed mode; embedded mode runs it in a thread.
app.conf.beat_schedule = {
    "runtime-tick": {"task": "runtime.tick", "schedule": 1.0, "options": {"expires": 5}},
}
