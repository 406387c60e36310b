/**
 * The canvas's run view, live: one socket per shown run instead of polling.
 *
 * Step statuses, attempts and timings come straight from the events (folded
 * per animation frame, only changed nodes handed over); inputs, outputs,
 * errors, tokens and cost come from GET /api/v1/runs/{id}/, re-read at most
 * once a second while events arrive and once more when the run ends.
 * While the socket is not live (connecting, or no WebSocket route, e.g. behind
 * a proxy that drops upgrades) the run is re-read every `pollMs` instead.
 */
import type { Run, Step } from "../lib/types";
import { liveUrl, watch, type LiveConnection, type LiveState } from "./client";
import { emptyRunState, fold, type LiveRunState } from "./runState";

export interface LiveRunOptions {
  wsBase?: string;
  fetchRun: () => Promise<Run>;
  /** a fresh run from the API */
  onRun: (run: Run) => void;
  /** changed steps by node id, straight from the events */
  onSteps: (steps: Record<string, Step>, state: LiveRunState) => void;
  onState?: (state: LiveState, code?: number) => void;
  refreshMs?: number;
  pollMs?: number;
}

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
      options.onRun(run);
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

  const connection: LiveConnection = watch({
    url: liveUrl(`/ws/runs/${runId}/`, options.wsBase),
    onState: (state, code) => {
      live = state === "live";
      options.onState?.(state, code);
    },
    onEvents: (events) => {
      const changed = fold(state, events);
      const steps: Record<string, Step> = {};
      for (const id of changed) {
        const step = state.steps.get(id);
        if (step) steps[id] = { ...step, status: step.status as Step["status"] };
      }
      if (Object.keys(steps).length) options.onSteps(steps, state);
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
