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

from django.conf import settings
from django.db.models import Q

from runtime.engine import clock, dispatch, transitions
from runtime.models import Step, StepStatus

BATCH = 500


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
    stale = now - timedelta(seconds=queued_stale_seconds())
    candidates = (
        Step.objects.filter(status=StepStatus.QUEUED)
        .filter(Q(due_at__isnull=True) | Q(due_at__lte=now))
        .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=stale))
        .values_list("pk", "dispatched_at")
    )
    sent = []
    for pk, dispatched_at in list(candidates[:BATCH]):
        # Only the sweeper that moves dispatched_at sends the message.
        if Step.objects.filter(pk=pk, status=StepStatus.QUEUED, dispatched_at=dispatched_at).update(
            dispatched_at=now
        ):
            sent.append(pk)
    if sent:
        dispatch.send(sent)
    return len(sent)


def recover_leases(now: datetime) -> int:
    expired = Step.objects.filter(status=StepStatus.RUNNING, lease_expires_at__lt=now)
    return sum(
        transitions.recover_expired(pk, now)
        for pk in list(expired.values_list("pk", flat=True)[:BATCH])
    )
