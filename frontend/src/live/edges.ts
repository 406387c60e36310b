/**
 * Edges of the run view: taken edges animated, skipped ones dimmed, derived
 * from the steps shown. Returns the same edge objects when nothing changed
 * for them, so React Flow re-renders only what did.
 */
import type { FlowEdge } from "../lib/graph";
import type { Step } from "../lib/types";
import { edgeStates, type LiveStep } from "./runState";
import "./live.css";

const cache = new WeakMap<FlowEdge, { state: string; edge: FlowEdge }>();

export function liveEdges(edges: FlowEdge[], stepsByNode: Record<string, Step & { port?: string | null }>): FlowEdge[] {
  const steps = new Map<string, LiveStep>(Object.entries(stepsByNode));
  if (!steps.size) return edges;
  const states = edgeStates(
    edges.map((e) => ({ id: e.id, source: e.source, target: e.target, source_port: e.sourceHandle ?? undefined })),
    steps,
  );
  return edges.map((edge) => {
    const state = states.get(edge.id) ?? "";
    const seen = cache.get(edge);
    if (seen && seen.state === state) return seen.edge;
    const styled: FlowEdge = state
      ? { ...edge, animated: state === "taken", className: `${edge.className ?? ""} bt-edge-${state}`.trim() }
      : edge;
    cache.set(edge, { state, edge: styled });
    return styled;
  });
}
