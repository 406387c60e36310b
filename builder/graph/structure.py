"""Whole-graph validation, run once every node and edge has been read: ports,
triggers, cycles without a loop edge, loop edges that go nowhere back,
reachability from the triggers and references to nodes that never run
before the reader. A mixin of the checker."""

from __future__ import annotations

from builder.graph.document import (
    ERROR_PORT,
    GRAPH_VERSION,
    Edge,
    Graph,
    _cycle_path,
    _cyclic_groups,
    _strongly_connected,
)
from builder.graph.fields import _NodeEntry, _Reporter, _Scope
from builder.graph.issues import Issue


class _StructureChecks(_Reporter):
    """Checks of the graph as a whole; the checker provides the state declared here."""

    entries: dict[str, _NodeEntry]
    unknown_trigger_types: bool
    edge_places: dict[int, tuple[int, _Scope]]

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
