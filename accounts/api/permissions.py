"""DRF glue over accounts.permissions: no role logic here."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from accounts import permissions


def requires(action: permissions.Action) -> type[BasePermission]:
    """A DRF permission class: object-level check of ``action`` via the permission module."""

    class _Requires(BasePermission):
        def has_permission(self, request: Any, view: Any) -> bool:
            return bool(request.user and request.user.is_authenticated)

        def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
            permissions.check(request.user, action, obj)
            return True

    _Requires.__name__ = f"Requires{action.value.title().replace('_', '')}"
    return _Requires
