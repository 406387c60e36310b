"""E-mail to the people who may decide a task: when it opens, as a reminder
while it waits, and to those added when it escalates.

The link in every message points at the task in the inbox, which requires
sign-in; the decision itself is always made on the page, through the same
service as the API. A Notification row per (task, person, kind, round) keeps
a tick that runs twice from sending twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts import permissions
from accounts.models import Membership
from approvals.models import ApprovalTask, Notification
from runtime.engine import clock

log = logging.getLogger(__name__)

SUBJECTS = {
    Notification.Kind.ASSIGNED: "Approval needed: {title}",
    Notification.Kind.REMINDER: "Reminder, approval still waiting: {title}",
    Notification.Kind.ESCALATED: "Escalated to you, approval waiting: {title}",
}


def reminder_interval_s() -> float | None:
    """Seconds between reminders (``APPROVAL_REMINDER_S``, default a day; 0 turns them off)."""
    seconds = float(getattr(settings, "APPROVAL_REMINDER_S", 24 * 3600))
    return seconds if seconds > 0 else None


def max_reminders() -> int:
    return int(getattr(settings, "APPROVAL_MAX_REMINDERS", 3))


def task_url(task: ApprovalTask) -> str:
    base = str(getattr(settings, "BASE_URL", "")).rstrip("/")
    return base + reverse("approvals:task", args=[task.pk])


def assignees(task: ApprovalTask) -> list[Any]:
    """Active members the task names, or whose role it names, who may decide it
    (the run's starter is left out unless self-approval is allowed)."""
    members = Membership.objects.filter(workspace_id=task.workspace_id).select_related("user")
    names, roles = set(task.current_users()), set(task.current_roles())
    people = []
    for membership in members.order_by("user__username"):
        person = membership.user
        named = person.get_username() in names or roles & set(membership.roles)
        if person.is_active and named and permissions.may_decide_task(person, task):
            people.append(person)
    return people


def notify_assigned(task_id: Any) -> int:
    task = ApprovalTask.objects.filter(pk=task_id).first()
    if task is None or not task.is_pending:
        return 0
    return send(task, assignees(task), Notification.Kind.ASSIGNED)


def send(task: ApprovalTask, people: Iterable[Any], kind: str, round: int = 0) -> int:
    """E-mail each person once per (kind, round); returns how many were sent."""
    sent = 0
    for person in people:
        if not person.email:
            continue
        try:
            with transaction.atomic():
                Notification.objects.create(
                    task=task,
                    user=person,
                    kind=kind,
                    round=round,
                    email=person.email,
                    sent_at=clock.now(),
                )
        except IntegrityError:
            continue  # sent already
        sent += _mail(task, person, kind)
    return sent


def _mail(task: ApprovalTask, person: Any, kind: str) -> int:
    due = f"\nIt times out at {task.due_at:%Y-%m-%d %H:%M} UTC.\n" if task.due_at else ""
    body = (
        f"Hello {person.get_full_name() or person.get_username()},\n\n"
        f"A workflow is waiting for your decision: {task.title}\n{due}\n"
        f"Review it here (you will be asked to sign in):\n{task_url(task)}\n\n"
        "You receive this because the approval step names you or your role.\n"
    )
    try:
        return send_mail(
            SUBJECTS[kind].format(title=task.title),
            body,
            settings.DEFAULT_FROM_EMAIL,
            [person.email],
        )
    except Exception:
        log.exception("could not e-mail %s about approval %s", person.email, task.pk)
        return 0
