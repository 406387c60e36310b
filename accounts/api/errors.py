"""Map accounts (and builder) service errors to the contract's JSON error shape."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response

from accounts.exceptions import AccountsError


class ServiceErrorMixin:
    def handle_exception(self, exc: Exception) -> Response:
        from builder.exceptions import BuilderError

        if isinstance(exc, (AccountsError, BuilderError)):
            body: dict[str, Any] = {"detail": exc.detail, "errors": exc.errors, **exc.extra}
            return Response(body, status=exc.status)
        return super().handle_exception(exc)  # type: ignore[misc]
