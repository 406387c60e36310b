/**
 * How an edge looks in the run view, from the steps shown: an edge whose
 * source ended on its port is taken, drawn solid in the success colour and
 * animated ("flowing") only while its target is still queued, waiting or
 * running (the data is on its way in); skipped edges are dimmed. An animated
 * edge is repainted on every frame, so only the run's frontier animates,
 * only while few nodes are active (`busy`, see the store's runBusy), and a
 * finished run animates nothing.
 *
 * Each edge component (LiveEdge.tsx) selects its own state with this
 * function, so a batch of events re-renders only the edges whose state
 * changed, and React Flow's edge list never changes during a run.
 */
import type { Step } from "../lib/types";
import { edgeState } from "./runState";
import "./live.css";

export type EdgeView = "" | "taken" | "flowing" | "skipped";

const ACTIVE = new Set(["queued", "waiting", "running"]);

export function edgeView(
  stepsByNode: Record<string, Step & { port?: string | null }>,
  source: string,
  target: string,
  port: string | null | undefined,
  busy: boolean,
): EdgeView {
  const from = stepsByNode[source];
  if (!from) return "";
  const to = stepsByNode[target];
  const state = edgeState(port ?? "out", from, to);
  if (state === "taken" && !busy && to && ACTIVE.has(to.status)) return "flowing";
  return state ?? "";
}
