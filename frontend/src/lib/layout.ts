/** Auto-layout with dagre: left to right, following the edges. */
import dagre from "@dagrejs/dagre";
import type { Position } from "./types";

export interface LayoutBox {
  id: string;
  width: number;
  height: number;
}

export function layoutPositions(
  boxes: LayoutBox[],
  edges: { source: string; target: string; loop?: boolean }[],
  options: { rankSep?: number; nodeSep?: number } = {},
): Map<string, Position> {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "LR", ranksep: options.rankSep ?? 90, nodesep: options.nodeSep ?? 40, marginx: 0, marginy: 0 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(boxes.map((b) => b.id));
  for (const box of boxes) g.setNode(box.id, { width: box.width, height: box.height });
  edges.forEach((edge, i) => {
    // Loop edges point backwards; leaving them out keeps the main flow left to right.
    if (edge.loop || !ids.has(edge.source) || !ids.has(edge.target)) return;
    g.setEdge(edge.source, edge.target, {}, `e${i}`);
  });
  dagre.layout(g);
  const out = new Map<string, Position>();
  for (const box of boxes) {
    const n = g.node(box.id);
    if (n) out.set(box.id, { x: Math.round(n.x - box.width / 2), y: Math.round(n.y - box.height / 2) });
  }
  return out;
}
