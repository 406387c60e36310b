/** Copy and paste as graph JSON. The clipboard holds an ordinary graph
 * document fragment, so a selection pasted into another workflow (or into a
 * text editor and back) keeps working. Pasting gives colliding ids fresh
 * ones and rewrites `nodes.<id>` references among the pasted nodes. */
import { flowEdgeToGraph, flowNodeToGraph, flowNoteToGraph, isBatonNode, isStickyNode, type FlowState } from "./graph";
import { idStem, isValidNodeId, newEdgeId, uniqueId } from "./ids";
import { rewriteReferences } from "./references";
import type { GraphDocument, GraphEdge, GraphNode, JSONObject, Position, StickyNote } from "./types";

export const CLIPBOARD_KIND = "baton.graph-fragment";

/** The selected nodes and notes, with the edges between selected nodes. */
export function selectionToDocument(state: FlowState, onlyIds?: Set<string>): GraphDocument {
  const picked = state.nodes.filter((n) => (onlyIds ? onlyIds.has(n.id) : n.selected));
  const ids = new Set(picked.map((n) => n.id));
  const nodes = picked.filter(isBatonNode).map(flowNodeToGraph);
  const notes = picked.filter(isStickyNode).map(flowNoteToGraph);
  const edges = state.edges.filter((e) => ids.has(e.source) && ids.has(e.target)).map(flowEdgeToGraph);
  const doc: GraphDocument = { version: 1, nodes, edges };
  if (notes.length) doc.ui = { notes };
  return doc;
}

export function serializeClipboard(doc: GraphDocument): string {
  return JSON.stringify({ kind: CLIPBOARD_KIND, ...doc }, null, 2);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A graph document from clipboard text (a fragment, a whole graph, or a
 * workflow with a `graph` key), or null when the text is not one. */
export function parseClipboard(text: string): GraphDocument | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (isObject(value) && isObject(value.graph)) value = value.graph;
  if (!isObject(value) || !Array.isArray(value.nodes)) return null;
  const nodes = value.nodes.filter(
    (n): n is GraphNode => isObject(n) && typeof n.id === "string" && typeof n.type === "string",
  );
  const edges = (Array.isArray(value.edges) ? value.edges : []).filter(
    (e): e is GraphEdge => isObject(e) && typeof e.source === "string" && typeof e.target === "string",
  );
  const ui = isObject(value.ui) ? value.ui : undefined;
  const notes = (Array.isArray(ui?.notes) ? ui.notes : []).filter(
    (n): n is StickyNote => isObject(n) && typeof n.id === "string",
  );
  if (nodes.length === 0 && notes.length === 0) return null;
  return { version: 1, nodes, edges, ...(notes.length ? { ui: { notes } } : {}) };
}

export interface PasteTaken {
  nodeIds: Set<string>;
  edgeIds: Set<string>;
  noteIds: Set<string>;
}

export interface PastePlacement {
  /** Put the fragment's top-left corner here... */
  at?: Position;
  /** ...or shift it by this much from where it was copied. */
  offset?: number;
}

export interface PasteResult {
  nodes: GraphNode[];
  edges: GraphEdge[];
  notes: StickyNote[];
  idMap: Map<string, string>;
}

function topLeft(doc: GraphDocument): Position {
  const points = [...doc.nodes.map((n) => n.position), ...(doc.ui?.notes ?? []).map((n) => n.position)].filter(
    (p): p is Position => !!p && Number.isFinite(p.x) && Number.isFinite(p.y),
  );
  if (points.length === 0) return { x: 0, y: 0 };
  return { x: Math.min(...points.map((p) => p.x)), y: Math.min(...points.map((p) => p.y)) };
}

/** Nodes, edges and notes ready to add to a graph whose ids are `taken`. */
export function preparePaste(doc: GraphDocument, taken: PasteTaken, placement: PastePlacement = {}): PasteResult {
  const nodeIds = new Set(taken.nodeIds);
  const edgeIds = new Set(taken.edgeIds);
  const noteIds = new Set(taken.noteIds);
  const idMap = new Map<string, string>();
  for (const node of doc.nodes) {
    const stem = isValidNodeId(node.id) ? node.id : idStem(node.id);
    idMap.set(node.id, uniqueId(stem, nodeIds));
  }
  const renamed = new Map([...idMap].filter(([from, to]) => from !== to));
  const origin = topLeft(doc);
  const shift = placement.at
    ? { x: placement.at.x - origin.x, y: placement.at.y - origin.y }
    : { x: placement.offset ?? 40, y: placement.offset ?? 40 };
  const move = (p: Position | undefined): Position => ({
    x: Math.round((p?.x ?? origin.x) + shift.x),
    y: Math.round((p?.y ?? origin.y) + shift.y),
  });
  const nodes = doc.nodes.map((node) => ({
    ...node,
    id: idMap.get(node.id)!,
    position: move(node.position),
    config: rewriteReferences((node.config ?? {}) as JSONObject, renamed),
  }));
  const edges = doc.edges
    .filter((e) => idMap.has(e.source) && idMap.has(e.target))
    .map((edge) => {
      const id = edge.id && !edgeIds.has(edge.id) ? edge.id : newEdgeId(edgeIds);
      edgeIds.add(id);
      return { ...edge, id, source: idMap.get(edge.source)!, target: idMap.get(edge.target)! };
    });
  const notes = (doc.ui?.notes ?? []).map((note) => ({
    ...note,
    id: uniqueId(note.id || "note_1", noteIds),
    position: move(note.position),
  }));
  return { nodes, edges, notes, idMap };
}
