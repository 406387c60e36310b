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
call, 2.6 to 4.9 ms). Callers append to a queue under a lock and wake one
:class:`Publisher` per process. With Redis, a daemon thread drains the queue
as soon as it wakes (there is no flush interval to wait for), coalesces what
piled up meanwhile into one group message per group (a burst of a run's
events costs one Redis PUBLISH per group, never one per event or per socket)
and writes the batch to Redis in one round trip over a connection of its own
(:class:`RedisGroupSender`). Only in a burst (the previous send less than
6 ms ago: a chain of steps) does it first wait 4 ms, so one batch carries
several commits. Messages carry lists of events in ``seq`` order,
and two wall-clock stamps, ``queued_at`` and ``published_at``, that a socket
opened with ``?trace=1`` passes on (``bench.live`` times each hop).

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
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import redis
from channels_redis.utils import _consistent_hash, decode_hosts
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from runtime.events import facts_of

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
    """One per process: (group, message) pairs queued by any thread, sent in
    order by one drainer.

    With Redis (distributed mode) the drainer is a daemon thread that sleeps
    on a condition and writes each batch to Redis in one round trip
    (:class:`RedisGroupSender`). With the in-process layer (embedded mode) it
    is a task on the ASGI server's loop, where the consumers' queues live.
    """

    def __init__(self) -> None:
        #: the ASGI server's loop (in-process channel layer only)
        self._server_loop: asyncio.AbstractEventLoop | None = None
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._start_lock = threading.Lock()
        self._pending: list[tuple[str, dict[str, Any]]] = []
        #: distributed mode: set once the drainer thread runs
        self._sender: RedisGroupSender | None = None
        #: embedded mode: whether a drain is scheduled, and on which loop
        self._draining = False
        self._drain_loop: asyncio.AbstractEventLoop | None = None
        self._idle = threading.Event()
        self._idle.set()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._server_loop = loop

    def send(self, items: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Queue (group, message) pairs; returns at once."""
        self._forget_parent()
        if self._redis() is not None:
            with self._lock:
                self._pending.extend(items)
                self._idle.clear()
                self._wake.notify()
            return
        loop = self._running_server_loop()
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
        self._forget_parent()
        return self._redis() is not None or self._running_server_loop() is not None

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far was handed to the channel layer."""
        return self._idle.wait(timeout)

    def _forget_parent(self) -> None:
        if self._pid != os.getpid():  # forked (a prefork pool child): start afresh
            self._reset()
            self._server_loop = None

    def _redis(self) -> RedisGroupSender | None:
        """The Redis sender, its thread started on first use; None with the in-process layer."""
        from channels.layers import InMemoryChannelLayer, get_channel_layer

        if self._sender is None:
            layer = get_channel_layer()
            if isinstance(layer, InMemoryChannelLayer):
                return None
            with self._start_lock:
                if self._sender is None:
                    sender = RedisGroupSender.for_layer(layer)
                    threading.Thread(
                        target=self._send_forever,
                        args=(sender,),
                        name="baton-live-publisher",
                        daemon=True,
                    ).start()
                    self._sender = sender
        return self._sender

    #: a send this soon after the previous one is part of a burst (a chain
    #: of steps committing every 2 ms or so) ...
    BURST_WINDOW_S = 0.006
    #: ... and waits this long first, so that one batch carries several
    #: commits: the thread's cost per step falls, the latency grows by at
    #: most this (an event stream at 100 per second never waits)
    LINGER_S = 0.004

    def _send_forever(self, sender: RedisGroupSender) -> None:
        """The drainer thread: take everything queued, send it, sleep until more."""
        last_sent = 0.0
        while True:
            with self._lock:
                while not self._pending:
                    self._idle.set()
                    self._wake.wait()
            if time.monotonic() - last_sent < self.BURST_WINDOW_S:
                time.sleep(self.LINGER_S)
            with self._lock:
                batch, self._pending = self._pending, []
            try:
                sender.send(coalesce(batch))
            except Exception:  # the database has the events; sockets catch up from it
                log.warning("live: publishing %d messages failed", len(batch), exc_info=True)
            last_sent = time.monotonic()

    def _running_server_loop(self) -> asyncio.AbstractEventLoop | None:
        loop = self._server_loop
        return loop if loop is not None and loop.is_running() else None

    async def _drain(self) -> None:
        """Embedded mode: hand the queue to the in-process layer, on the server's loop."""
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
                message["published_at"] = time.time()
                try:
                    await layer.group_send(group, message)
                except Exception:  # the database has the events; sockets catch up from it
                    log.warning("live: publishing to %s failed", group, exc_info=True)


class RedisGroupSender:
    """Sends group messages as ``channels_redis``' ``RedisPubSubChannelLayer``
    does (``PUBLISH <prefix>__group__<group>``, the layer's serializer, the
    same shard per group), so the ASGI servers' layer receives them
    unchanged; but synchronously, from the publisher's thread, each shard's
    part of a batch in one write.

    In a worker that thread shares the GIL with the engine. An ``await
    group_send`` on an event loop costs about 100 µs of CPU per message; this
    costs about 22 (a batch of two, run and workflow groups), which keeps the
    whole of publishing, thread included, within 10% of a step.
    """

    #: seconds before a Redis that does not answer counts as down (the batch is dropped)
    TIMEOUT_S = 5.0

    def __init__(self, serialize: Any, prefix: str, pools: list[redis.ConnectionPool]) -> None:
        self._serialize = serialize
        self._prefix = prefix
        self._pools = pools
        #: one connection per shard, opened by the publisher's thread on first use
        self._connections: dict[int, redis.Connection] = {}

    @classmethod
    def for_layer(cls, layer: Any) -> RedisGroupSender:
        from channels.layers import DEFAULT_CHANNEL_LAYER
        from channels_redis.pubsub import RedisPubSubChannelLayer

        if not isinstance(layer, RedisPubSubChannelLayer):
            raise ImproperlyConfigured(
                "Live events need channels_redis.pubsub.RedisPubSubChannelLayer "
                f"or the in-process layer, not {type(layer).__name__}."
            )
        config = settings.CHANNEL_LAYERS[DEFAULT_CHANNEL_LAYER].get("CONFIG", {})
        pools = [cls._pool(host) for host in decode_hosts(config.get("hosts"))]
        return cls(layer.serialize, config.get("prefix", "asgi"), pools)

    @classmethod
    def _pool(cls, host: dict[str, Any]) -> redis.ConnectionPool:
        """``channels_redis.utils.create_pool``, synchronous."""
        options = {"socket_timeout": cls.TIMEOUT_S, "socket_connect_timeout": cls.TIMEOUT_S}
        host = {**options, **host}
        if "master_name" in host:
            raise ImproperlyConfigured("Live events do not support Redis Sentinel hosts.")
        if "address" in host:
            return redis.ConnectionPool.from_url(host.pop("address"), **host)
        return redis.ConnectionPool(**host)

    def send(self, messages: Sequence[tuple[str, dict[str, Any]]]) -> None:
        by_shard: dict[int, list[tuple[str, str, bytes]]] = {}
        published_at = time.time()
        for group, message in messages:
            message["published_at"] = published_at
            channel = f"{self._prefix}__group__{group}"
            shard = _consistent_hash(channel, len(self._pools))
            by_shard.setdefault(shard, []).append(("PUBLISH", channel, self._serialize(message)))
        for shard, commands in by_shard.items():
            try:
                if shard not in self._connections:
                    self._connections[shard] = self._pools[shard].get_connection()
                self._write(self._connections[shard], commands)
            except redis.RedisError:  # the database has the events; sockets catch up from it
                log.warning("live: publishing to Redis shard %d failed", shard, exc_info=True)

    @staticmethod
    def _write(connection: redis.Connection, commands: list[tuple[str, str, bytes]]) -> None:
        for attempt in (1, 2):
            try:
                connection.send_packed_command(connection.pack_commands(commands))
                for _ in commands:
                    connection.read_response()
                return
            except redis.ConnectionError:
                # An idle connection the server or a proxy closed: once more on
                # a new one. A message sent twice is a duplicate the sockets drop.
                connection.disconnect()
                if attempt == 2:
                    raise
            except BaseException:
                connection.disconnect()  # never leave unread replies behind
                raise


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
            merged[group] = {**message, "events": list(message["events"])}
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


def events_message(events: list[dict[str, Any]], queued_at: float) -> dict[str, Any]:
    """A group message of events; ``queued_at`` and ``published_at`` (set as
    it goes to the channel layer) time the publisher's hops (``?trace=1``)."""
    return {"type": EVENTS, "events": events, "queued_at": queued_at}


def publish_events(events: Sequence[RunEvent]) -> None:
    """The ``runtime.events`` hook: queue committed events for their groups."""
    if not publisher.listening():
        return
    by_run: dict[Any, list[dict[str, Any]]] = {}
    homes: dict[Any, tuple[Any, Any]] = {}
    for event in events:
        by_run.setdefault(event.run_id, []).append(plain(event.as_message()))
        facts = facts_of(event)  # what the transition knew of the run, when it says
        if facts is not None:
            homes[event.run_id] = (facts.workflow_id, facts.workspace_id)
    items: list[tuple[str, dict[str, Any]]] = []
    queued_at = time.time()
    for run_id, messages in by_run.items():
        workflow_id, workspace_id = homes.get(run_id) or run_home(run_id)
        items.append((run_group(run_id), events_message(messages, queued_at)))
        if workflow_id is not None:
            items.append((workflow_group(workflow_id), events_message(messages, queued_at)))
        run_level = [m for m in messages if m["kind"] == "run"]
        if run_level and workspace_id is not None:
            items.append((workspace_group(workspace_id), events_message(run_level, queued_at)))
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
