"""``inbox_count``: how many approvals the signed-in user may decide now."""

from __future__ import annotations

from typing import Any

from approvals import selectors


def inbox(request: Any) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox_count": lambda: selectors.pending_count(user)}
