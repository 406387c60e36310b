/**
 * The canvas's run view, live: one socket per shown run instead of polling.
 *
 * Step statuses, attempts and timings come straight from the events (folded
 * per animation frame, only changed nodes handed over); inputs, outputs,
 * errors, tokens and cost come from GET /api/v1/runs/{id}/, re-read at most
 * once a second while events arrive and once more when the run ends.
 * While the socket is not live (connecting, or no WebSocket route, e.g. behind
 * a proxy that drops upgrades) the run is re-read every `pollMs` instead.
 *
 * Each frame hands over a bounded number of changed nodes: events arrive
 * in bursts (one per committed transaction, many nodes each), and a frame
 * that re-renders a hundred nodes misses its deadline. The nodes left over
 * go in the next frames, each with its latest state by then (a node that
 * changed again meanwhile is handed over once), so a burst delays some
 * nodes by a few frames instead of dropping frames. The bound adapts to the
 * machine (additive increase, multiplicative decrease): while nodes wait,
 * frames that came late halve it, frames on time raise it.
 */
import type { Run, Step } from "../lib/types";
import { liveUrl, watch, type LiveConnection, type LiveOptions, type LiveState } from "./client";
import { emptyRunState, fold, type LiveRunState } from "./runState";

export interface LiveRunOptions {
  wsBase?: string;
  fetchRun: () => Promise<Run>;
  /** a fresh run from the API; `live`: the socket is delivering the
   * run's events (so its statuses come from them, this run is for details) */
  onRun: (run: Run, live: boolean) => void;
  /** changed steps by node id, straight from the events */
  onSteps: (steps: Record<string, Step>, state: LiveRunState) => void;
  onState?: (state: LiveState, code?: number) => void;
  refreshMs?: number;
  pollMs?: number;
  /** nodes handed over per animation frame at first (then adapted) */
  maxNodesPerFrame?: number;
  /** test seams (socket and frame are passed to the socket client) */
  socket?: LiveOptions["socket"];
  frame?: (callback: () => void) => unknown;
  now?: () => number;
}

/** Nodes handed over per frame, at first and at most/least. Measured in
 * bench/runview: a node's re-render, style and paint cost 0.2-0.4 ms. */
export const MAX_NODES_PER_FRAME = 32;
export const NODES_PER_FRAME_RANGE = [8, 96] as const;
/** A frame later than this after the last (ms) was a dropped one. */
const LATE_FRAME_MS = 22;

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

export function liveRun(runId: string, options: LiveRunOptions): () => void {
  const state = emptyRunState();
  const refreshMs = options.refreshMs ?? 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastRefresh = 0;
  let stopped = false;
  let live = false;

  const refresh = async () => {
    timer = undefined;
    lastRefresh = Date.now();
    try {
      const run = await options.fetchRun();
      if (stopped) return;
      options.onRun(run, live);
      if (TERMINAL.has(run.status)) stop();
    } catch {
      // the next event, poll or the end of the run refreshes again
    }
  };
  const poll = setInterval(() => {
    if (!live && !stopped) void refresh();
  }, options.pollMs ?? 1000);
  const scheduleRefresh = (now: boolean) => {
    if (now) {
      clearTimeout(timer);
      void refresh();
    } else if (timer === undefined) {
      timer = setTimeout(refresh, Math.max(0, lastRefresh + refreshMs - Date.now()));
    }
  };

  // Changed nodes not handed over yet, oldest first.
  const dirty = new Set<string>();
  let budget = options.maxNodesPerFrame ?? MAX_NODES_PER_FRAME;
  const [fewest, most] = NODES_PER_FRAME_RANGE;
  const frame = options.frame ?? requestAnimationFrame;
  const now = options.now ?? (() => performance.now());
  let handing = false;
  let waitedSince: number | null = null; // when nodes were last left waiting
  const handOver = () => {
    handing = false;
    if (stopped) return;
    const at = now();
    if (waitedSince !== null) {
      // The previous frame left nodes waiting and asked for this one.
      budget = at - waitedSince > LATE_FRAME_MS ? Math.max(fewest, budget >> 1) : Math.min(most, budget + 2);
    }
    const steps: Record<string, Step> = {};
    let count = 0;
    for (const id of dirty) {
      if (count === budget) break;
      dirty.delete(id);
      const step = state.steps.get(id);
      if (!step) continue;
      steps[id] = { ...step, status: step.status as Step["status"] };
      count++;
    }
    if (count) options.onSteps(steps, state);
    waitedSince = dirty.size ? at : null;
    if (dirty.size && !handing) {
      handing = true;
      frame(handOver);
    }
  };

  const connection: LiveConnection = watch({
    url: liveUrl(`/ws/runs/${runId}/`, options.wsBase),
    socket: options.socket,
    frame: options.frame,
    onState: (state, code) => {
      live = state === "live";
      options.onState?.(state, code);
    },
    // Called once per frame at most, with every event since the last.
    onEvents: (events) => {
      for (const id of fold(state, events)) if (id !== "run") dirty.add(id);
      if (!handing) handOver();
      scheduleRefresh(state.status !== null && TERMINAL.has(state.status));
    },
  });
  function stop(): void {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    clearInterval(poll);
    connection.stop();
  }
  return stop;
}
