/** Conversion between the graph document (contract section 1) and React
 * Flow's nodes and edges. Workflow nodes become React Flow nodes of type
 * "baton"; sticky notes (kept in the document's `ui.notes`) become nodes of
 * type "sticky" whose React Flow id is prefixed with "note:" (a colon never
 * appears in a node id, so the two cannot collide). */
import type { Edge, Node } from "@xyflow/react";
import { DEFAULT_PORT } from "./ports";
import type { GraphDocument, GraphEdge, GraphNode, StickyNote } from "./types";

/** A node without its position (React Flow keeps the position). */
export type NodeSpec = GraphNode;
export type EdgeSpec = Omit<GraphEdge, "id" | "source" | "target" | "source_port">;

export type BatonNodeData = { spec: NodeSpec };
export type StickyNodeData = { text: string };
export type BatonEdgeData = { spec: EdgeSpec };

export type BatonFlowNode = Node<BatonNodeData, "baton">;
export type StickyFlowNode = Node<StickyNodeData, "sticky">;
export type FlowNode = BatonFlowNode | StickyFlowNode;
export type FlowEdge = Edge<BatonEdgeData>;

export const NOTE_PREFIX = "note:";
export const NODE_WIDTH = 240;
/** Until the store computes the real one from the ports (lib/handles.ts). */
export const NODE_HEIGHT_ESTIMATE = 102;
export const DEFAULT_NOTE_SIZE = { width: 220, height: 140 };

export interface FlowState {
  nodes: FlowNode[];
  edges: FlowEdge[];
}

export function isStickyNode(node: FlowNode): node is StickyFlowNode {
  return node.type === "sticky";
}

export function isBatonNode(node: FlowNode): node is BatonFlowNode {
  return node.type === "baton";
}

export function emptyGraph(): GraphDocument {
  return { version: 1, nodes: [], edges: [] };
}

export function nodeToFlow(node: GraphNode, fallback: { x: number; y: number }): BatonFlowNode {
  const { position, ...spec } = node;
  const valid = position && Number.isFinite(position.x) && Number.isFinite(position.y);
  return {
    id: node.id,
    type: "baton",
    position: valid ? { x: position.x, y: position.y } : fallback,
    // A size before measuring: lets fit-view and culling (onlyRenderVisibleElements)
    // work for nodes that were never mounted.
    initialWidth: NODE_WIDTH,
    initialHeight: NODE_HEIGHT_ESTIMATE,
    data: { spec },
  };
}

export function noteToFlow(note: StickyNote): StickyFlowNode {
  const size = note.size ?? DEFAULT_NOTE_SIZE;
  return {
    id: NOTE_PREFIX + note.id,
    type: "sticky",
    position: { x: note.position?.x ?? 0, y: note.position?.y ?? 0 },
    width: size.width,
    height: size.height,
    zIndex: -1,
    handles: [],
    data: { text: note.text ?? "" },
  };
}

export function edgeToFlow(edge: GraphEdge): FlowEdge {
  const { id, source, target, source_port, ...spec } = edge;
  return {
    id,
    source,
    target,
    sourceHandle: source_port ?? DEFAULT_PORT,
    targetHandle: null,
    data: { spec },
    ...(spec.loop ? { label: "loop", className: "edge-loop" } : {}),
  };
}

/** Nodes without a position get a provisional place on a grid; the caller
 * may run the auto-layout when `missingPositions` is true. */
export function graphToFlow(doc: GraphDocument): FlowState & { missingPositions: boolean } {
  let missingPositions = false;
  const nodes: FlowNode[] = doc.nodes.map((node, index) => {
    if (!node.position) missingPositions = true;
    return nodeToFlow(node, { x: (index % 8) * 260, y: Math.floor(index / 8) * 160 });
  });
  for (const note of doc.ui?.notes ?? []) nodes.push(noteToFlow(note));
  const edges = doc.edges.map(edgeToFlow);
  return { nodes, edges, missingPositions };
}

function round(value: number): number {
  return Math.round(value);
}

export function flowNodeToGraph(node: BatonFlowNode): GraphNode {
  return { ...node.data.spec, id: node.id, position: { x: round(node.position.x), y: round(node.position.y) } };
}

export function flowNoteToGraph(node: StickyFlowNode): StickyNote {
  const width = node.width ?? node.measured?.width ?? DEFAULT_NOTE_SIZE.width;
  const height = node.height ?? node.measured?.height ?? DEFAULT_NOTE_SIZE.height;
  return {
    id: node.id.slice(NOTE_PREFIX.length),
    text: node.data.text,
    position: { x: round(node.position.x), y: round(node.position.y) },
    size: { width: round(width), height: round(height) },
  };
}

export function flowEdgeToGraph(edge: FlowEdge): GraphEdge {
  const port = edge.sourceHandle ?? DEFAULT_PORT;
  const out: GraphEdge = { id: edge.id, source: edge.source, target: edge.target };
  if (port !== DEFAULT_PORT) out.source_port = port;
  return { ...out, ...(edge.data?.spec ?? {}) };
}

/** The graph document for the canvas state. Top-level keys of `base` that the
 * canvas does not know are kept, so a newer server's additions survive. */
export function flowToGraph(state: FlowState, base: GraphDocument = emptyGraph()): GraphDocument {
  const nodes: GraphNode[] = [];
  const notes: StickyNote[] = [];
  for (const node of state.nodes) {
    if (isStickyNode(node)) notes.push(flowNoteToGraph(node));
    else if (isBatonNode(node)) nodes.push(flowNodeToGraph(node));
  }
  const doc: GraphDocument = { ...base, version: base.version ?? 1, nodes, edges: state.edges.map(flowEdgeToGraph) };
  const { notes: _old, ...otherUi } = base.ui ?? {};
  if (notes.length > 0) doc.ui = { ...otherUi, notes };
  else if (Object.keys(otherUi).length > 0) doc.ui = otherUi;
  else delete doc.ui;
  return doc;
}
