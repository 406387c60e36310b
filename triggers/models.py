"""What starts runs from outside: webhook hooks, schedules, event subscriptions.

Each row belongs to one trigger node of a workflow's *published* version and
is (re)written by :func:`triggers.services.sync_triggers` whenever a version
is published, so the rows always mirror the live graph.
"""

from __future__ import annotations

import secrets

from django.db import models


def new_hook_id() -> str:
    """An unguessable id: 32 random bytes, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


class Hook(models.Model):
    """The URL ``/hooks/{id}/`` of one ``trigger.webhook`` node."""

    id = models.CharField(primary_key=True, max_length=64, default=new_hook_id, editable=False)
    workflow = models.ForeignKey("builder.Workflow", on_delete=models.CASCADE, related_name="hooks")
    node_id = models.CharField(max_length=64)
    mode = models.CharField(max_length=8, default="async")
    #: a credential id or name whose secret signs calls; empty: unsigned calls
    signing_credential = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workflow", "node_id"], name="one_hook_per_node")
        ]

    def __str__(self) -> str:
        return f"hook {self.node_id} of {self.workflow_id}"


class WebhookDelivery(models.Model):
    """A signed message id already accepted: a replay of it is refused."""

    hook = models.ForeignKey(Hook, on_delete=models.CASCADE, related_name="deliveries")
    message_id = models.CharField(max_length=200)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hook", "message_id"], name="one_delivery_per_id")
        ]
        indexes = [models.Index(fields=["received_at"])]

    def __str__(self) -> str:
        return f"delivery {self.message_id} to {self.hook_id}"


class MissedPolicy(models.TextChoices):
    SKIP = "skip"
    RUN_ONCE = "run_once"


class Schedule(models.Model):
    """One ``trigger.schedule`` node: when it fires next, in UTC."""

    workflow = models.ForeignKey(
        "builder.Workflow", on_delete=models.CASCADE, related_name="schedules"
    )
    node_id = models.CharField(max_length=64)
    cron = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC")
    payload = models.JSONField(default=dict, blank=True)
    missed = models.CharField(max_length=8, choices=MissedPolicy.choices, default=MissedPolicy.SKIP)
    #: claimed by a conditional UPDATE (``WHERE next_fire_at = <read value>``),
    #: so two scheduler processes never fire the same moment twice
    next_fire_at = models.DateTimeField(db_index=True)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workflow", "node_id"], name="one_schedule_per_node")
        ]

    def __str__(self) -> str:
        return f"schedule {self.node_id} of {self.workflow_id}: {self.cron} {self.timezone}"


class EventSubscription(models.Model):
    """One ``trigger.event`` node: start ``workflow`` when a run of
    ``watched_workflow_id`` ends with a status matching ``on``."""

    workflow = models.ForeignKey(
        "builder.Workflow", on_delete=models.CASCADE, related_name="event_subscriptions"
    )
    node_id = models.CharField(max_length=64)
    watched_workflow_id = models.UUIDField(db_index=True)
    on = models.CharField(max_length=16, default="succeeded")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "node_id"], name="one_subscription_per_node"
            )
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id}.{self.node_id} on {self.watched_workflow_id} {self.on}"
