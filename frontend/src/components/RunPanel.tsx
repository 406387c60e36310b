import { statusMeta } from "../lib/status";
import type { Step } from "../lib/types";
import { clearRun, useEditor } from "../state/store";
import { RunSummary } from "../live/RunSummary";
import { Timeline } from "../live/Timeline";

export function StatusPill({ status }: { status: string }) {
  const meta = statusMeta(status);
  return (
    <span className="bt-status-pill" style={{ "--pill": meta.color } as React.CSSProperties}>
      <span aria-hidden="true">{meta.icon}</span> {meta.label}
    </span>
  );
}

function Json({ value, label }: { value: unknown; label: string }) {
  if (value === undefined || value === null) return null;
  return (
    <details className="bt-json-view">
      <summary>{label}</summary>
      <pre tabIndex={0}>{JSON.stringify(value, null, 2)}</pre>
    </details>
  );
}

function duration(step: Step): string | null {
  if (!step.started_at || !step.finished_at) return null;
  const ms = Date.parse(step.finished_at) - Date.parse(step.started_at);
  return Number.isFinite(ms) ? (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`) : null;
}

export function StepDetails({ step }: { step: Step }) {
  const took = duration(step);
  const tokens = step.usage ? (step.usage.input_tokens ?? 0) + (step.usage.output_tokens ?? 0) : null;
  return (
    <div className="bt-step" role="region" aria-label="Step of the run">
      <p>
        <StatusPill status={step.status} />
        {step.visit > 1 && <span className="bt-muted"> visit {step.visit}</span>}
        {step.attempts > 0 && <span className="bt-muted"> · {step.attempts} attempt{step.attempts > 1 ? "s" : ""}</span>}
        {took && <span className="bt-muted"> · {took}</span>}
        {tokens ? <span className="bt-muted"> · {tokens} tokens</span> : null}
        {step.cost_usd ? <span className="bt-muted"> · ${step.cost_usd.toFixed(4)}</span> : null}
      </p>
      {step.error ? (
        <p className="bt-field-error">{typeof step.error === "string" ? step.error : String((step.error as { message?: string }).message ?? JSON.stringify(step.error))}</p>
      ) : null}
      <Json value={step.input} label="Input" />
      <Json value={step.output} label="Output" />
    </div>
  );
}

/** The run shown on the canvas: status, counts, result, and a way back. */
export function RunBar() {
  const run = useEditor((s) => s.run);
  const mode = useEditor((s) => s.config.mode);
  if (!run) return null;
  const counts = new Map<string, number>();
  for (const step of run.steps ?? []) counts.set(step.status, (counts.get(step.status) ?? 0) + 1);
  return (
    <section className="bt-runbar" aria-label="Run result" aria-live="polite">
      <strong>{mode === "run" ? "Run" : "Test run"}</strong> <StatusPill status={run.status} /> <RunSummary run={run} />
      <span className="bt-muted">
        {[...counts.entries()].map(([status, n]) => `${n} ${statusMeta(status).label.toLowerCase()}`).join(" · ")}
      </span>
      {run.error ? <span className="bt-field-error">{typeof run.error === "string" ? run.error : JSON.stringify(run.error)}</span> : null}
      {run.output !== undefined && run.output !== null && run.status === "succeeded" && (
        <details className="bt-json-view">
          <summary>Output</summary>
          <pre tabIndex={0}>{JSON.stringify(run.output, null, 2)}</pre>
        </details>
      )}
      {(run.steps ?? []).length > 0 && (
        <details className="bt-json-view" open={mode === "run"}>
          <summary>Timeline</summary>
          <Timeline steps={run.steps} />
        </details>
      )}
      {mode !== "run" && (
        <button type="button" className="bt-button bt-small" onClick={clearRun}>
          Clear run
        </button>
      )}
    </section>
  );
}
