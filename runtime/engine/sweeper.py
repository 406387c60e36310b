"""The periodic tick: Celery beat in distributed mode, a thread in embedded
mode, and once at start-up. Each pass is a set of compare-and-sets, so two
sweepers at once never hand one step to two workers: the claim decides.

1. timers: waiting steps whose ``due_at`` passed (``flow.delay``) are queued;
2. due and lost messages: queued steps that are due and were never sent
   since (retries after backoff), or were sent more than
   ``BATON_QUEUED_STALE_S`` ago without being claimed (message lost), are sent;
3. expired leases: running steps whose worker stopped renewing are failed as
   ``WorkerLost`` (retryable); the retry policy, with at least
   ``WORKER_LOST_ATTEMPTS`` attempts, decides between a new attempt and the
   end. Attempts are counted at claim, so a poison step ends, never loops.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import DateTimeField, ExpressionWrapper, F, Q
from django.db.models.functions import Coalesce

from runtime.engine import clock, dispatch, transitions
from runtime.models import Step, StepStatus

BATCH = 500
RESEND_GAP_CAP = 10  # the longest gap between re-sends, in stale periods


def queued_stale_seconds() -> float:
    return float(getattr(settings, "BATON_QUEUED_STALE_S", 30))


def tick(now: datetime | None = None) -> dict[str, int]:
    now = now or clock.now()
    return {
        "timers": wake_timers(now),
        "dispatched": redispatch(now),
        "recovered": recover_leases(now),
    }


def wake_timers(now: datetime) -> int:
    due = Step.objects.filter(status=StepStatus.WAITING, due_at__lte=now).values_list(
        "pk", flat=True
    )
    return sum(transitions.resume_step(pk, due_by=now) for pk in list(due[:BATCH]))


def redispatch(now: datetime) -> int:
    """Send again the messages of due steps still queued long after they were
    sent. A step is sent again once it has waited ``BATON_QUEUED_STALE_S``
    since it was last sent, and at least as long as it had waited before
    that: 30 s, then 60 s, 120 s ... after it was queued. Behind a backlog
    (the workers are merely busy) the re-sends thin out instead of piling
    more copies onto the queue. The gap never grows past ten times
    ``BATON_QUEUED_STALE_S`` (5 minutes by default), so a message lost again
    and again is still sent again within minutes."""
    stale_s = queued_stale_seconds()
    stale = now - timedelta(seconds=stale_s)
    longest = now - timedelta(seconds=RESEND_GAP_CAP * stale_s)
    since_queued = F("dispatched_at") - Coalesce("queued_at", "dispatched_at")
    resend_after = ExpressionWrapper(F("dispatched_at") + since_queued, DateTimeField())
    candidates = (
        Step.objects.filter(status=StepStatus.QUEUED)
        .filter(Q(due_at__isnull=True) | Q(due_at__lte=now))
        .annotate(resend_after=resend_after)
        .filter(
            Q(dispatched_at__isnull=True)
            | Q(dispatched_at__lt=stale, resend_after__lt=now)
            | Q(dispatched_at__lt=longest)
        )
        .order_by("dispatched_at")
        .values_list("pk", "dispatched_at", "run_id")
    )
    sent: dict[Any, list[int]] = {}
    for pk, dispatched_at, run_id in list(candidates[:BATCH]):
        # Only the sweeper that moves dispatched_at sends the message.
        if Step.objects.filter(pk=pk, status=StepStatus.QUEUED, dispatched_at=dispatched_at).update(
            dispatched_at=now
        ):
            sent.setdefault(run_id, []).append(pk)
    for run_id, step_ids in sent.items():
        dispatch.send(step_ids, run_id)
    return sum(len(step_ids) for step_ids in sent.values())


def recover_leases(now: datetime) -> int:
    expired = Step.objects.filter(status=StepStatus.RUNNING, lease_expires_at__lt=now)
    return sum(
        transitions.recover_expired(pk, now)
        for pk in list(expired.values_list("pk", flat=True)[:BATCH])
    )
