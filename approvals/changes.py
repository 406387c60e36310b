"""The difference between what was proposed and what a reviewer sent on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_MISSING = object()


def changes_between(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """``{field: {"from": old, "to": new}}`` for every field whose value differs
    (a field absent on one side counts as ``None`` there)."""
    changed: dict[str, Any] = {}
    for name in dict.fromkeys([*before, *after]):
        old, new = before.get(name, _MISSING), after.get(name, _MISSING)
        if old != new:
            changed[name] = {
                "from": None if old is _MISSING else old,
                "to": None if new is _MISSING else new,
            }
    return changed
