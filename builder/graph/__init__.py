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

The package: ``document`` (limits, the dataclasses, order and cycles),
``issues`` (what validation reports), ``checker`` (validate, parse and the
document, node and edge checks), ``fields`` (single-field checks) and
``structure`` (whole-graph checks). Import from ``builder.graph`` itself.

This package imports nothing from Django.
"""

from __future__ import annotations

from builder.graph.checker import Catalog, parse, validate
from builder.graph.document import (
    DEFAULT_PORT,
    DOCUMENT_KEYS,
    EDGE_ID_RE,
    EDGE_KEYS,
    ERROR_PORT,
    GRAPH_VERSION,
    MAX_ATTEMPTS,
    MAX_BACKOFF_FACTOR,
    MAX_BACKOFF_S,
    MAX_DOCUMENT_BYTES,
    MAX_EDGES,
    MAX_NAME_LENGTH,
    MAX_NODES,
    MAX_NOTES_LENGTH,
    MAX_TIMEOUT_S,
    MAX_VISITS,
    NODE_ID_RE,
    NODE_KEYS,
    POSITION_KEYS,
    RETRY_KEYS,
    Cycle,
    Edge,
    Graph,
    GraphCycleError,
    Join,
    Node,
    RetryPolicy,
)
from builder.graph.issues import GraphInvalid, Issue, Severity, Validation

__all__ = [
    "DEFAULT_PORT",
    "DOCUMENT_KEYS",
    "EDGE_ID_RE",
    "EDGE_KEYS",
    "ERROR_PORT",
    "GRAPH_VERSION",
    "MAX_ATTEMPTS",
    "MAX_BACKOFF_FACTOR",
    "MAX_BACKOFF_S",
    "MAX_DOCUMENT_BYTES",
    "MAX_EDGES",
    "MAX_NAME_LENGTH",
    "MAX_NODES",
    "MAX_NOTES_LENGTH",
    "MAX_TIMEOUT_S",
    "MAX_VISITS",
    "NODE_ID_RE",
    "NODE_KEYS",
    "POSITION_KEYS",
    "RETRY_KEYS",
    "Catalog",
    "Cycle",
    "Edge",
    "Graph",
    "GraphCycleError",
    "GraphInvalid",
    "Issue",
    "Join",
    "Node",
    "RetryPolicy",
    "Severity",
    "Validation",
    "parse",
    "validate",
]
