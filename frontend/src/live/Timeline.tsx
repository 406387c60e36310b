/**
 * The run's timeline (a Gantt chart): one bar per step visit, from its start
 * to its end (or now, while running), on a shared time axis, so parallel
 * branches show as overlapping bars. Status is named in text too, never by
 * colour alone.
 *
 * A big run has thousands of visits: the list scrolls within a fixed height
 * and only the rows in view (and a few around them) are in the page, so the
 * clock ticking while the run is active re-renders a few dozen rows, not
 * every visit. The times are parsed once per new list of steps.
 */
import { useEffect, useMemo, useRef, useState } from "react";
import { statusMeta } from "../lib/status";
import type { Step } from "../lib/types";
import "./live.css";

export interface TimelineProps {
  steps: Step[];
  names?: Record<string, string>;
  onSelect?: (nodeId: string) => void;
}

/** Height of one row in px (.bt-timeline-row in live.css). */
const ROW_PX = 22;
/** Rows kept in the page above and below the ones in view. */
const OVERSCAN = 8;

interface Row {
  step: Step;
  start: number;
  /** null while running */
  end: number | null;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function rowsOf(steps: Step[]): { rows: Row[]; t0: number; lastEnd: number } {
  const rows: Row[] = [];
  let lastEnd = -Infinity;
  for (const step of steps) {
    if (!step.started_at) continue;
    const start = Date.parse(step.started_at);
    if (!Number.isFinite(start)) continue;
    const end = step.finished_at ? Date.parse(step.finished_at) : null;
    rows.push({ step, start, end: end !== null && Number.isFinite(end) ? end : null });
    if (end !== null && end > lastEnd) lastEnd = end;
  }
  rows.sort((a, b) => a.start - b.start);
  return { rows, t0: rows.length ? rows[0].start : 0, lastEnd };
}

export function Timeline({ steps, names = {}, onSelect }: TimelineProps) {
  const { rows, t0, lastEnd } = useMemo(() => rowsOf(steps), [steps]);
  const running = rows.some((r) => r.end === null);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return;
    const id = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(id);
  }, [running]);

  const list = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 320 });
  useEffect(() => {
    const el = list.current;
    if (!el) return;
    const update = () => setView((v) => (v.top === el.scrollTop && v.height === el.clientHeight ? v : { top: el.scrollTop, height: el.clientHeight }));
    update();
    el.addEventListener("scroll", update, { passive: true });
    const resized = new ResizeObserver(update);
    resized.observe(el);
    return () => {
      el.removeEventListener("scroll", update);
      resized.disconnect();
    };
  }, [rows.length > 0]);

  if (!rows.length) return <p className="bt-muted bt-timeline-empty">No step has started yet.</p>;
  const t1 = Math.max(lastEnd, running ? now : -Infinity, t0 + 1);
  const span = t1 - t0;
  const first = Math.max(0, Math.floor(view.top / ROW_PX) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((view.top + view.height) / ROW_PX) + OVERSCAN);
  return (
    <div ref={list} className="bt-timeline" role="list" aria-label={`Timeline of the run, ${formatMs(span)}`}>
      <div style={{ paddingTop: first * ROW_PX, paddingBottom: (rows.length - last) * ROW_PX }}>
        {rows.slice(first, last).map(({ step, start, end }, i) => {
          const meta = statusMeta(step.status);
          const took = Math.max(0, (end ?? now) - start);
          const left = ((start - t0) / span) * 100;
          const width = Math.max(0.5, (took / span) * 100);
          const name = names[step.node_id] ?? step.node_id;
          const label = `${name}${step.visit > 1 ? ` (visit ${step.visit})` : ""}: ${meta.label}, ${formatMs(took)}`;
          return (
            <div role="listitem" aria-setsize={rows.length} aria-posinset={first + i + 1} key={`${step.node_id}#${step.visit}`} className="bt-timeline-row">
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
    </div>
  );
}
