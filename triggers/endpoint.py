"""The webhook endpoint without its transport: from a call to an answer.

Both transports use it: the Django view (:mod:`triggers.views`) and the
ASGI fast path (:mod:`triggers.asgi`). Database work runs in the thread
pool; a ``sync`` hook waits for its run on the event loop (see
:mod:`triggers.waiting`), so a waiting call holds no thread.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from config.db import recycle_connections
from runtime import selectors
from runtime import services as runtime_services
from runtime.exceptions import RuntimeServiceError
from triggers import services, waiting
from triggers.exceptions import HookError, RateLimited

METHODS = frozenset({"POST", "PUT", "PATCH", "GET", "DELETE"})


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def error(http_status: int, detail: str, **extra: Any) -> Answer:
    return Answer(http_status, {"detail": detail, "errors": [], **extra})


def _in_thread(function: Any, *args: Any) -> Any:
    """Run ``function`` as Django runs a request: fresh or healthy connections
    (the health check's query at most once a second: ``config.db``), kept
    per pool thread for ``CONN_MAX_AGE``."""
    recycle_connections()
    try:
        return function(*args)
    finally:
        recycle_connections()


#: SQLite lets one writer in at a time and makes the others sleep and retry;
#: queueing this process's webhook starts on a lock wakes each at once instead.
_sqlite_writer = threading.Lock()


def _receive(
    hook_id: str, call: services.WebhookCall
) -> tuple[services.Hook, Any, dict[str, Any] | None] | Answer:
    """Start the run; for a ``sync`` hook, run its first steps here when they
    are pure (see :func:`runtime.services.steps_held`) and say how the run
    ended, if it did. Every other step goes to the workers."""
    guard = _sqlite_writer if connection.vendor == "sqlite" else contextlib.nullcontext()
    with runtime_services.steps_held() as held:
        try:
            with guard:
                hook, run = services.receive(hook_id, call)
        except HookError as exc:
            headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else {}
            return Answer(exc.status, {"detail": exc.detail, "errors": []}, headers)
        except RuntimeServiceError as exc:
            return Answer(exc.status, {"detail": exc.detail, "errors": exc.errors})
    if hook.mode != "sync":
        held.send()
        return hook, run, None
    with guard, waiting.answered_here() as ended:
        ran_here = held.run_here()
    facts = ended.get(str(run.pk))
    if facts is not None and facts.status == "succeeded":
        return hook, run, {"status": facts.status, "output": facts.output, "error": None}
    return hook, run, selectors.finished_run(run.pk) if ran_here else None


def _sync_answer(run_id: Any, state: dict[str, Any]) -> Answer:
    if state["status"] == "succeeded":
        return Answer(200, state["output"] or {})
    return error(
        500,
        f"The run {state['status']}.",
        run_id=str(run_id),
        status=state["status"],
        error=state["error"],
    )


async def handle(hook_id: str, call: services.WebhookCall) -> Answer:
    if call.method not in METHODS:
        return error(405, "Method not allowed.")
    received = await sync_to_async(_in_thread, thread_sensitive=False)(_receive, hook_id, call)
    if isinstance(received, Answer):
        return received
    hook, run, ended = received
    accepted = Answer(202, {"run_id": str(run.pk)})
    if hook.mode != "sync":
        return accepted
    if ended is not None:
        return _sync_answer(run.pk, ended)
    found: dict[str, Any] = {}

    async def finished() -> bool:
        state = await sync_to_async(_in_thread, thread_sensitive=False)(
            selectors.finished_run, run.pk
        )
        found.update(state or {})
        return state is not None

    if await waiting.wait_until_finished(run.pk, finished, settings.WEBHOOK_SYNC_TIMEOUT_S):
        return _sync_answer(run.pk, found)
    return accepted
