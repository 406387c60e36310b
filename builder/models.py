"""Workflows (a draft graph with a revision counter) and immutable versions."""

from __future__ import annotations

import uuid

from django.conf import settings as django_settings
from django.db import models


def empty_graph() -> dict:
    return {"version": 1, "nodes": [], "edges": []}


class WorkflowQuerySet(models.QuerySet):
    def alive(self) -> WorkflowQuerySet:
        return self.filter(deleted_at__isnull=True)


class Workflow(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="workflows"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=5000)
    graph = models.JSONField(default=empty_graph)
    revision = models.PositiveIntegerField(default=1)
    published_version = models.ForeignKey(
        "WorkflowVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    settings = models.JSONField(
        default=dict, blank=True, help_text="Budgets and other per-workflow settings."
    )
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = WorkflowQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["workspace", "-updated_at"])]

    def __str__(self) -> str:
        return self.name


class WorkflowVersion(models.Model):
    """A published snapshot. Never changed after creation; runs pin one."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    graph = models.JSONField()
    note = models.CharField(max_length=500, blank=True)
    source_revision = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "number"], name="unique_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.workflow} v{self.number}"

    @property
    def workspace_id(self):
        return self.workflow.workspace_id
