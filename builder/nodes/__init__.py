"""The node catalog. Importing this package registers every node type."""

from __future__ import annotations

import importlib
import pkgutil

from builder.nodes.registry import registry

_INFRASTRUCTURE = {"base", "registry"}


def load_all() -> None:
    """Import every node module once so that each registers its types."""
    for module in pkgutil.iter_modules(__path__):
        if module.name not in _INFRASTRUCTURE and not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


load_all()

__all__ = ["registry"]
