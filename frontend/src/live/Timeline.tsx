/**
 * The run's timeline (a Gantt chart): one bar per step visit, from its start
 * to its end (or now, while running), on a shared time axis, so parallel
 * branches show as overlapping bars. Status is named in text too, never by
 * colour alone.
 */
import { useEffect, useState } from "react";
import { statusMeta } from "../lib/status";
import type { Step } from "../lib/types";
import { durationMs } from "./runState";
import "./live.css";

export interface TimelineProps {
  steps: Step[];
  names?: Record<string, string>;
  onSelect?: (nodeId: string) => void;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function Timeline({ steps, names = {}, onSelect }: TimelineProps) {
  const running = steps.some((s) => s.started_at && !s.finished_at);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return;
    const id = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(id);
  }, [running]);

  const started = steps.filter((s) => s.started_at);
  if (!started.length) return <p className="bt-muted bt-timeline-empty">No step has started yet.</p>;
  const t0 = Math.min(...started.map((s) => Date.parse(s.started_at!)));
  const t1 = Math.max(...started.map((s) => (s.finished_at ? Date.parse(s.finished_at) : now)), t0 + 1);
  const span = t1 - t0;
  const rows = [...started].sort((a, b) => Date.parse(a.started_at!) - Date.parse(b.started_at!));
  return (
    <div className="bt-timeline" role="list" aria-label={`Timeline of the run, ${formatMs(span)}`}>
      {rows.map((step) => {
        const meta = statusMeta(step.status);
        const took = durationMs(step, now) ?? 0;
        const left = ((Date.parse(step.started_at!) - t0) / span) * 100;
        const width = Math.max(0.5, (took / span) * 100);
        const name = names[step.node_id] ?? step.node_id;
        const label = `${name}${step.visit > 1 ? ` (visit ${step.visit})` : ""}: ${meta.label}, ${formatMs(took)}`;
        return (
          <div role="listitem" key={`${step.node_id}#${step.visit}`} className="bt-timeline-row">
            <button type="button" className="bt-timeline-name" onClick={() => onSelect?.(step.node_id)} title={label}>
              {name}
            </button>
            <div className="bt-timeline-track">
              <span
                className={`bt-timeline-bar status-${step.status}`}
                style={{ left: `${left}%`, width: `${width}%`, background: meta.color }}
                aria-label={label}
                title={label}
              />
            </div>
            <span className="bt-timeline-took">
              <span aria-hidden="true">{meta.icon}</span> {formatMs(took)}
            </span>
          </div>
        );
      })}
    </div>
  );
}
