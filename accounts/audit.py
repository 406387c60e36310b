"""The tamper-evident audit log: ``record`` appends, ``verify`` checks the chains.

Every write path calls ``record(actor, workspace, action, obj=..., summary=...)``
inside its own transaction, so an event exists exactly when its change does.
Each workspace has its own hash chain; an event's hash covers the previous
event's hash and the canonical JSON of its own fields, so editing, deleting or
reordering a row breaks the chain at that row, which ``verify`` (and
``python manage.py verify_audit``) reports.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import AuditEvent, Workspace

GENESIS = "0" * 64
GLOBAL_CHAIN = "global"
_MAX_ATTEMPTS = 20

# The request being served, set by accounts.middleware.AuditRequestMiddleware,
# so that services (which never see the request) still record the caller's IP.
current_request: contextvars.ContextVar[Any] = contextvars.ContextVar("audit_request", default=None)

HASHED_FIELDS = (
    "chain",
    "seq",
    "workspace_id",
    "actor_id",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "summary",
    "ip_address",
    "created_at",
    "prev_hash",
)


def canonical(event: AuditEvent) -> str:
    """The canonical JSON of an event's hashed fields (sorted keys, no spaces)."""
    values = {name: getattr(event, name) for name in HASHED_FIELDS}
    values["created_at"] = event.created_at.astimezone(UTC).isoformat(timespec="microseconds")
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256((event.prev_hash + canonical(event)).encode()).hexdigest()


def chain_for(workspace_id: int | None) -> str:
    return f"ws:{workspace_id}" if workspace_id else GLOBAL_CHAIN


def client_ip(request: Any) -> str | None:
    request = request if request is not None else current_request.get()
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def _workspace_id(workspace: Workspace | int | None, obj: Any) -> int | None:
    if isinstance(workspace, Workspace):
        return workspace.pk
    if workspace is not None:
        return int(workspace)
    if obj is None:
        return None
    from accounts.permissions import workspace_of

    try:
        found = workspace_of(obj)
    except TypeError:
        return None
    return found.pk if isinstance(found, Workspace) else found


def _actor(actor: Any) -> tuple[int | None, str]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, ""
    return actor.pk, actor.get_username()


def _plain(summary: dict[str, Any] | None) -> dict[str, Any]:
    """JSON-safe copy, so the stored value and the hashed value are the same."""
    return json.loads(json.dumps(summary or {}, cls=DjangoJSONEncoder))


def record(
    actor: Any,
    workspace: Workspace | int | None,
    action: str,
    obj: Any = None,
    summary: dict[str, Any] | None = None,
    request: Any = None,
) -> AuditEvent:
    """Append one event to the workspace's chain (the global chain without one).

    ``action`` is a dotted name such as ``workflow.published``; ``obj`` is the
    model instance the action touched; ``summary`` a small JSON-able dict
    describing the change (never secrets). The IP address comes from
    ``request`` or, if omitted, from the request being served.
    """
    actor_id, actor_name = _actor(actor)
    workspace_id = _workspace_id(workspace, obj)
    event = AuditEvent(
        chain=chain_for(workspace_id),
        workspace_id=workspace_id,
        actor_id=actor_id,
        actor_name=actor_name,
        action=action[:64],
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        summary=_plain(summary),
        ip_address=client_ip(request),
    )
    return _append(event)


def _append(event: AuditEvent) -> AuditEvent:
    """Insert at the chain's head; a concurrent writer makes (chain, seq) collide, so retry."""
    for _attempt in range(_MAX_ATTEMPTS):
        head = (
            AuditEvent.objects.filter(chain=event.chain)
            .order_by("-seq")
            .values("seq", "hash")
            .first()
        )
        event.seq = head["seq"] + 1 if head else 1
        event.prev_hash = head["hash"] if head else GENESIS
        event.created_at = timezone.now()
        event.hash = compute_hash(event)
        try:
            with transaction.atomic():
                event.save(force_insert=True)
        except IntegrityError:
            event.pk = None
            event._state.adding = True
            continue
        return event
    raise IntegrityError(f"Could not append to audit chain {event.chain}.")


def record_for_user(
    actor: Any,
    subject: Any,
    action: str,
    summary: dict[str, Any] | None = None,
    request: Any = None,
    obj: Any = None,
) -> list[AuditEvent]:
    """Record an event about a person (sign-in, token) in each of their workspaces,
    so that every admin responsible for them sees it; the global chain if none."""
    from accounts.models import Membership

    workspace_ids = (
        list(Membership.objects.filter(user_id=subject.pk).values_list("workspace_id", flat=True))
        if subject is not None and subject.pk
        else []
    )
    targets: list[int | None] = workspace_ids or [None]
    return [record(actor, ws, action, obj=obj, summary=summary, request=request) for ws in targets]


@dataclass(frozen=True)
class Break:
    chain: str
    event_id: int
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"chain {self.chain}: event #{self.event_id} (seq {self.seq}): {self.reason}"


def _check_chain(chain: str) -> Break | None:
    expected_seq, prev_hash = 1, GENESIS
    for event in AuditEvent.objects.filter(chain=chain).order_by("seq").iterator():
        if event.seq != expected_seq:
            return Break(
                chain, event.pk, event.seq, f"seq {expected_seq} is missing (deleted event)"
            )
        if event.prev_hash != prev_hash:
            return Break(chain, event.pk, event.seq, "previous-hash link does not match")
        if compute_hash(event) != event.hash:
            return Break(
                chain, event.pk, event.seq, "content does not match its hash (altered event)"
            )
        expected_seq, prev_hash = expected_seq + 1, event.hash
    return None


def chains() -> Iterator[str]:
    yield from AuditEvent.objects.order_by("chain").values_list("chain", flat=True).distinct()


def verify() -> tuple[int, Break | None]:
    """(number of events checked, first broken link or None)."""
    for chain in chains():
        broken = _check_chain(chain)
        if broken is not None:
            return AuditEvent.objects.count(), broken
    return AuditEvent.objects.count(), None
