"""Errors of the approval write paths, each with the HTTP status the API answers with."""

from __future__ import annotations

from typing import Any


class ApprovalError(Exception):
    status = 400

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class InvalidDecision(ApprovalError):
    """The decision, comment or field values are not acceptable (400)."""


class TaskConflict(ApprovalError):
    """The task is no longer open to this decision: someone else decided it,
    the time limit passed, the run ended, or this person already approved (409)."""

    status = 409
