"""Database connections kept between units of work (worker tasks, webhook
calls), checked as Django checks them before a web request, but cheaper."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

#: How often a kept connection is checked with a query before a unit of
#: work. Django's health check runs before every request; before every task
#: or webhook call it was one more round trip each, about a sixth of a
#: one-step run's time in the worker.
HEALTH_CHECK_EVERY_S = 1.0
_checked: dict[int, float] = {}  # id of the connection (one per thread) -> when


def recycle_connections() -> None:
    """``django.db.close_old_connections()`` (replace connections that are
    too old, or broken after an error), with the health check's query at
    most once a second per connection while no error occurred. A connection
    the server ended since its last check fails the first statement; the
    error marks it, and the next unit of work checks and replaces it (or
    :func:`once_more_on_a_new_connection` at once)."""
    from django.db import connections

    now = time.monotonic()
    for conn in connections.all(initialized_only=True):
        errors = conn.errors_occurred
        conn.close_if_unusable_or_obsolete()
        if conn.connection is None or errors:
            _checked[id(conn)] = now  # checked just now, or connects afresh
        elif now - _checked.get(id(conn), -HEALTH_CHECK_EVERY_S) < HEALTH_CHECK_EVERY_S:
            conn.health_check_done = True  # checked less than a second ago
        else:
            _checked[id(conn)] = now  # Django checks before the next statement


def once_more_on_a_new_connection(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)``; if it fails because the server ended the
    connection (a restart, an idle timeout, after the last check), once
    more on a new connection. For work that is safe to run twice (a step
    task: a second claim of the same step does nothing)."""
    from django.db import InterfaceError, OperationalError, connection

    try:
        return function(*args)
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block or (connection.connection and connection.is_usable()):
            raise
        connection.close()
        return function(*args)
