/**
 * A run's live state folded from its events: the latest visit of each node
 * with status, start, finish and attempt, and the run's own status. Folding
 * returns the ids of the nodes that changed, so only those re-render.
 */
import type { LiveEvent } from "./client";

export interface LiveStep {
  node_id: string;
  visit: number;
  status: string;
  attempts: number;
  port?: string | null;
  started_at?: string | null;
  finished_at?: string | null;
}

export interface LiveRunState {
  status: string | null;
  started_at: string | null;
  finished_at: string | null;
  steps: Map<string, LiveStep>;
  /** every visit, for the timeline: key `${node}#${visit}` */
  visits: Map<string, LiveStep>;
}

const FINISHED = new Set(["succeeded", "failed", "skipped", "cancelled"]);

export function emptyRunState(): LiveRunState {
  return { status: null, started_at: null, finished_at: null, steps: new Map(), visits: new Map() };
}

/** Apply events in order; returns the node ids whose latest visit changed (and "run"). */
export function fold(state: LiveRunState, events: LiveEvent[]): Set<string> {
  const changed = new Set<string>();
  for (const event of events) {
    if (event.kind === "run") {
      state.status = event.status;
      if (event.status === "running" && !state.started_at) state.started_at = event.at;
      if (FINISHED.has(event.status)) state.finished_at = event.at;
      changed.add("run");
      continue;
    }
    if (!event.node_id) continue;
    const visit = event.visit ?? 1;
    const key = `${event.node_id}#${visit}`;
    const old = state.visits.get(key);
    const step: LiveStep = {
      node_id: event.node_id,
      visit,
      status: event.status,
      attempts: typeof event.attempt === "number" ? event.attempt : old?.attempts ?? 0,
      port: typeof event.port === "string" ? event.port : old?.port ?? null,
      started_at: event.status === "running" ? old?.started_at ?? event.at : old?.started_at ?? null,
      finished_at: FINISHED.has(event.status) ? event.at : null,
    };
    state.visits.set(key, step);
    const latest = state.steps.get(event.node_id);
    if (!latest || visit >= latest.visit) {
      state.steps.set(event.node_id, step);
      changed.add(event.node_id);
    }
  }
  return changed;
}

export function durationMs(step: { started_at?: string | null; finished_at?: string | null }, now = Date.now()): number | null {
  if (!step.started_at) return null;
  const end = step.finished_at ? Date.parse(step.finished_at) : now;
  const ms = end - Date.parse(step.started_at);
  return Number.isFinite(ms) ? Math.max(0, ms) : null;
}

export interface EdgeLike {
  id: string;
  source: string;
  target: string;
  source_port?: string;
}

/** The fields of a step that decide its edges' states. */
export interface EdgeEnd {
  status: string;
  port?: string | null;
}

/** An edge's state from its source and target steps: "taken" when the
 * source ended on the edge's port and the target ran; "skipped" when the
 * target was skipped or the source ended on another port; null otherwise. */
export function edgeState(port: string, source: EdgeEnd | undefined, target: EdgeEnd | undefined): "taken" | "skipped" | null {
  if (!source || !FINISHED.has(source.status)) return null;
  if (source.status === "skipped" || target?.status === "skipped" || (source.port && source.port !== port)) return "skipped";
  if (target && (source.port === port || !source.port)) return "taken";
  return null;
}

/** The states of `edges` (see edgeState). */
export function edgeStates(edges: EdgeLike[], steps: Map<string, LiveStep>): Map<string, "taken" | "skipped"> {
  const out = new Map<string, "taken" | "skipped">();
  for (const edge of edges) {
    const state = edgeState(edge.source_port ?? "out", steps.get(edge.source), steps.get(edge.target));
    if (state) out.set(edge.id, state);
  }
  return out;
}
