"""Validation of a graph document: the checker that reads the document, each
node (id, type, config, templates) and each edge, then runs the field-level
and structural checks of its mixins; validate() and parse() on top."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from builder import expressions
from builder.graph.document import (
    DEFAULT_PORT,
    DOCUMENT_KEYS,
    EDGE_ID_RE,
    EDGE_KEYS,
    GRAPH_VERSION,
    MAX_EDGES,
    MAX_NAME_LENGTH,
    MAX_NODES,
    MAX_NOTES_LENGTH,
    MAX_VISITS,
    NODE_ID_RE,
    NODE_KEYS,
    Edge,
    Graph,
    Node,
)
from builder.graph.fields import _describe, _FieldChecks, _is_int, _NodeEntry, _Scope
from builder.graph.issues import GraphInvalid, Issue, Validation
from builder.graph.structure import _StructureChecks

if TYPE_CHECKING:
    from builder.nodes.base import NodeType


class Catalog(Protocol):
    """What validation needs of the node catalog (``builder.nodes.registry``)."""

    def get(self, key: str, version: int | None = None) -> NodeType | None: ...


def validate(document: Any, catalog: Catalog | None = None) -> Validation:
    """Check a graph document against the catalog; never raises."""
    checker = _Checker(catalog if catalog is not None else _default_catalog())
    graph = checker.check(document)
    valid = not checker.errors
    return Validation(valid, checker.errors, checker.warnings, graph if valid else None)


def parse(document: Any, catalog: Catalog | None = None) -> Graph:
    """The graph of a valid document; raises GraphInvalid otherwise."""
    result = validate(document, catalog)
    if result.graph is None:
        raise GraphInvalid(result.errors)
    return result.graph


def _default_catalog() -> Catalog:
    from builder.nodes.registry import registry  # imported late: types register on import

    return registry


class _Checker(_StructureChecks, _FieldChecks):
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.entries: dict[str, _NodeEntry] = {}
        self.unknown_trigger_types = False
        self.edge_ids: dict[str, int] = {}
        #: for each structural edge, by id(): its document position and scope
        self.edge_places: dict[int, tuple[int, _Scope]] = {}

    def check(self, document: Any) -> Graph:
        root = _Scope(None, "", "the graph")
        raw_nodes, raw_edges = self.check_document(document, root)
        for i, raw in enumerate(raw_nodes):
            self.check_node(i, raw)
        edges = [edge for i, raw in enumerate(raw_edges) if (edge := self.check_edge(i, raw))]
        graph = self.build(edges)
        self.check_structure(graph, root)
        return graph

    # -- document ----------------------------------------------------------

    def check_document(self, document: Any, root: _Scope) -> tuple[list[Any], list[Any]]:
        if not isinstance(document, Mapping):
            self.error(root, "", "The graph must be a JSON object with version, nodes and edges.")
            return [], []
        for key in document:
            if key not in DOCUMENT_KEYS:
                self.error(root, str(key), f"The graph has an unknown key {_describe(key)}.")
        if "ui" in document and not isinstance(document["ui"], Mapping):
            self.error(
                root, "ui", f"The graph's ui must be an object, got {_describe(document['ui'])}."
            )
        version = document.get("version")
        if not (_is_int(version) and version == GRAPH_VERSION):
            self.error(
                root,
                "version",
                f"The graph version must be {GRAPH_VERSION}, got {_describe(version)}.",
            )
        nodes = self.bounded_list(document, "nodes", MAX_NODES, root)
        edges = self.bounded_list(document, "edges", MAX_EDGES, root)
        return nodes, edges

    def bounded_list(
        self, document: Mapping[str, Any], key: str, limit: int, root: _Scope
    ) -> list[Any]:
        value = document.get(key)
        if not isinstance(value, list):
            self.error(root, key, f"The graph's {key} must be a list, got {_describe(value)}.")
            return []
        if len(value) > limit:
            self.error(
                root,
                key,
                f"The graph has {len(value):,} {key}; at most {limit:,} are allowed.",
                "too_large",
            )
            return []
        return value

    # -- nodes -------------------------------------------------------------

    def node_scope(self, index: int, raw: Mapping[str, Any]) -> _Scope:
        node_id = raw.get("id")
        if isinstance(node_id, str) and node_id:
            return _Scope(node_id, "", f"Node '{node_id}'")
        return _Scope(None, f"nodes[{index}].", f"nodes[{index}]")

    def check_node(self, index: int, raw: Any) -> None:
        if not isinstance(raw, Mapping):
            self.error(
                _Scope(None, "", ""),
                f"nodes[{index}]",
                f"nodes[{index}] must be an object, got {_describe(raw)}.",
            )
            return
        scope = self.node_scope(index, raw)
        if not self.check_node_id(index, raw.get("id"), scope):
            return
        for key in raw:
            if key not in NODE_KEYS:
                self.error(scope, str(key), f"{scope.label} has an unknown key {_describe(key)}.")
        node_type = self.node_type(raw, scope)
        node = Node(
            id=raw["id"],
            type=raw["type"] if isinstance(raw.get("type"), str) else "",
            config=self.config(raw, scope, node_type),
            type_version=node_type.version if node_type else None,
            retry=self.retry(raw.get("retry"), scope),
            timeout_s=self.timeout(raw.get("timeout_s"), scope),
            join=self.join(raw.get("join"), scope),
            max_visits=self.bounded_int(raw, "max_visits", 1, 1, MAX_VISITS, scope),
            disabled=self.boolean(raw, "disabled", scope),
            name=self.text(raw, "name", MAX_NAME_LENGTH, scope),
            notes=self.text(raw, "notes", MAX_NOTES_LENGTH, scope),
            position=self.position(raw.get("position"), scope),
        )
        entry = _NodeEntry(node, index, node_type)
        self.entries[node.id] = entry
        self.collect_references(entry)

    def check_node_id(self, index: int, node_id: Any, scope: _Scope) -> bool:
        """Whether the node can be used (it has a string id seen for the first time)."""
        if not isinstance(node_id, str) or not node_id:
            self.error(
                scope,
                "id",
                f"nodes[{index}] needs an id, a non-empty string; got {_describe(node_id)}.",
                "invalid_id",
            )
            return False
        if node_id in self.entries:
            first = self.entries[node_id].index
            self.error(
                scope,
                "id",
                f"nodes[{index}] repeats the id '{node_id}' of nodes[{first}]; node ids must be unique.",
                "duplicate_id",
            )
            return False
        if not NODE_ID_RE.fullmatch(node_id):
            self.error(
                scope,
                "id",
                f"Node id {_describe(node_id)} must start with a letter or _ and hold only letters, digits and _ (at most 64).",
                "invalid_id",
            )
        return True

    def node_type(self, raw: Mapping[str, Any], scope: _Scope) -> NodeType | None:
        key, version = raw.get("type"), raw.get("type_version")
        if not isinstance(key, str) or not key:
            self.error(
                scope,
                "type",
                f"{scope.label} needs a type, a node type key; got {_describe(key)}.",
                "unknown_type",
            )
            return None
        if version is not None and not (_is_int(version) and version >= 1):
            self.error(
                scope,
                "type_version",
                f"{scope.label}: type_version must be a positive integer, got {_describe(version)}.",
            )
            version = None
        found = self.catalog_get(key, version)
        if found is None:
            self.unknown_trigger_types |= "trigger" in key
            if version is not None and self.catalog_get(key, None) is not None:
                self.error(
                    scope,
                    "type_version",
                    f"{scope.label}: node type '{key}' has no version {version}.",
                    "unknown_type",
                )
            else:
                self.error(
                    scope,
                    "type",
                    f"{scope.label} has an unknown node type {_describe(key)}.",
                    "unknown_type",
                )
        return found

    def catalog_get(self, key: str, version: int | None) -> NodeType | None:
        try:
            return self.catalog.get(key, version)
        except Exception:  # a broken catalog entry must not make validation raise
            return None

    def config(
        self, raw: Mapping[str, Any], scope: _Scope, node_type: NodeType | None
    ) -> Mapping[str, Any]:
        config = raw.get("config")
        if config is None:
            config = {}
        if not isinstance(config, Mapping):
            self.error(
                scope,
                "config",
                f"{scope.label}: config must be an object, got {_describe(config)}.",
            )
            return {}
        if node_type is not None:
            self.check_config_schema(config, node_type, scope)
        self.check_templates(config, node_type, scope)
        return config

    def check_config_schema(
        self, config: Mapping[str, Any], node_type: NodeType, scope: _Scope
    ) -> None:
        try:
            problems = node_type.config_errors(config)
        except Exception as exc:  # node type code is not ours to trust here
            self.error(
                scope,
                "config",
                f"{scope.label}: the config could not be checked ({type(exc).__name__}).",
                "invalid_config",
            )
            return
        for path, reason in problems:
            self.error(
                scope,
                path,
                f"{scope.label}: {path}: {reason.rstrip('.')}.",
                "invalid_config",
            )

    def check_templates(
        self, config: Mapping[str, Any], node_type: NodeType | None, scope: _Scope
    ) -> None:
        bare = set(node_type.expression_fields) if node_type is not None else set()
        for name in sorted(bare & config.keys()):
            source = config[name]
            if isinstance(source, str):
                problem = expressions.expression_errors(source)
                if problem:
                    self.error(
                        scope,
                        f"config.{name}",
                        f"{scope.label}: config.{name} is not a valid expression: {problem}.",
                        "invalid_expression",
                    )
        templated = {key: value for key, value in config.items() if key not in bare}
        for path, problem in expressions.template_errors(templated, "config"):
            self.error(
                scope,
                path,
                f"{scope.label}: {path} holds a template that does not parse: {problem}.",
                "invalid_template",
            )

    def collect_references(self, entry: _NodeEntry) -> None:
        bare = set(entry.node_type.expression_fields) if entry.node_type is not None else set()
        for name, value in entry.node.config.items():
            if name in bare and isinstance(value, str):
                found = expressions.referenced_nodes(value)
            else:
                found = expressions.template_references(value)
            entry.references.extend((f"config.{name}", node_id) for node_id in sorted(found))

    # -- edges -------------------------------------------------------------

    def edge_scope(self, index: int, edge_id: Any) -> _Scope:
        if isinstance(edge_id, str):
            return _Scope(None, f"edges[{index}].", f"Edge {_describe(edge_id)}", edge_id)
        return _Scope(None, f"edges[{index}].", f"edges[{index}]")

    def check_edge(self, index: int, raw: Any) -> Edge | None:
        """The edge if both its ends exist (for the structural checks)."""
        if not isinstance(raw, Mapping):
            where = _Scope(None, f"edges[{index}].", f"edges[{index}]")
            self.error(where, "", f"edges[{index}] must be an object, got {_describe(raw)}.")
            return None
        scope = self.edge_scope(index, raw.get("id"))
        for key in raw:
            if key not in EDGE_KEYS:
                self.error(scope, str(key), f"{scope.label} has an unknown key {_describe(key)}.")
        edge_id = self.check_edge_id(index, raw.get("id"), scope)
        source = self.edge_end(raw, "source", scope)
        target = self.edge_end(raw, "target", scope)
        port = self.source_port(raw.get("source_port"), scope)
        loop = self.boolean(raw, "loop", scope)
        if source is None or target is None:
            return None
        edge = Edge(edge_id, source, target, port, loop)
        self.edge_places[id(edge)] = (index, scope)
        return edge

    def check_edge_id(self, index: int, edge_id: Any, scope: _Scope) -> str:
        if not (isinstance(edge_id, str) and EDGE_ID_RE.fullmatch(edge_id)):
            message = f"{scope.label} needs an id of 1 to 64 letters, digits, _ . : or -; got {_describe(edge_id)}."
            self.error(scope, "id", message, "invalid_id")
            return edge_id if isinstance(edge_id, str) else f"edges[{index}]"
        if edge_id in self.edge_ids:
            first = self.edge_ids[edge_id]
            message = f"edges[{index}] repeats the id '{edge_id}' of edges[{first}]; edge ids must be unique."
            self.error(scope, "id", message, "duplicate_id")
        else:
            self.edge_ids[edge_id] = index
        return edge_id

    def edge_end(self, raw: Mapping[str, Any], key: str, scope: _Scope) -> str | None:
        node_id = raw.get(key)
        if not isinstance(node_id, str):
            message = f"{scope.label} needs a {key}, a node id; got {_describe(node_id)}."
            self.error(scope, key, message, "missing_node")
            return None
        if node_id not in self.entries:
            verb = "starts" if key == "source" else "ends"
            message = (
                f"{scope.label} {verb} at {_describe(node_id)}, which is not a node of this graph."
            )
            self.error(scope, key, message, "missing_node")
            return None
        return node_id

    def source_port(self, port: Any, scope: _Scope) -> str:
        if port is None:
            return DEFAULT_PORT
        if not isinstance(port, str):
            message = f"{scope.label}: source_port must be a port name, got {_describe(port)}."
            self.error(scope, "source_port", message)
            return DEFAULT_PORT
        return port
