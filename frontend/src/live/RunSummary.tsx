/**
 * The run header's numbers: duration (ticking while the run is active), who
 * started it, the version, tokens and cost, from GET /api/v1/runs/{id}/.
 */
import { useEffect, useState } from "react";
import type { Run } from "../lib/types";
import { durationMs } from "./runState";

type RunDetail = Run & {
  started_by?: string | null;
  usage?: { input_tokens?: number; output_tokens?: number } | null;
  cost_usd?: number | null;
  created_at?: string | null;
};

const ACTIVE = new Set(["queued", "running", "waiting"]);

function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

export function RunSummary({ run }: { run: RunDetail }) {
  const active = ACTIVE.has(run.status);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const id = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(id);
  }, [active]);
  const took = durationMs({ started_at: run.started_at, finished_at: active ? null : run.finished_at }, now);
  const tokens = (run.usage?.input_tokens ?? 0) + (run.usage?.output_tokens ?? 0);
  const parts = [
    took !== null ? formatMs(took) : null,
    run.started_by ? `started by ${run.started_by}` : null,
    run.version !== undefined && run.version !== null ? (run.version === "draft" ? "draft" : `v${run.version}`) : null,
    tokens ? `${tokens.toLocaleString()} tokens` : null,
    run.cost_usd ? `$${run.cost_usd.toFixed(4)}` : null,
  ].filter(Boolean);
  if (!parts.length) return null;
  return <span className="bt-muted bt-run-summary">{parts.join(" · ")}</span>;
}
