"""The graph itself: document limits and keys, the frozen dataclasses a parsed
document becomes (RetryPolicy, Node, Edge, Graph) and the structural
algorithms the engine and validation share (topological order, strongly
connected groups, cycles, walks). Imports nothing from Django."""

from __future__ import annotations

import heapq
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

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

DOCUMENT_KEYS = frozenset({"version", "nodes", "edges", "ui"})
"""``ui`` holds what only the canvas reads (sticky notes, viewport); it never
changes execution."""
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
