"""Errors of the builder's write paths, each mapped to an HTTP status by the API."""

from __future__ import annotations

from typing import Any


class BuilderError(Exception):
    status = 400

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra


class GraphRejected(BuilderError):
    """The graph cannot be stored or published (400)."""


class GraphTooLarge(BuilderError):
    status = 413


class StaleRevision(BuilderError):
    status = 409
