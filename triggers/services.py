"""Write paths of the triggers: keep trigger rows in step with the published
version, receive webhook calls, fire due schedules, react to finished runs."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction
from django.utils import timezone

from builder.models import Workflow, WorkflowVersion
from builder.nodes import registry
from triggers import cron, ratelimit, signing
from triggers.exceptions import (
    BodyTooLarge,
    HookNotFound,
    RateLimited,
    ReplayedDelivery,
    SignatureRejected,
)
from triggers.models import EventSubscription, Hook, Schedule, WebhookDelivery

log = logging.getLogger(__name__)

WEBHOOK, SCHEDULE, EVENT = "trigger.webhook", "trigger.schedule", "trigger.event"


def now() -> datetime:
    """The triggers' clock (tests replace it to freeze time)."""
    return timezone.now()


# -- publishing -----------------------------------------------------------------


def _trigger_nodes(version: Any, key: str) -> list[tuple[str, Any]]:
    """(node id, parsed config) of the enabled triggers of type ``key``."""
    if version is None:
        return []
    node_type = registry.get(key)
    return [
        (node["id"], node_type.parse_config(node.get("config") or {}))
        for node in version.graph.get("nodes", [])
        if node.get("type") == key and not node.get("disabled")
    ]


def sync_triggers(workflow: Any, version: Any) -> None:
    """Make the trigger rows mirror ``version`` (None: nothing is published).

    A node that stays keeps its row: a webhook keeps its URL, a schedule its
    next fire time unless its cron or time zone changed."""
    _sync_hooks(workflow, _trigger_nodes(version, WEBHOOK))
    _sync_schedules(workflow, _trigger_nodes(version, SCHEDULE))
    _sync_subscriptions(workflow, _trigger_nodes(version, EVENT))


def unpublish(workflow: Any) -> None:
    sync_triggers(workflow, None)


def _sync_hooks(workflow: Any, nodes: list[tuple[str, Any]]) -> None:
    Hook.objects.filter(workflow=workflow).exclude(node_id__in=[n for n, _ in nodes]).delete()
    for node_id, config in nodes:
        Hook.objects.update_or_create(
            workflow=workflow,
            node_id=node_id,
            defaults={"mode": config.mode, "signing_credential": config.signing_credential or ""},
        )


def _sync_schedules(workflow: Any, nodes: list[tuple[str, Any]]) -> None:
    Schedule.objects.filter(workflow=workflow).exclude(node_id__in=[n for n, _ in nodes]).delete()
    moment = now()
    for node_id, config in nodes:
        fields = {
            "cron": config.cron,
            "timezone": config.timezone,
            "payload": config.payload,
            "missed": getattr(config, "missed", "skip"),
        }
        existing = Schedule.objects.filter(workflow=workflow, node_id=node_id).first()
        if existing and (existing.cron, existing.timezone) == (config.cron, config.timezone):
            Schedule.objects.filter(pk=existing.pk).update(**fields)
            continue
        Schedule.objects.update_or_create(
            workflow=workflow,
            node_id=node_id,
            defaults={
                **fields,
                "next_fire_at": cron.next_fire(config.cron, config.timezone, moment),
            },
        )


def _sync_subscriptions(workflow: Any, nodes: list[tuple[str, Any]]) -> None:
    watching = [(n, c) for n, c in nodes if c.workflow]
    EventSubscription.objects.filter(workflow=workflow).exclude(
        node_id__in=[n for n, _ in watching]
    ).delete()
    for node_id, config in watching:
        EventSubscription.objects.update_or_create(
            workflow=workflow,
            node_id=node_id,
            defaults={"watched_workflow_id": config.workflow, "on": config.on},
        )


def drop_deleted() -> int:
    """Remove the triggers of deleted workflows (deletion is a soft update,
    so it is cleaned up here, on the scheduler's tick)."""
    gone = {"workflow__deleted_at__isnull": False}
    return sum(
        model.objects.filter(**gone).delete()[0] for model in (Hook, Schedule, EventSubscription)
    )


# -- webhooks -------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookCall:
    method: str
    headers: Mapping[str, str]  # names in lower case
    query: Mapping[str, Any]
    body: bytes


_HOOK_FIELDS = ("id", "workflow_id", "node_id", "mode", "signing_credential")


@functools.cache
def _hook_query() -> str:
    """The hook, its workflow's workspace and published version, in one plain
    statement: building this join with the ORM cost more CPU than the rest
    of a webhook call (1.5 ms against 0.08 ms for the statement itself)."""

    def col(model: type[Any], name: str) -> str:
        return connection.ops.quote_name(model._meta.get_field(name).column)

    hook_columns = ", ".join(f"h.{col(Hook, name)}" for name in _HOOK_FIELDS)
    hook, workflow = (connection.ops.quote_name(m._meta.db_table) for m in (Hook, Workflow))
    return (
        f"SELECT {hook_columns}, w.{col(Workflow, 'workspace')}, "  # noqa: S608
        f"w.{col(Workflow, 'published_version')} FROM {hook} h JOIN {workflow} w "
        f"ON w.{col(Workflow, 'id')} = h.{col(Hook, 'workflow')} "
        f"WHERE h.{col(Hook, 'id')} = %s AND w.{col(Workflow, 'deleted_at')} IS NULL"
    )


@functools.lru_cache(maxsize=256)
def _published_version(version_id: int, workflow_id: Any) -> WorkflowVersion:
    """A published version, kept: a version never changes after it is
    created. (The workflow's id, a random UUID, is part of the key so a
    reused number, as in a test database emptied between tests, cannot
    find another workflow's version.)"""
    return WorkflowVersion.objects.only("id", "workflow_id", "number", "graph").get(
        pk=version_id, workflow_id=workflow_id
    )


def _loaded(model: type[Any], values: dict[str, Any]) -> Any:
    """An instance as the ORM would load it with only these fields (by
    attribute name; the others are deferred), values converted from the
    database's form (a UUID stored as text on SQLite, say)."""
    fields = [f for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(
        DEFAULT_DB_ALIAS,
        [f.attname for f in fields],
        [f.to_python(values[f.attname]) for f in fields],
    )


def live_hook(hook_id: str) -> Hook:
    """The hook of a workflow not deleted, with its workflow (only the fields
    a call uses) and its published version (from memory after the first)."""
    row = None
    if len(hook_id) <= Hook._meta.get_field("id").max_length:
        with connection.cursor() as cursor:
            cursor.execute(_hook_query(), [hook_id])
            row = cursor.fetchone()
    if row is None:
        raise HookNotFound("No webhook at this address.")
    *hook_values, workspace_id, version_id = row
    hook = _loaded(Hook, dict(zip(_HOOK_FIELDS, hook_values, strict=True)))
    workflow = _loaded(
        Workflow,
        {
            "id": hook.workflow_id,
            "workspace_id": workspace_id,
            "deleted_at": None,
            "published_version_id": version_id,
        },
    )
    workflow.published_version = (
        _published_version(workflow.published_version_id, workflow.pk)
        if version_id is not None
        else None
    )
    hook.workflow = workflow
    return hook


def check_size(content_length: int | None) -> None:
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    if content_length is not None and content_length > limit:
        raise BodyTooLarge(f"The body is larger than {limit:,} bytes.")


def check_rate(hook: Hook) -> None:
    retry_after = ratelimit.hit(hook.pk, settings.WEBHOOK_RATE_LIMIT_PER_MIN)
    if retry_after:
        raise RateLimited("Too many calls to this webhook; slow down.", retry_after)


def decode_body(body: bytes, content_type: str) -> Any:
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type.lower() or text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:
            return text
    return text


def webhook_input(call: WebhookCall) -> dict[str, Any]:
    """The run input of contract section 3: ``{body, headers, query, method}``."""
    return {
        "body": decode_body(call.body, call.headers.get("content-type", "")),
        "headers": dict(call.headers),
        "query": dict(call.query),
        "method": call.method,
    }


def _signing_secret(hook: Hook) -> str:
    from integrations import crypto
    from integrations.selectors import CredentialNotFound, credential_for

    try:
        credential = credential_for(hook.workflow.workspace_id, hook.signing_credential)
    except CredentialNotFound:
        raise SignatureRejected("The webhook's signing credential does not exist.") from None
    if credential.disabled or not credential.has_secret:
        raise SignatureRejected("The webhook's signing credential is disabled.")
    return crypto.decrypt(credential.secret_token)


def _verify(hook: Hook, call: WebhookCall, unix_now: float) -> str | None:
    """The signed message id, or None for a hook without signing."""
    if not hook.signing_credential:
        return None
    try:
        return signing.verify(_signing_secret(hook), call.headers, call.body, unix_now)
    except signing.BadSignature as exc:
        raise SignatureRejected(str(exc)) from None


def receive(hook_id: str, call: WebhookCall, unix_now: float | None = None) -> tuple[Hook, Any]:
    """Check a webhook call and start the published version's run.

    Order: unknown hook (404), body size (413), rate (429), signature (401),
    replay (409). A replayed id is refused only once its first delivery
    started a run: the id and the run are written in one transaction."""
    from runtime import services as runtime

    hook = live_hook(hook_id)
    check_size(len(call.body))
    check_rate(hook)
    message_id = _verify(hook, call, time.time() if unix_now is None else unix_now)
    # A signed call's id is written with its run; an unsigned call needs no
    # transaction of its own (on Postgres the run starts in one statement).
    together = transaction.atomic() if message_id is not None else contextlib.nullcontext()
    with together:
        if message_id is not None:
            _remember_delivery(hook, message_id)
        run = runtime.start_run(
            None,
            hook.workflow,
            input=webhook_input(call),
            trigger_kind="webhook",
            trigger_node=hook.node_id,
        )
    return hook, run


def _remember_delivery(hook: Hook, message_id: str) -> None:
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(
                hook=hook, message_id=message_id, received_at=timezone.now()
            )
    except IntegrityError:
        raise ReplayedDelivery("This webhook-id was already delivered.") from None


def forget_old_deliveries(at: datetime | None = None) -> int:
    """Ids older than the signature tolerance can no longer be replayed
    (their timestamp is refused), so their rows can go."""
    cutoff = (at or timezone.now()) - timedelta(seconds=2 * signing.TOLERANCE_S)
    return WebhookDelivery.objects.filter(received_at__lt=cutoff).delete()[0]


# -- schedules ------------------------------------------------------------------


@dataclass(frozen=True)
class FirePlan:
    """What one tick does with a due schedule: fire for ``scheduled_at``
    (None: skip the missed fires) and move ``next_fire_at`` on."""

    scheduled_at: datetime | None
    next_fire_at: datetime


def plan_fire(schedule: Schedule, at: datetime) -> FirePlan:
    latest = schedule.next_fire_at
    following = cron.next_fire(schedule.cron, schedule.timezone, latest)
    while following <= at:
        latest = following
        following = cron.next_fire(schedule.cron, schedule.timezone, latest)
    on_time = latest >= at - timedelta(seconds=settings.SCHEDULE_GRACE_S)
    if on_time or schedule.missed == "run_once":
        return FirePlan(latest, following)
    return FirePlan(None, following)


def fire(schedule: Schedule, at: datetime) -> bool:
    """Fire one due schedule. The claim is a conditional UPDATE on the
    ``next_fire_at`` this process read: with two schedulers, exactly one
    updates the row and starts the run; the other updates nothing."""
    from runtime import services as runtime
    from runtime.exceptions import RuntimeServiceError

    plan = plan_fire(schedule, at)
    with transaction.atomic():
        claimed = Schedule.objects.filter(
            pk=schedule.pk, next_fire_at=schedule.next_fire_at
        ).update(next_fire_at=plan.next_fire_at, last_fired_at=at)
        if not claimed or plan.scheduled_at is None:
            return False
        scheduled_at = plan.scheduled_at.astimezone(cron.ZoneInfo(schedule.timezone))
        try:
            with transaction.atomic():
                runtime.start_run(
                    None,
                    schedule.workflow,
                    input={**schedule.payload, "scheduled_at": scheduled_at.isoformat()},
                    trigger_kind="schedule",
                    trigger_node=schedule.node_id,
                )
        except RuntimeServiceError as exc:
            log.warning("schedule %s could not start a run: %s", schedule, exc.detail)
            return False
    return True


def fire_due_schedules(at: datetime | None = None, limit: int = 500) -> int:
    """One scheduler tick: fire every schedule that is due. Returns how many
    runs started. Safe to run in several processes at once."""
    at = at or now()
    due = (
        Schedule.objects.select_related("workflow")
        .filter(next_fire_at__lte=at, workflow__deleted_at__isnull=True)
        .order_by("next_fire_at")[:limit]
    )
    return sum(fire(schedule, at) for schedule in due)


def tick(at: datetime | None = None) -> dict[str, int]:
    """Everything the triggers do periodically."""
    from triggers import children

    at = at or now()
    return {
        "triggers_dropped": drop_deleted(),
        "schedules_fired": fire_due_schedules(at),
        "deliveries_forgotten": forget_old_deliveries(),
        "parents_woken": children.wake_stalled_parents(),
    }


# -- events ---------------------------------------------------------------------


def matches(on: str, status: str) -> bool:
    return on == status or on == "finished"


def watched_probe(workflow_id: Any) -> tuple[str, list[Any]]:
    """``is_watched`` as SQL, for the engine to ask in the statement that
    ends a run (``runtime.events.register_end_probe``)."""
    from django.db import connection

    table = connection.ops.quote_name(EventSubscription._meta.db_table)
    field = EventSubscription._meta.get_field("watched_workflow_id")
    column = connection.ops.quote_name(field.column)
    return (
        f"EXISTS (SELECT 1 FROM {table} WHERE {column} = %s)",  # noqa: S608
        [field.get_db_prep_value(workflow_id, connection)],
    )


def is_watched(workflow_id: Any) -> bool:
    """Whether any ``trigger.event`` watches this workflow: asked after every
    run, answered by one indexed lookup without the ORM's query building
    (most workflows are watched by none)."""
    from django.db import connection

    table = connection.ops.quote_name(EventSubscription._meta.db_table)
    field = EventSubscription._meta.get_field("watched_workflow_id")
    column = connection.ops.quote_name(field.column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE {column} = %s LIMIT 1",  # noqa: S608
            [field.get_db_prep_value(workflow_id, connection)],
        )
        return cursor.fetchone() is not None


def start_event_runs(run: Any, watched: bool | None = None) -> int:
    """Start every workflow whose ``trigger.event`` watches ``run``'s
    workflow and status, in the same workspace only (another workspace's
    output is not theirs to see). A workflow never triggers itself (a loop)."""
    from runtime import services as runtime
    from runtime.exceptions import RuntimeServiceError

    if not (watched if watched is not None else is_watched(run.workflow_id)):
        return 0
    subscriptions = (
        EventSubscription.objects.select_related("workflow")
        .filter(
            watched_workflow_id=run.workflow_id,
            workflow__workspace_id=run.workspace_id,
            workflow__deleted_at__isnull=True,
        )
        .exclude(workflow_id=run.workflow_id)
    )
    started = 0
    for subscription in subscriptions:
        if not matches(subscription.on, run.status):
            continue
        payload = {"run_id": str(run.pk), "status": run.status, "output": run.output}
        try:
            runtime.start_run(
                None,
                subscription.workflow,
                input=payload,
                trigger_kind="event",
                trigger_node=subscription.node_id,
            )
            started += 1
        except RuntimeServiceError as exc:
            log.warning("%s could not start a run: %s", subscription, exc.detail)
    return started
