"""Runs, steps (one per node visit), edge states and the run event log.

A run's state lives here, never in the broker: a Celery message only says
"look at step X". Every transition is a compare-and-set on these rows (see
``runtime.engine``), and every transition appends its :class:`RunEvent` in the
same transaction.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db import models
from django.db.models.base import ModelState

_M = TypeVar("_M", bound=models.Model)


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


RUN_ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING)
RUN_FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class StepStatus(models.TextChoices):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


STEP_ACTIVE = (StepStatus.PENDING, StepStatus.QUEUED, StepStatus.RUNNING, StepStatus.WAITING)
STEP_FINISHED = (
    StepStatus.SUCCEEDED,
    StepStatus.FAILED,
    StepStatus.SKIPPED,
    StepStatus.CANCELLED,
)


class Run(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of their own: the (workspace, status, -created_at) and
    # (workflow, -created_at) indexes serve these columns too, and every
    # index is one more entry to write each time a run changes status.
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="runs", db_index=False
    )
    workflow = models.ForeignKey(
        "builder.Workflow", on_delete=models.CASCADE, related_name="runs", db_index=False
    )
    version = models.ForeignKey(
        "builder.WorkflowVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
    )
    #: the pinned version's number; None for a run of the draft
    version_number = models.PositiveIntegerField(null=True, blank=True)
    is_draft = models.BooleanField(default=False)
    #: the graph document this run executes (a snapshot; contract 1.1 rule 10)
    graph = models.JSONField()
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    #: {node_id, visit, type, message} of the step that failed the run
    error = models.JSONField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger_kind = models.CharField(max_length=32, default="manual")
    trigger_node = models.CharField(max_length=64)
    parent_step = models.ForeignKey(
        "Step", null=True, blank=True, on_delete=models.SET_NULL, related_name="child_runs"
    )
    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns"
    )
    rerun_from_node = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    #: {"input_tokens": int, "output_tokens": int} summed over steps
    usage = models.JSONField(default=dict, blank=True)
    cost_usd = models.FloatField(default=0.0)
    #: the last RunEvent.seq handed out; bumped under the run-row lock
    event_seq = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["workflow", "-created_at"]),
            models.Index(fields=["workspace", "status", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"run {self.id} of {self.workflow_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in RUN_FINISHED


class Step(models.Model):
    """One visit of one node in one run."""

    #: indexed by the unique (run, node_id, visit) constraint's index
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps", db_index=False)
    node_id = models.CharField(max_length=64)
    visit = models.PositiveIntegerField(default=1)
    node_type = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=StepStatus.choices, default=StepStatus.QUEUED)
    #: the port the step ended on ("out", "true", "error", ...)
    #: None while running, and for a failure that no error edge routes
    port = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001 (None is not "")
    attempts = models.PositiveIntegerField(default=0)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    #: {type, message, attempts}; also the last failed attempt's error while retrying
    error = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    #: a queued step is claimable from due_at on (retry backoff); a waiting
    #: step with a timer wakes at due_at
    due_at = models.DateTimeField(null=True, blank=True)
    #: when the step id was last handed to the broker (the sweeper re-sends
    #: steps that sat queued too long after it)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    #: the fencing token of the current claim; results are written only with it
    lease_token = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    #: {"reason": "timer"|"approval"|..., "state": {...}} while a wait is open;
    #: kept when the wait ends so that the next attempt calls resume()
    wait = models.JSONField(null=True, blank=True)
    usage = models.JSONField(default=dict, blank=True)
    cost_usd = models.FloatField(null=True, blank=True)
    reused_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "node_id", "visit"], name="one_step_per_visit")
        ]
        indexes = [
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["status", "lease_expires_at"]),
            models.Index(fields=["status", "dispatched_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.node_id}#{self.visit} ({self.status})"

    @property
    def idempotency_key(self) -> str:
        return f"{self.run_id}:{self.node_id}:{self.visit}"


class EdgeState(models.Model):
    """The outcome of one edge for one visit of its source: taken or skipped."""

    TAKEN = "taken"
    SKIPPED = "skipped"

    #: indexed by the unique (run, edge_id, visit) constraint's index
    run = models.ForeignKey(
        Run, on_delete=models.CASCADE, related_name="edge_states", db_index=False
    )
    edge_id = models.CharField(max_length=64)
    visit = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=8, choices=[(TAKEN, "taken"), (SKIPPED, "skipped")])

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "edge_id", "visit"], name="one_edge_state_per_visit"
            )
        ]

    def __str__(self) -> str:
        return f"{self.edge_id}#{self.visit} {self.state}"


class RunEvent(models.Model):
    """Append-only log of a run's transitions; ``seq`` grows by one per run."""

    #: indexed by the unique (run, seq) constraint's index
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events", db_index=False)
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=8)  # "run" or "step"
    node_id = models.CharField(max_length=64, blank=True)
    visit = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16)
    payload = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="one_event_per_seq")]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.seq} {self.kind} {self.node_id} {self.status}"

    def as_message(self) -> dict:
        """The live-event message shape of contract section 5."""
        return {
            "seq": self.seq,
            "kind": self.kind,
            "run_id": str(self.run_id),
            "node_id": self.node_id or None,
            "visit": self.visit,
            "status": self.status,
            "at": self.at.isoformat(),
            **self.payload,
        }


@functools.cache
def _defaults(
    model: type[models.Model],
) -> tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...], frozenset[str]]:
    """A model's fields at their defaults: those that are one value (shared
    by every instance, as ``Model.__init__`` shares them), those made by a
    call (``default=dict``), and every field's attribute name."""
    fixed: dict[str, Any] = {}
    made: list[tuple[str, Callable[[], Any]]] = []
    for field in model._meta.concrete_fields:
        if field.has_default() and callable(field.default):
            made.append((field.attname, field._get_default))
        else:
            fixed[field.attname] = field.get_default()
    names = frozenset(field.attname for field in model._meta.concrete_fields)
    return fixed, tuple(made), names


def new(model: type[_M], /, **values: Any) -> _M:
    """``model(**values)`` for the runtime's hot path: ``values`` by
    attribute name (``run_id``, not ``run``; ``pk`` for the primary key),
    every other field at its default, as ``Model.__init__`` would set them,
    without its work per field (descriptors, signals; none of these models
    has receivers). A fifth of a pure step's Python time went to building
    the seven instances a one-step run uses."""
    if "pk" in values:
        values[model._meta.pk.attname] = values.pop("pk")
    fixed, made, names = _defaults(model)
    if not values.keys() <= names:
        raise TypeError(f"{model.__name__} has no fields {sorted(values.keys() - names)}")
    instance = model.__new__(model)
    instance._state = ModelState()
    attrs = instance.__dict__
    attrs.update(fixed)
    for attname, default in made:
        if attname not in values:
            attrs[attname] = default()
    attrs.update(values)
    return instance
