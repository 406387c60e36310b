"""WebSocket consumers of contract section 5: they authenticate, subscribe and forward.

Routes (``config.routing``):

- ``/ws/runs/{id}/``: the events of one run;
- ``/ws/workflows/{id}/``: the events of all runs of a workflow, editor
  presence (``?editor=1`` marks a socket as "has the editor open") and
  revision notices;
- ``/ws/workspaces/{slug}/``: the run-level events of every run in a
  workspace (the run list).

Authentication: the session cookie (Channels' ``AuthMiddlewareStack``), or an
API token offered as a subprotocol: ``new WebSocket(url, ["baton",
"bearer.<key>"])``; the server then selects ``baton``. A token never goes in
the URL, where access logs would keep it. Origins are checked by
``AllowedHostsOriginValidator`` in ``config.asgi`` (a foreign origin is
refused at the handshake). Close codes: 4401 not signed in (or the session
ended, or the token was revoked), 4404 unknown or not visible (another
workspace's run), 4403 visible but not allowed.

Ordering: every run event carries the run's ``seq``. The socket keeps, per
run, the last ``seq`` it delivered (its cursor). A client that sends
``{"since": n}`` (the run socket) or ``{"since": {"<run id>": n, ...}}`` (the
workflow socket) first gets the events after ``n`` from the database, then
live ones. The socket is subscribed before it reads the database, so nothing
published meanwhile is lost; a live event at or below the cursor is a
duplicate and dropped; one beyond ``cursor + 1`` means some message was lost
or overtaken (Redis pub/sub is at most once; two workers publish
independently), and the missing range is read from the database first. Every
few seconds (``BATON_LIVE_RECHECK_S``, 5 by default) the socket re-checks
that its user may still see the object (roles are re-read) and that the
session or token is still valid, and the run socket reads any events it
missed. The re-check reads the database beside the message loop; its verdict
is a message like the others, and messages are handled one at a time, so
closing, replays and live events never interleave. Signing out closes the
session's sockets at once (``runtime.live.session_ended``).

Batches (an extension of the contract; a socket that does not ask gets one
event per message, as the contract says): a socket opened with ``?batch=1``
gets JSON arrays of events instead, in order, one per published message
(the events of one transaction) or per replayed page. At a thousand events a
second, each message cost the canvas's browser more to receive than the
events cost to show.

Latency (issue 6: p99 event to browser at most 25 ms): a live event costs the
socket no database read and no thread hop (see ``LiveConsumer.dispatch``); a
socket opened with ``?trace=1`` gets each live event's hop times in
``"trace"`` (``bench.live`` reports them).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.middleware import BaseMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from accounts import permissions
from accounts.permissions import Action
from runtime import live

log = logging.getLogger(__name__)

#: the re-check itself failed (the database is unreachable, say)
INTERNAL_ERROR = 1011
NOT_SIGNED_IN = 4401
NOT_ALLOWED = 4403
NOT_VISIBLE = 4404
SUBPROTOCOL = "baton"
BEARER = "bearer."
#: replay at most this many events per database read
REPLAY_BATCH = 1000


def db(function: Any) -> Any:
    """``function`` run on a pool thread. Channels' default runs every sync
    call of the process on one thread (``thread_sensitive``), so a hundred
    sockets replaying at once would queue behind each other, the known
    Channels pitfall under ASGI; these reads need no thread affinity."""
    return database_sync_to_async(function, thread_sensitive=False)


# -- authentication -------------------------------------------------------------


class TokenAuthMiddleware(BaseMiddleware):
    """An API token offered as the subprotocol ``bearer.<key>`` authenticates the socket."""

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        key = next(
            (p[len(BEARER) :] for p in scope.get("subprotocols") or [] if p.startswith(BEARER)),
            None,
        )
        if key is not None:
            user, token = await db(_user_for_token)(key)
            scope = {**scope, "user": user or AnonymousUser(), "token_id": token}
        return await super().__call__(scope, receive, send)


def _user_for_token(key: str) -> tuple[Any, Any]:
    from accounts.authentication import user_for_token

    user, token = user_for_token(key)
    return user, token.pk if token is not None else None


def live_auth(inner: Any) -> Any:
    """Session cookie or bearer subprotocol, then ``inner``."""
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))


@dataclass(frozen=True)
class Caller:
    """Who is on a socket, and through which credential."""

    user: Any
    session_key: str | None
    token_id: Any

    @classmethod
    def of(cls, scope: dict) -> Caller:
        user = scope.get("user") or AnonymousUser()
        token_id = scope.get("token_id")
        session = scope.get("session")
        session_key = None if token_id or session is None else session.session_key
        return cls(user, session_key, token_id)

    def still_signed_in(self) -> bool:
        """The user is active and the session (or token) still exists."""
        from accounts.models import ApiToken, User

        if not User.objects.filter(pk=self.user.pk, is_active=True).exists():
            return False
        if self.token_id is not None:
            return ApiToken.objects.active().filter(pk=self.token_id).exists()
        from importlib import import_module

        store = import_module(settings.SESSION_ENGINE).SessionStore()
        return self.session_key is not None and store.exists(self.session_key)


def access_code(caller: Caller, target: Any) -> int | None:
    """None if the caller may watch ``target``, else the close code (roles re-read)."""
    if target is None:
        return NOT_VISIBLE
    permissions.forget(caller.user)
    try:
        permissions.check(caller.user, Action.VIEW, target)
    except permissions.NotVisible:
        return NOT_VISIBLE
    except permissions.NotAllowed:
        return NOT_ALLOWED
    return None


# -- reads ----------------------------------------------------------------------------


def events_after(run_id: Any, since: int, until: int | None = None) -> list[dict[str, Any]]:
    from runtime.models import RunEvent

    events = RunEvent.objects.filter(run_id=run_id, seq__gt=since)
    if until is not None:
        events = events.filter(seq__lte=until)
    return [event.as_message() for event in events.order_by("seq")[:REPLAY_BATCH]]


def trace_stamps(message: dict[str, Any], received: float) -> dict[str, float | None]:
    """Wall-clock times (seconds) of a live event's hops, for a socket opened
    with ``?trace=1`` (``bench.live`` reads them): queued by the publisher,
    handed to the channel layer, received by this consumer; ``sent`` is added
    when it is written to the socket."""
    return {
        "queued": message.get("queued_at"),
        "published": message.get("published_at"),
        "received": received,
    }


def recheck_interval() -> float:
    return float(getattr(settings, "BATON_LIVE_RECHECK_S", 5.0))


# -- consumers ------------------------------------------------------------------------


class LiveConsumer(AsyncWebsocketConsumer):
    """Authenticate, subscribe, forward; subclasses name the target and groups."""

    target: Any = None
    #: whether live events arrived since the last re-check
    heard = False

    async def connect(self) -> None:
        live.attach(asyncio.get_running_loop())
        self.trace = _query_int(self.scope, "trace") == 1
        self.batch = _query_int(self.scope, "batch") == 1
        #: events sent as one array at the end of the message (``batch``)
        self.outbox: list[dict[str, Any]] = []
        self.caller = Caller.of(self.scope)
        self.cursors: dict[str, int] = {}
        self.subscribed: list[str] = []
        offered = self.scope.get("subprotocols") or []
        subprotocol = SUBPROTOCOL if SUBPROTOCOL in offered else None
        code = NOT_SIGNED_IN
        if self.caller.user.is_authenticated:
            self.target = await db(self.load_target)()
            code = await db(access_code)(self.caller, self.target)
        if code is not None:  # accepted, then closed, so that the client sees the code
            await self.accept(subprotocol)
            await self.close(code)
            return
        # Subscribe before accepting and before reading anything: an event
        # published from here on reaches this socket (or is in the database).
        for group in [*self.groups_of(self.target), live.user_group(self.caller.user.pk)]:
            await self.channel_layer.group_add(group, self.channel_name)
            self.subscribed.append(group)
        await self.accept(subprotocol)
        await self.started()
        self.ticker = asyncio.create_task(self.tick_forever())

    async def dispatch(self, message: dict) -> None:
        """Call the message's handler, without Channels' per-message
        ``close_old_connections``.

        ``AsyncConsumer.dispatch`` first runs ``close_old_connections``
        through ``sync_to_async``, on the one thread that every
        thread-sensitive call of the process shares: a hop per message per
        socket (20 sockets at 100 events/s: 2,000 a second) that live events
        queued behind, hundreds of milliseconds under load. These consumers
        touch the database only through :func:`db`
        (``database_sync_to_async``), which closes stale connections around
        each call on the thread that makes it, so the hop guards nothing here.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def disconnect(self, code: int) -> None:
        ticker = getattr(self, "ticker", None)
        if ticker is not None:
            ticker.cancel()
        await self.stopped()
        for group in getattr(self, "subscribed", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    def load_target(self) -> Any:
        raise NotImplementedError

    def groups_of(self, target: Any) -> list[str]:
        raise NotImplementedError

    async def started(self) -> None:
        """Connected and subscribed."""

    async def stopped(self) -> None:
        """Disconnecting."""

    # -- the periodic re-check: read beside the messages, acted on in line --

    async def tick_forever(self) -> None:
        """Re-check every few seconds. The database read runs here, beside the
        message loop, so live events do not wait for it; only its verdict
        joins the messages, to be acted on in line with them. The first
        re-check comes at a random point of the interval, so that sockets
        opened together (a server restart, a page of them) do not all read
        the database at the same instant ever after."""
        delay = random.uniform(0, recheck_interval())
        while True:
            await asyncio.sleep(delay)
            delay = recheck_interval()
            try:
                code = await db(self.recheck)()
            except Exception:  # fail closed, as the check failing in a handler did
                log.exception("live: re-checking a socket failed")
                code = INTERNAL_ERROR
            await self.channel_layer.send(self.channel_name, {"type": "live.tick", "code": code})

    async def live_tick(self, message: dict) -> None:
        if message.get("code") is not None:
            await self.close(message["code"])
            return
        await self.ticked()

    def recheck(self) -> int | None:
        if not self.caller.still_signed_in():
            return NOT_SIGNED_IN
        return access_code(self.caller, self.load_target())

    async def ticked(self) -> None:
        """After a successful re-check."""

    async def live_session_ended(self, message: dict) -> None:
        if self.caller.session_key and message["session"] == live.session_digest(
            self.caller.session_key
        ):
            await self.close(NOT_SIGNED_IN)

    # -- events --

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            request = json.loads(text_data or "")
        except ValueError:
            return
        if isinstance(request, dict) and "since" in request:
            await self.replay(request["since"])

    async def replay(self, since: Any) -> None:
        raise NotImplementedError

    async def live_events(self, message: dict) -> None:
        self.heard = True
        received = time.time()
        for event in message["events"]:
            if self.trace:
                event = {**event, "trace": trace_stamps(message, received)}
            await self.deliver(event)
        await self.flush()

    async def deliver(self, event: dict[str, Any]) -> None:
        """Send ``event`` unless already sent; fill a gap before it from the database."""
        run_id = event["run_id"]
        cursor = self.cursors.get(run_id)
        if cursor is None:  # the first event of a run this socket was not asked about
            cursor = self.cursors[run_id] = event["seq"] - 1
        if event["seq"] <= cursor:
            return
        if event["seq"] > cursor + 1:
            await self.catch_up(run_id, until=event["seq"] - 1)
        if event["seq"] == self.cursors[run_id] + 1:
            await self.send_event(event)

    async def catch_up(self, run_id: str, until: int | None = None) -> None:
        while True:
            cursor = self.cursors.get(run_id, 0)
            missed = await db(events_after)(run_id, cursor, until)
            for event in missed:
                await self.send_event(event)
            await self.flush()
            if len(missed) < REPLAY_BATCH:
                return

    async def send_event(self, event: dict[str, Any]) -> None:
        self.cursors[event["run_id"]] = event["seq"]
        if "trace" in event:
            event["trace"]["sent"] = time.time()
        if self.batch:
            self.outbox.append(event)
        else:
            await self.send(text_data=json.dumps(event))

    async def flush(self) -> None:
        """Send the events held for one array (``batch``)."""
        if self.outbox:
            events, self.outbox = self.outbox, []
            await self.send(text_data=json.dumps(events))

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content))


def _since(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


class RunConsumer(LiveConsumer):
    """``/ws/runs/{id}/``: one run's events; ``{"since": n}`` replays, then live."""

    def load_target(self) -> Any:
        from runtime.models import Run

        run_id = self.scope["url_route"]["kwargs"]["run_id"]
        return Run.objects.filter(pk=run_id).only("id", "workspace_id", "workflow_id").first()

    def groups_of(self, run: Any) -> list[str]:
        return [live.run_group(run.pk)]

    async def started(self) -> None:
        self.run_id = str(self.target.pk)
        since = _since(_query_int(self.scope, "since"))
        if since is not None:
            await self.replay(since)

    async def replay(self, since: Any) -> None:
        since = _since(since)
        if since is None:
            await self.send_json({"kind": "error", "detail": "since must be a whole number ≥ 0."})
            return
        self.cursors[self.run_id] = max(since, self.cursors.get(self.run_id, since))
        await self.catch_up(self.run_id)

    async def ticked(self) -> None:
        # While live events flow, a gap shows at the next one; only a stream
        # gone quiet may hide a lost last event, so only then read the database.
        quiet, self.heard = not self.heard, False
        if quiet and self.run_id in self.cursors:
            await self.catch_up(self.run_id)


class WorkflowConsumer(LiveConsumer):
    """``/ws/workflows/{id}/``: every run's events, editor presence, revision notices.

    Presence needs no shared store: a socket opened with ``?editor=1``
    announces itself to the workflow's group on connect and on every re-check
    tick, and says goodbye on disconnect; the others answer an announcement
    with their own, and forget an editor not heard from for three ticks (a
    killed server). Each socket is sent ``{"kind": "presence", "editors":
    [{"id", "username"}, ...]}`` (distinct users, the socket's own user
    included) whenever that list changes.
    """

    def load_target(self) -> Any:
        from builder.models import Workflow

        workflow_id = self.scope["url_route"]["kwargs"]["workflow_id"]
        return Workflow.objects.alive().filter(pk=workflow_id).only("id", "workspace_id").first()

    def groups_of(self, workflow: Any) -> list[str]:
        return [live.workflow_group(workflow.pk)]

    async def started(self) -> None:
        self.group = live.workflow_group(self.target.pk)
        self.editing = _query_int(self.scope, "editor") == 1
        self.editors: dict[str, tuple[dict[str, Any], float]] = {}
        self.shown: list[dict[str, Any]] | None = None
        if self.editing:
            await self.announce(ask=True)
        await self.show_presence()

    async def stopped(self) -> None:
        if getattr(self, "editing", False):
            await self.channel_layer.group_send(
                self.group, {"type": "presence.leave", "channel": self.channel_name}
            )

    async def replay(self, since: Any) -> None:
        if not isinstance(since, dict):
            await self.send_json({"kind": "error", "detail": "since must map run ids to seqs."})
            return
        for run_id, seq in since.items():
            seq = _since(seq)
            if seq is None or not await db(self.owns_run)(run_id):
                continue
            self.cursors[str(run_id)] = max(seq, self.cursors.get(str(run_id), seq))
            await self.catch_up(str(run_id))

    def owns_run(self, run_id: Any) -> bool:
        from django.core.exceptions import ValidationError

        from runtime.models import Run

        try:
            return Run.objects.filter(pk=run_id, workflow_id=self.target.pk).exists()
        except (ValidationError, ValueError):
            return False

    async def ticked(self) -> None:
        if self.editing:
            await self.announce(ask=False)
        await self.show_presence()

    # -- presence --

    def me(self) -> dict[str, Any]:
        user = self.caller.user
        return {"id": user.pk, "username": user.get_username()}

    async def announce(self, ask: bool, reply_to: str | None = None) -> None:
        """To the group (``ask``: everyone editing answers), or to one newcomer."""
        message = {"type": "presence.here", "channel": self.channel_name, "user": self.me()}
        if reply_to is None:
            await self.channel_layer.group_send(self.group, {**message, "ask": ask})
        else:
            await self.channel_layer.send(reply_to, message)

    async def presence_here(self, message: dict) -> None:
        self.editors[message["channel"]] = (message["user"], time.monotonic())
        if message.get("ask") and self.editing and message["channel"] != self.channel_name:
            await self.announce(ask=False, reply_to=message["channel"])
        await self.show_presence()

    async def presence_leave(self, message: dict) -> None:
        self.editors.pop(message["channel"], None)
        await self.show_presence()

    async def show_presence(self) -> None:
        if self.editing:  # never stale to itself, however late its own heartbeat is
            self.editors[self.channel_name] = (self.me(), time.monotonic())
        stale = time.monotonic() - 3 * recheck_interval()
        self.editors = {ch: seen for ch, seen in self.editors.items() if seen[1] >= stale}
        users = {user["id"]: user for user, _ in self.editors.values()}
        editors = sorted(users.values(), key=lambda user: user["username"])
        if editors != self.shown:
            self.shown = editors
            await self.send_json(
                {"kind": "presence", "workflow_id": str(self.target.pk), "editors": editors}
            )

    async def live_revision(self, message: dict) -> None:
        await self.send_json(
            {
                "kind": "revision",
                "workflow_id": message["workflow_id"],
                "revision": message["revision"],
                "by": message["by"],
            }
        )


class WorkspaceConsumer(LiveConsumer):
    """``/ws/workspaces/{slug}/``: run-level events of every run of the workspace."""

    def load_target(self) -> Any:
        from accounts.models import Workspace

        return Workspace.objects.filter(slug=self.scope["url_route"]["kwargs"]["slug"]).first()

    def groups_of(self, workspace: Any) -> list[str]:
        return [live.workspace_group(workspace.pk)]

    async def deliver(self, event: dict[str, Any]) -> None:
        # Only run-level events travel here, so seqs have gaps by design: forward in order.
        if event["seq"] > self.cursors.get(event["run_id"], 0):
            await self.send_event(event)

    async def replay(self, since: Any) -> None:
        """Nothing to replay: the run list re-reads its page when it reconnects."""


def _query_int(scope: dict, name: str) -> int | None:
    values = parse_qs((scope.get("query_string") or b"").decode("latin-1")).get(name)
    try:
        return int(values[0]) if values else None
    except ValueError:
        return None
