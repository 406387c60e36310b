"""The in-process worker and scheduler of embedded mode (filled in by the runtime)."""

from __future__ import annotations


def start() -> None:
    """Start the embedded worker and scheduler threads."""
