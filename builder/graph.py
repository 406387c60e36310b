"""The workflow graph document of contract section 1: parse, validate, order.

A graph is plain data: frozen dataclasses built from the JSON document, with
the structural questions the engine and the canvas ask (topological order,
cycles and whether a ``loop`` edge breaks each, reachability). Validation
takes any JSON value, never raises, and collects every problem it finds, each
naming the node, the field and the reason.

Choices made where the contract leaves room:

- Optional node fields may be ``null``, meaning "the default".
- ``type_version`` is resolved at parse time: a node without one gets the
  newest version the catalog has, so a parsed graph pins what was validated.
- Edge problems carry ``node_id=None``, the ``edge_id`` and a field such as
  ``edges[3].source_port``. A node without a usable id is named by position
  (``nodes[2].type``).
- Two edges joining the same port to the same node are an error (they would
  deliver the same output twice).
- An expression that reads ``nodes.<id>`` of a node that is not in the graph
  is an error; of a node that never runs before it, a warning (it reads null).

This module imports nothing from Django.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, Protocol

from builder import expressions

if TYPE_CHECKING:
    from builder.nodes.base import NodeType

GRAPH_VERSION = 1
MAX_NODES = 5_000
MAX_EDGES = 20_000
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
"""Largest raw graph document, in bytes; the API checks it before parsing."""

MAX_ATTEMPTS = 20
MAX_BACKOFF_S = 3_600
MAX_BACKOFF_FACTOR = 10
MAX_TIMEOUT_S = 7 * 24 * 3_600
MAX_VISITS = 1_000
MAX_NAME_LENGTH = 200
MAX_NOTES_LENGTH = 10_000

NODE_ID_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
EDGE_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
DEFAULT_PORT = "out"
ERROR_PORT = "error"

DOCUMENT_KEYS = frozenset({"version", "nodes", "edges"})
NODE_KEYS = frozenset(
    {
        "id",
        "type",
        "type_version",
        "config",
        "retry",
        "timeout_s",
        "join",
        "max_visits",
        "disabled",
        "name",
        "notes",
        "position",
    }
)
EDGE_KEYS = frozenset({"id", "source", "target", "source_port", "loop"})
RETRY_KEYS = frozenset({"max_attempts", "backoff_s", "backoff_factor"})
POSITION_KEYS = frozenset({"x", "y"})

Join = Literal["all", "any"]
_Neighbours = Callable[[str], list[str]]
Severity = Literal["error", "warning"]


class Catalog(Protocol):
    """What validation needs of the node catalog (``builder.nodes.registry``)."""

    def get(self, key: str, version: int | None = None) -> NodeType | None: ...


# --------------------------------------------------------------------------
# The graph


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 1
    backoff_s: float = 0.0
    backoff_factor: float = 2.0

    def delay_after(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(self.backoff_s * self.backoff_factor ** max(attempt - 1, 0))


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    config: Mapping[str, Any] = field(default_factory=dict)
    type_version: int | None = None
    retry: RetryPolicy = RetryPolicy()
    timeout_s: float | None = None
    join: Join = "all"
    max_visits: int = 1
    disabled: bool = False
    name: str = ""
    notes: str = ""
    position: Mapping[str, float] | None = None


@dataclass(frozen=True)
class Edge:
    id: str
    source: str
    target: str
    source_port: str = DEFAULT_PORT
    loop: bool = False


@dataclass(frozen=True)
class Cycle:
    """A strongly connected group of nodes (every node reaches every other).

    ``broken_by_loop`` tells whether the group's ``loop`` edges break every
    cycle in it, i.e. whether it is without cycles once they are removed."""

    node_ids: tuple[str, ...]
    loop_edge_ids: tuple[str, ...]
    broken_by_loop: bool


class GraphCycleError(ValueError):
    """The graph has a cycle without a loop edge, so it has no order."""

    def __init__(self, node_ids: Iterable[str]) -> None:
        self.node_ids = tuple(node_ids)
        super().__init__(
            f"these nodes form a cycle without a loop edge: {', '.join(self.node_ids)}"
        )


@dataclass(frozen=True)
class Graph:
    """A parsed workflow graph. Treat it, and the configs in it, as read-only.

    ``nodes`` keeps document order; ``trigger_ids`` is filled by :func:`parse`
    and :func:`validate` from the catalog."""

    version: int
    nodes: Mapping[str, Node]
    edges: tuple[Edge, ...]
    trigger_ids: tuple[str, ...] = ()

    @cached_property
    def _outgoing(self) -> dict[str, tuple[Edge, ...]]:
        return _group(self.edges, lambda edge: edge.source)

    @cached_property
    def _incoming(self) -> dict[str, tuple[Edge, ...]]:
        return _group(self.edges, lambda edge: edge.target)

    @cached_property
    def _edges_by_id(self) -> dict[str, Edge]:
        return {edge.id: edge for edge in self.edges}

    @cached_property
    def _walks(self) -> dict[tuple[str, str, bool], frozenset[str]]:
        return {}

    def outgoing(self, node_id: str) -> tuple[Edge, ...]:
        return self._outgoing.get(node_id, ())

    def incoming(self, node_id: str) -> tuple[Edge, ...]:
        return self._incoming.get(node_id, ())

    def edge(self, edge_id: str) -> Edge:
        """The edge with that id; KeyError if there is none."""
        return self._edges_by_id[edge_id]

    def triggers(self) -> tuple[Node, ...]:
        return tuple(self.nodes[node_id] for node_id in self.trigger_ids)

    def topological_order(self) -> tuple[str, ...]:
        """Node ids so that every non-loop edge goes forward; ties keep
        document order. Raises GraphCycleError on a cycle without a loop edge."""
        return _topological_order(self)

    def cycles(self) -> tuple[Cycle, ...]:
        """Every group of nodes that lie on a common cycle, counting loop edges."""
        return tuple(_describe_cycle(self, group) for group in _cyclic_groups(self, True))

    def reachable_from(
        self, node_ids: Iterable[str], *, follow_loops: bool = True
    ) -> frozenset[str]:
        """The given nodes and every node a path leads to from them."""
        starts = [node_id for node_id in node_ids if node_id in self.nodes]
        return frozenset(_walk(starts, self._successors(follow_loops)))

    def downstream_of(self, node_id: str, *, follow_loops: bool = False) -> frozenset[str]:
        """Nodes after ``node_id``: what runs again when it is re-visited or
        re-run. Excludes the node itself unless it sits on a followed cycle."""
        return self._cached_walk("down", node_id, follow_loops)

    def upstream_of(self, node_id: str, *, follow_loops: bool = False) -> frozenset[str]:
        """Nodes before ``node_id``: every node with a path to it."""
        return self._cached_walk("up", node_id, follow_loops)

    def _cached_walk(self, direction: str, node_id: str, follow_loops: bool) -> frozenset[str]:
        key = (direction, node_id, follow_loops)
        if key not in self._walks:
            step = self._successors if direction == "down" else self._predecessors
            neighbours = step(follow_loops)
            self._walks[key] = frozenset(_walk(neighbours(node_id), neighbours))
        return self._walks[key]

    def _successors(self, follow_loops: bool) -> _Neighbours:
        return lambda node_id: [
            e.target for e in self.outgoing(node_id) if follow_loops or not e.loop
        ]

    def _predecessors(self, follow_loops: bool) -> _Neighbours:
        return lambda node_id: [
            e.source for e in self.incoming(node_id) if follow_loops or not e.loop
        ]


def _group(edges: Iterable[Edge], key: Callable[[Edge], str]) -> dict[str, tuple[Edge, ...]]:
    grouped: dict[str, list[Edge]] = {}
    for edge in edges:
        grouped.setdefault(key(edge), []).append(edge)
    return {node_id: tuple(group) for node_id, group in grouped.items()}


def _walk(starts: Iterable[str], neighbours: _Neighbours) -> set[str]:
    seen: set[str] = set()
    stack = list(starts)
    while stack:
        node_id = stack.pop()
        if node_id not in seen:
            seen.add(node_id)
            stack.extend(neighbours(node_id))
    return seen


def _topological_order(graph: Graph) -> tuple[str, ...]:
    position = {node_id: i for i, node_id in enumerate(graph.nodes)}
    indegree = dict.fromkeys(graph.nodes, 0)
    for edge in graph.edges:
        if not edge.loop and edge.target in indegree and edge.source in indegree:
            indegree[edge.target] += 1
    ready = [position[node_id] for node_id, degree in indegree.items() if degree == 0]
    heapq.heapify(ready)
    order: list[str] = []
    ids = list(graph.nodes)
    while ready:
        node_id = ids[heapq.heappop(ready)]
        order.append(node_id)
        for edge in graph.outgoing(node_id):
            if not edge.loop and edge.target in indegree:
                indegree[edge.target] -= 1
                if indegree[edge.target] == 0:
                    heapq.heappush(ready, position[edge.target])
    if len(order) < len(ids):
        raise GraphCycleError(node_id for node_id in ids if indegree[node_id] > 0)
    return tuple(order)


def _cyclic_groups(graph: Graph, follow_loops: bool) -> list[list[str]]:
    """Strongly connected groups that contain a cycle, nodes in document order."""
    successors = graph._successors(follow_loops)
    order = {node_id: i for i, node_id in enumerate(graph.nodes)}
    groups = []
    for group in _strongly_connected(list(graph.nodes), successors):
        if len(group) > 1 or group[0] in successors(group[0]):
            groups.append(sorted(group, key=order.__getitem__))
    return sorted(groups, key=lambda group: order[group[0]])


def _strongly_connected(node_ids: list[str], successors: _Neighbours) -> Iterator[list[str]]:
    """Tarjan's algorithm without recursion (graphs may be thousands deep)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    for root in node_ids:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(successors(root)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node_id, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node_id])
                if low[node_id] == index[node_id]:
                    yield _pop_group(stack, on_stack, node_id)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(successors(child))))
            elif child in on_stack:
                low[node_id] = min(low[node_id], index[child])


def _pop_group(stack: list[str], on_stack: set[str], root: str) -> list[str]:
    group = []
    while True:
        node_id = stack.pop()
        on_stack.discard(node_id)
        group.append(node_id)
        if node_id == root:
            return group


def _describe_cycle(graph: Graph, group: list[str]) -> Cycle:
    members = set(group)
    inside = [e for e in graph.edges if e.source in members and e.target in members]
    loops = tuple(e.id for e in inside if e.loop)
    sub = Graph(graph.version, {n: graph.nodes[n] for n in group}, tuple(inside))
    return Cycle(tuple(group), loops, broken_by_loop=not _cyclic_groups(sub, False))


def _cycle_path(graph: Graph, group: list[str]) -> list[Edge]:
    """One concrete cycle of non-loop edges through the group's first node."""
    members = set(group)
    start = group[0]
    parents: dict[str, Edge] = {}
    frontier = deque([start])
    while frontier:
        node_id = frontier.popleft()
        for edge in graph.outgoing(node_id):
            if edge.loop or edge.target not in members:
                continue
            if edge.target == start:
                return _unwind(parents, edge, start)
            if edge.target not in parents:
                parents[edge.target] = edge
                frontier.append(edge.target)
    return []


def _unwind(parents: dict[str, Edge], last: Edge, start: str) -> list[Edge]:
    path = [last]
    node_id = last.source
    while node_id != start:
        path.append(parents[node_id])
        node_id = parents[node_id].source
    return path[::-1]


# --------------------------------------------------------------------------
# Issues


@dataclass(frozen=True)
class Issue:
    node_id: str | None
    field: str
    message: str
    severity: Severity = "error"
    code: str = "invalid"
    edge_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        found = {"node_id": self.node_id, "field": self.field, "message": self.message}
        found["code"] = self.code
        if self.edge_id is not None:
            found["edge_id"] = self.edge_id
        return found


@dataclass(frozen=True)
class Validation:
    valid: bool
    errors: list[Issue]
    warnings: list[Issue]
    graph: Graph | None
    """The parsed graph, when valid (warnings allowed)."""


class GraphInvalid(Exception):
    def __init__(self, errors: list[Issue]) -> None:
        self.errors = errors
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        first = errors[0].message if errors else "invalid graph"
        super().__init__(f"invalid workflow graph: {first}{more}")


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


# --------------------------------------------------------------------------
# Validation


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return _is_int(value)


def _describe(value: Any) -> str:
    """A short, safe rendering of any JSON value for a message."""
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:37] + "...")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if value.bit_length() < 64 else "a very large number"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


@dataclass(frozen=True)
class _Scope:
    """Whose fields are being checked, and how to name them."""

    node_id: str | None
    prefix: str
    label: str
    edge_id: str | None = None

    def field(self, name: str) -> str:
        return f"{self.prefix}{name}" if name else self.prefix.rstrip(".")


@dataclass
class _NodeEntry:
    """A node as far as validation could make it out."""

    node: Node
    index: int
    node_type: NodeType | None
    references: list[tuple[str, str]] = field(default_factory=list)  # (field, node id)


class _Checker:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.entries: dict[str, _NodeEntry] = {}
        self.unknown_trigger_types = False
        self.edge_ids: dict[str, int] = {}
        #: for each structural edge, by id(): its document position and scope
        self.edge_places: dict[int, tuple[int, _Scope]] = {}

    def error(self, scope: _Scope, name: str, message: str, code: str = "invalid") -> None:
        issue = Issue(scope.node_id, scope.field(name), message, "error", code, scope.edge_id)
        self.errors.append(issue)

    def warn(self, scope: _Scope, name: str, message: str, code: str) -> None:
        issue = Issue(scope.node_id, scope.field(name), message, "warning", code, scope.edge_id)
        self.warnings.append(issue)

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

    # -- node fields -------------------------------------------------------

    def retry(self, raw: Any, scope: _Scope) -> RetryPolicy:
        if raw is None:
            return RetryPolicy()
        if not isinstance(raw, Mapping):
            self.error(
                scope,
                "retry",
                f"{scope.label}: retry must be an object with max_attempts, backoff_s and backoff_factor.",
            )
            return RetryPolicy()
        for key in raw:
            if key not in RETRY_KEYS:
                self.error(
                    scope,
                    f"retry.{key}",
                    f"{scope.label}: retry has an unknown key {_describe(key)}.",
                )
        inner = _Scope(scope.node_id, scope.field("retry."), scope.label)
        return RetryPolicy(
            max_attempts=self.bounded_int(raw, "max_attempts", 1, 1, MAX_ATTEMPTS, inner, "retry."),
            backoff_s=self.bounded_number(raw, "backoff_s", 0.0, 0, MAX_BACKOFF_S, inner, "retry."),
            backoff_factor=self.bounded_number(
                raw, "backoff_factor", 2.0, 1, MAX_BACKOFF_FACTOR, inner, "retry."
            ),
        )

    def bounded_int(
        self,
        raw: Mapping[str, Any],
        key: str,
        default: int,
        low: int,
        high: int,
        scope: _Scope,
        shown: str = "",
    ) -> int:
        value = raw.get(key)
        if value is None:
            return default
        if not (_is_int(value) and low <= value <= high):
            self.error(
                scope,
                key,
                f"{scope.label}: {shown}{key} must be an integer from {low} to {high}, got {_describe(value)}.",
            )
            return default
        result: int = value
        return result

    def bounded_number(
        self,
        raw: Mapping[str, Any],
        key: str,
        default: float,
        low: float,
        high: float,
        scope: _Scope,
        shown: str = "",
    ) -> float:
        value = raw.get(key)
        if value is None:
            return default
        if not (_is_number(value) and low <= value <= high):
            self.error(
                scope,
                key,
                f"{scope.label}: {shown}{key} must be a number from {low} to {high}, got {_describe(value)}.",
            )
            return default
        return float(value)

    def timeout(self, value: Any, scope: _Scope) -> float | None:
        if value is None:
            return None
        if not (_is_number(value) and 0 < value <= MAX_TIMEOUT_S):
            self.error(
                scope,
                "timeout_s",
                f"{scope.label}: timeout_s must be a number of seconds above 0 and at most {MAX_TIMEOUT_S} (7 days), got {_describe(value)}.",
            )
            return None
        return float(value)

    def join(self, value: Any, scope: _Scope) -> Join:
        if value is None or value == "all":
            return "all"
        if value == "any":
            return "any"
        self.error(
            scope, "join", f'{scope.label}: join must be "all" or "any", got {_describe(value)}.'
        )
        return "all"

    def boolean(self, raw: Mapping[str, Any], key: str, scope: _Scope) -> bool:
        value = raw.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.error(
                scope, key, f"{scope.label}: {key} must be true or false, got {_describe(value)}."
            )
            return False
        return value

    def text(self, raw: Mapping[str, Any], key: str, limit: int, scope: _Scope) -> str:
        value = raw.get(key)
        if value is None:
            return ""
        if not (isinstance(value, str) and len(value) <= limit):
            self.error(
                scope,
                key,
                f"{scope.label}: {key} must be a string of at most {limit:,} characters.",
            )
            return ""
        return value

    def position(self, value: Any, scope: _Scope) -> Mapping[str, float] | None:
        if value is None:
            return None
        valid = (
            isinstance(value, Mapping)
            and set(value) == POSITION_KEYS
            and all(_is_number(value[key]) for key in POSITION_KEYS)
        )
        if not valid:
            self.error(
                scope,
                "position",
                f"{scope.label}: position must be an object with numbers x and y, got {_describe(value)}.",
            )
            return None
        return {"x": float(value["x"]), "y": float(value["y"])}

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

    # -- structure ---------------------------------------------------------

    def build(self, edges: list[Edge]) -> Graph:
        nodes = {node_id: entry.node for node_id, entry in self.entries.items()}
        triggers = tuple(node_id for node_id, entry in self.entries.items() if _is_trigger(entry))
        return Graph(GRAPH_VERSION, nodes, tuple(edges), triggers)

    def check_structure(self, graph: Graph, root: _Scope) -> None:
        self.check_ports(graph)
        self.check_triggers(graph, root)
        self.check_cycles(graph)
        self.check_loop_edges(graph, _reach_masks(graph, follow_loops=False))
        self.check_reachability(graph)
        self.check_references(graph, _reach_masks(graph, follow_loops=True))

    def place(self, edge: Edge) -> tuple[int, _Scope]:
        return self.edge_places[id(edge)]

    def check_ports(self, graph: Graph) -> None:
        seen: dict[tuple[str, str, str], int] = {}
        for edge in graph.edges:
            index, scope = self.place(edge)
            allowed = self.ports_of(self.entries[edge.source])
            if allowed is not None and edge.source_port not in allowed:
                shown = ", ".join(allowed) or "none"
                message = f"{scope.label} leaves '{edge.source}' from port '{edge.source_port}', which its type does not have (ports: {shown})."
                self.error(scope, "source_port", message, "unknown_port")
            key = (edge.source, edge.source_port, edge.target)
            if key in seen:
                message = f"{scope.label} joins the same port and node as edges[{seen[key]}]."
                self.error(scope, "", message, "duplicate_edge")
            seen.setdefault(key, index)

    def ports_of(self, entry: _NodeEntry) -> list[str] | None:
        """The ports a node may leave from, or None if that cannot be known."""
        if entry.node_type is None:
            return None
        try:
            ports = list(entry.node_type.ports_for(entry.node.config))
        except Exception:  # an invalid config is reported by config_errors already
            return None
        return ports if _is_trigger(entry) else [*ports, ERROR_PORT]

    def check_triggers(self, graph: Graph, root: _Scope) -> None:
        triggers = set(graph.trigger_ids)
        for edge in graph.edges:
            if edge.target in triggers:
                _index, scope = self.place(edge)
                message = f"{scope.label} leads into the trigger '{edge.target}'; triggers start runs and take no incoming edges."
                self.error(scope, "target", message, "edge_into_trigger")
        nodes_unreadable = any(issue.field in ("", "nodes") for issue in self.errors)
        if not triggers and not self.unknown_trigger_types and not nodes_unreadable:
            message = "The graph has no trigger node; add one (such as trigger.manual) so that runs can start."
            self.error(root, "nodes", message, "no_trigger")

    def check_cycles(self, graph: Graph) -> None:
        """Report every cycle without a loop edge, at the edge that closes it."""
        for group in _cyclic_groups(graph, follow_loops=False):
            path = _cycle_path(graph, group)
            closing = path[-1]
            _index, scope = self.place(closing)
            names = _path_text([edge.source for edge in path] + [group[0]])
            message = (
                f"The nodes {names} form a cycle with no loop edge. Mark the edge that goes back "
                f'({scope.label[0].lower()}{scope.label[1:]}) as a loop ("loop": true), or remove it.'
            )
            self.errors.append(
                Issue(group[0], scope.field(""), message, "error", "cycle", scope.edge_id)
            )

    def check_loop_edges(self, graph: Graph, reach: dict[str, int]) -> None:
        bits = _bits(graph)
        for edge in graph.edges:
            closes_cycle = edge.source == edge.target or reach[edge.target] & bits[edge.source]
            if edge.loop and not closes_cycle:
                _index, scope = self.place(edge)
                message = f"{scope.label} is marked as a loop, but '{edge.target}' does not come before '{edge.source}'; a loop edge must go back to an earlier node."
                self.error(scope, "loop", message, "invalid_loop")

    def check_reachability(self, graph: Graph) -> None:
        if not graph.trigger_ids:
            return
        reachable = graph.reachable_from(graph.trigger_ids)
        for node_id in self.entries:
            if node_id not in reachable:
                scope = _Scope(node_id, "", f"Node '{node_id}'")
                message = f"{scope.label} cannot be reached from any trigger, so it never runs."
                self.warn(scope, "", message, "unreachable")

    def check_references(self, graph: Graph, reach: dict[str, int]) -> None:
        bits = _bits(graph)
        for node_id, entry in self.entries.items():
            scope = _Scope(node_id, "", f"Node '{node_id}'")
            for path, ref in entry.references:
                if ref not in graph.nodes:
                    message = f"{scope.label}: {path} reads nodes.{ref}, but the graph has no node '{ref}'."
                    self.error(scope, path, message, "unknown_reference")
                elif not _runs_before(graph, reach, bits, ref, node_id):
                    message = f"{scope.label}: {path} reads nodes.{ref}, but '{ref}' never runs before it, so the value is null."
                    self.warn(scope, path, message, "reference_not_upstream")


def _path_text(node_ids: list[str]) -> str:
    if len(node_ids) > 12:
        node_ids = [*node_ids[:6], "…", *node_ids[-3:]]
    return " → ".join(node_ids)


def _is_trigger(entry: _NodeEntry) -> bool:
    return entry.node_type is not None and bool(entry.node_type.is_trigger)


def _runs_before(
    graph: Graph, reach: dict[str, int], bits: dict[str, int], ref: str, node_id: str
) -> bool:
    """Whether node ``ref`` can have run when ``node_id`` runs (a node reads
    its own output only on a later visit, so only if it sits on a loop)."""
    if ref == node_id:
        return node_id in graph.downstream_of(node_id, follow_loops=True)
    return bool(reach[ref] & bits[node_id])


def _bits(graph: Graph) -> dict[str, int]:
    return {node_id: 1 << i for i, node_id in enumerate(graph.nodes)}


def _reach_masks(graph: Graph, *, follow_loops: bool) -> dict[str, int]:
    """For every node, a bit set of the nodes it reaches (itself included).

    Tarjan's algorithm emits strongly connected groups after every group they
    reach, so one pass fills the sets; big integers make each union cheap,
    which keeps validation of a 5,000-node graph fast whatever its shape."""
    bits = _bits(graph)
    successors = graph._successors(follow_loops)
    reach: dict[str, int] = {}
    for group in _strongly_connected(list(graph.nodes), successors):
        members = set(group)
        mask = 0
        for node_id in group:
            mask |= bits[node_id]
            for child in successors(node_id):
                if child not in members:
                    mask |= reach[child]
        for node_id in group:
            reach[node_id] = mask
    return reach
