"""Errors of the runtime's write paths, each carrying the HTTP status the API answers with.

Shaped like :class:`builder.exceptions.BuilderError`: ``detail`` (one sentence),
``errors`` (a list of ``{field, message}`` or ``{node_id, field, message}``),
``status`` and any extra keys for the response body.
"""

from __future__ import annotations

from typing import Any


class RuntimeServiceError(Exception):
    status = 400

    def __init__(
        self,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        *,
        status: int | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra
        if status is not None:
            self.status = status


class RunRejected(RuntimeServiceError):
    """A run cannot start: invalid or unpublished workflow, bad input (400),
    or a version that does not exist (404). Nothing was created."""


class RunConflict(RuntimeServiceError):
    """The run is in a state that forbids the request, e.g. cancelling a
    finished run (409)."""

    status = 409


class StepNotWaiting(RunConflict):
    """Resuming a step that is not waiting (decided already, or cancelled)."""
