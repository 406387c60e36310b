"""Authentication backends."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend


class ThrottledBackend(AxesStandaloneBackend):
    """django-axes' lockout check for sign-ins that come with a request (the
    sign-in page, the token endpoint). Server-side calls without a request
    (scripts, management commands, tests) have no caller to throttle; axes
    itself would raise for them, so they pass to the next backend unthrottled."""

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
