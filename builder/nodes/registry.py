"""The node catalog: one registry of node types, refusing duplicate keys."""

from __future__ import annotations

from collections.abc import Iterator

from builder.nodes.base import NodeType


class DuplicateNodeType(Exception):
    pass


class Registry:
    def __init__(self) -> None:
        self._types: dict[tuple[str, int], NodeType] = {}

    def register(self, cls: type[NodeType]) -> type[NodeType]:
        ident = (cls.key, cls.version)
        if ident in self._types:
            raise DuplicateNodeType(f"node type {cls.key} v{cls.version} is registered twice")
        self._types[ident] = cls()
        return cls

    def get(self, key: str, version: int | None = None) -> NodeType | None:
        """The type with that key: the given version, or the newest."""
        if version is not None:
            return self._types.get((key, version))
        versions = [v for (k, v) in self._types if k == key]
        return self._types[(key, max(versions))] if versions else None

    def latest(self) -> Iterator[NodeType]:
        """Every key's newest version, in registration order."""
        seen: dict[str, NodeType] = {}
        for (key, _version), node_type in self._types.items():
            if key not in seen or node_type.version > seen[key].version:
                seen[key] = node_type
        return iter(seen.values())

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None


registry = Registry()
