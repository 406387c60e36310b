"""The Celery app. `celery -A config worker` and `celery -A config beat`."""

from __future__ import annotations

import os

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


@signals.task_prerun.connect
def recycle_database_connections(task: object = None, **kwargs: object) -> None:
    """A worker's database connection is replaced by Django's own rules
    (``CONN_MAX_AGE``, health checks, errors), as before a web request, with
    the health check's query at most once a second (``config.db``).
    Celery's Django fix-up would close it around every task instead (see
    ``CELERY_DB_REUSE_MAX`` in the settings): a new connection per step cost
    more than the step."""
    if getattr(getattr(task, "request", None), "is_eager", False):
        return  # an eager task runs in its caller's connection and transaction
    from config.db import recycle_connections

    recycle_connections()


# The runtime's tick (timers, retries, lost messages, expired leases), run by
# `celery -A config beat` in distributed mode; embedded mode runs it in a thread.
app.conf.beat_schedule = {
    "runtime-tick": {"task": "runtime.tick", "schedule": 1.0, "options": {"expires": 5}},
}
