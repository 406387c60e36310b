"""The approvals tick: time-driven changes to pending tasks.

Waits are rows, not tasks: nothing sleeps. The tick runs from Celery beat
(``approvals.tick``, see config/celery.py) and from the embedded scheduler,
and each change is a compare-and-set, so two ticks at once do everything once:

1. time limits: a task past ``due_at`` ends on ``timeout`` and its step
   resumes (the engine's own timer on the step does the same; whichever comes
   first wins, the other finds nothing to do);
2. escalation: past ``escalate_at`` the ``escalate_to`` people are added to
   the assignees and e-mailed;
3. reminders: past ``remind_at`` the current assignees are e-mailed again;
4. strays: pending tasks of runs that ended are closed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F

from accounts import audit
from approvals import notifications, services
from approvals.models import ApprovalTask, Notification, TaskStatus
from runtime import services as runtime_services
from runtime.engine import clock
from runtime.models import RUN_FINISHED, Step

BATCH = 200


def tick(now: datetime | None = None) -> dict[str, int]:
    now = now or clock.now()
    return {
        "timed_out": time_out_due(now),
        "escalated": escalate_due(now),
        "reminded": remind_due(now),
        "closed": close_strays(),
    }


def _pending() -> Any:
    return ApprovalTask.objects.filter(status=TaskStatus.PENDING)


def time_out_due(now: datetime) -> int:
    count = 0
    for task in _pending().filter(due_at__lte=now)[:BATCH]:
        if services.time_out(task):
            count += 1
            if task.step_id:
                runtime_services.resume_step(Step(pk=task.step_id))
    return count


def escalate_due(now: datetime) -> int:
    count = 0
    for task in _pending().filter(escalate_at__lte=now, escalated_at__isnull=True)[:BATCH]:
        before = {person.pk for person in notifications.assignees(task)}
        with transaction.atomic():
            if (
                not _pending()
                .filter(pk=task.pk, escalated_at__isnull=True)
                .update(escalated_at=now, revision=F("revision") + 1)
            ):
                continue
            task.escalated_at = now
            audit.record(
                None,
                task.workspace_id,
                "approval.escalated",
                obj=task,
                summary={
                    "run": str(task.run_id),
                    "node_id": task.node_id,
                    "added": task.escalate_roles + task.escalate_users,
                },
            )
        added = [p for p in notifications.assignees(task) if p.pk not in before]
        notifications.send(task, added, Notification.Kind.ESCALATED)
        count += 1
    return count


def remind_due(now: datetime) -> int:
    interval = notifications.reminder_interval_s()
    count = 0
    for task in _pending().filter(remind_at__lte=now)[:BATCH]:
        round_ = task.reminders_sent + 1
        last = round_ >= notifications.max_reminders() or interval is None
        next_at = None if last else now + timedelta(seconds=interval)
        if (
            not _pending()
            .filter(pk=task.pk, remind_at=task.remind_at)
            .update(remind_at=next_at, reminders_sent=round_)
        ):
            continue
        notifications.send(task, notifications.assignees(task), Notification.Kind.REMINDER, round_)
        count += 1
    return count


def close_strays() -> int:
    runs = _pending().filter(run__status__in=RUN_FINISHED).values_list("run_id", flat=True)
    return sum(services.close_tasks_for_run(run_id) for run_id in set(runs[:BATCH]))
