"""The Celery app. `celery -A config worker` and `celery -A config beat`."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("baton")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The runtime's tick (timers, retries, lost messages, expired leases), run by
# `celery -A config beat` in distributed mode; embedded mode runs it in a thread.
app.conf.beat_schedule = {
    "runtime-tick": {"task": "runtime.tick", "schedule": 1.0, "options": {"expires": 5}},
}
