"""Live events: committed run events, presence and notices pushed through the
channel layer (contract section 5).

Groups (channel-layer names):

- ``run.<run id>``: the events of one run (``/ws/runs/{id}/``);
- ``workflow.<workflow id>``: the events of all its runs, editor presence and
  revision notices (``/ws/workflows/{id}/``);
- ``workspace.<workspace id>``: the run-level events (``kind == "run"``) of
  every run of the workspace, for the run list (``/ws/workspaces/{slug}/``);
- ``user.<user id>``: "this session ended" (sign-out), so that the user's
  sockets of that session close at once.

Publishing happens in whatever thread commits (a Celery worker, a web view):
:func:`publish_events` is registered as a ``runtime.events`` after-commit
hook. It must cost the worker next to nothing, so it never calls
``async_to_sync(group_send)`` (a fresh event loop and Redis connection per
call, 2.6 to 4.9 ms). Instead one :class:`Publisher` per process owns a
long-lived event loop in a daemon thread with a persistent channel-layer
connection; callers append to a queue under a lock and wake the loop only when
the queue was empty. The loop drains the queue and coalesces what piled up
into one group message per group (a burst of a run's events costs one Redis
PUBLISH per group, not one per event). Messages carry lists of events in
``seq`` order.

With the in-process channel layer (embedded mode) the loop to send on is the
ASGI server's, where the consumers wait: ``asyncio`` queues belong to one
loop. Consumers :func:`attach` that loop when they connect; before any
consumer connected there is nobody to tell and the events are dropped (they
are in the database; sockets replay from there).

Delivery is at most once (Redis pub/sub); the consumers make it exactly once
towards the browser by ``seq``: duplicates are dropped and a gap is filled
from the database (see ``runtime.consumers``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.models import RunEvent

log = logging.getLogger(__name__)

#: a group message holding a list of run events, in seq order
EVENTS = "live.events"
#: a group message telling a user's sockets of one session to close
SESSION_ENDED = "live.session_ended"
#: a group message saying the draft of a workflow has a new revision
REVISION = "live.revision"


def run_group(run_id: Any) -> str:
    return f"run.{run_id}"


def workflow_group(workflow_id: Any) -> str:
    return f"workflow.{workflow_id}"


def workspace_group(workspace_id: Any) -> str:
    return f"workspace.{workspace_id}"


def user_group(user_id: Any) -> str:
    return f"user.{user_id}"


def session_digest(session_key: str | None) -> str:
    """Sessions are named by a digest on the wire, never by their key."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:32]


class Publisher:
    """One per process: a queue drained by a long-lived event loop."""

    def __init__(self) -> None:
        self._reset()
        #: the ASGI server's loop (in-process channel layer only)
        self._server_loop: asyncio.AbstractEventLoop | None = None

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self._draining = False
        #: the loop the current drain was scheduled on
        self._drain_loop: asyncio.AbstractEventLoop | None = None
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._idle = threading.Event()
        self._idle.set()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._server_loop = loop

    def send(self, items: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Queue (group, message) pairs; returns at once."""
        if self._pid != os.getpid():  # forked (a prefork pool child): start afresh
            self._reset()
            self._server_loop = None
        loop = self._loop()
        with self._lock:
            if loop is None:  # nobody in this process could be listening
                self._pending.clear()
                return
            self._pending.extend(items)
            if self._draining and self._drain_loop is loop and not loop.is_closed():
                return
            self._draining, self._drain_loop = True, loop
            self._idle.clear()
        loop.call_soon_threadsafe(lambda: loop.create_task(self._drain()))

    def listening(self) -> bool:
        """Whether anything could receive what this process publishes."""
        return self._loop() is not None

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far was handed to the channel layer."""
        return self._idle.wait(timeout)

    def _loop(self) -> asyncio.AbstractEventLoop | None:
        from channels.layers import InMemoryChannelLayer, get_channel_layer

        if isinstance(get_channel_layer(), InMemoryChannelLayer):
            loop = self._server_loop
            return loop if loop is not None and loop.is_running() else None
        with self._start_lock:
            if self._own_loop is None:
                self._own_loop = asyncio.new_event_loop()
                threading.Thread(
                    target=self._own_loop.run_forever, name="baton-live-publisher", daemon=True
                ).start()
        return self._own_loop

    async def _drain(self) -> None:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        while True:
            with self._lock:
                batch, self._pending = self._pending, []
                if not batch:
                    self._draining = False
                    self._idle.set()
                    return
            for group, message in coalesce(batch):
                try:
                    await layer.group_send(group, message)
                except Exception:  # the database has the events; sockets catch up from it
                    log.warning("live: publishing to %s failed", group, exc_info=True)


def coalesce(batch: Sequence[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """Merge the event messages of each group into one, keeping order within a group."""
    merged: dict[str, dict[str, Any]] = {}
    out: list[tuple[str, dict[str, Any]]] = []
    for group, message in batch:
        if message["type"] != EVENTS:
            out.append((group, message))
            continue
        if group in merged:
            merged[group]["events"].extend(message["events"])
        else:
            merged[group] = {"type": EVENTS, "events": list(message["events"])}
            out.append((group, merged[group]))
    return out


publisher = Publisher()


def attach(loop: asyncio.AbstractEventLoop) -> None:
    publisher.attach(loop)


# -- what gets published ------------------------------------------------------------

_RUN_HOMES_SIZE = 10_000
_run_homes: OrderedDict[Any, tuple[Any, Any]] = OrderedDict()
_run_homes_lock = threading.Lock()


def run_home(run_id: Any) -> tuple[Any, Any]:
    """(workflow id, workspace id) of a run; cached, one query per run and process."""
    with _run_homes_lock:
        home = _run_homes.get(run_id)
    if home is not None:
        return home
    from runtime.models import Run

    home = Run.objects.filter(pk=run_id).values_list("workflow_id", "workspace_id").first()
    if home is None:
        return None, None
    with _run_homes_lock:
        _run_homes[run_id] = home
        while len(_run_homes) > _RUN_HOMES_SIZE:
            _run_homes.popitem(last=False)
    return home


def plain(message: dict[str, Any]) -> dict[str, Any]:
    """Statuses as plain strings (the engine may hand over ``TextChoices`` members)."""
    message["status"] = str(message["status"])
    message["kind"] = str(message["kind"])
    return message


def publish_events(events: Sequence[RunEvent]) -> None:
    """The ``runtime.events`` hook: queue committed events for their groups."""
    if not publisher.listening():
        return
    by_run: dict[Any, list[dict[str, Any]]] = {}
    for event in events:
        by_run.setdefault(event.run_id, []).append(plain(event.as_message()))
    items: list[tuple[str, dict[str, Any]]] = []
    for run_id, messages in by_run.items():
        workflow_id, workspace_id = run_home(run_id)
        items.append((run_group(run_id), {"type": EVENTS, "events": messages}))
        if workflow_id is not None:
            items.append((workflow_group(workflow_id), {"type": EVENTS, "events": messages}))
        run_level = [m for m in messages if m["kind"] == "run"]
        if run_level and workspace_id is not None:
            items.append((workspace_group(workspace_id), {"type": EVENTS, "events": run_level}))
    publisher.send(items)


def session_ended(user_id: Any, session_key: str | None) -> None:
    """Close the sockets a user opened with this session (sign-out)."""
    message = {"type": SESSION_ENDED, "session": session_digest(session_key)}
    publisher.send([(user_group(user_id), message)])


def revision_saved(workflow: Any, user: Any) -> None:
    """Tell the workflow's sockets that its draft has a new revision."""
    message = {
        "type": REVISION,
        "workflow_id": str(workflow.pk),
        "revision": workflow.revision,
        "by": {"id": user.pk, "username": user.get_username()} if user is not None else None,
    }
    publisher.send([(workflow_group(workflow.pk), message)])


def _on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None and request is not None:
        session_ended(user.pk, request.session.session_key)


def install() -> None:
    """Register the publisher hooks (called once from the runtime app's ready())."""
    from django.contrib.auth.signals import user_logged_out

    from builder import hooks as builder_hooks
    from runtime import events

    events.register(publish_events)
    user_logged_out.connect(_on_logout, dispatch_uid="baton-live-logout")
    builder_hooks.on_draft_saved(revision_saved)
