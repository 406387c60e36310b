/** Step and run status: label, icon and token colour, so status never
 * relies on colour alone. */
import type { Step } from "./types";

export interface StatusMeta {
  label: string;
  icon: string;
  /** CSS custom property from tokens.css */
  color: string;
}

export const STATUS_META: Record<string, StatusMeta> = {
  pending: { label: "Pending", icon: "○", color: "var(--status-pending, var(--status-queued))" },
  queued: { label: "Queued", icon: "◷", color: "var(--status-queued)" },
  running: { label: "Running", icon: "▶", color: "var(--status-running)" },
  waiting: { label: "Waiting", icon: "⏸", color: "var(--status-waiting)" },
  succeeded: { label: "Succeeded", icon: "✓", color: "var(--status-succeeded)" },
  failed: { label: "Failed", icon: "✕", color: "var(--status-failed)" },
  skipped: { label: "Skipped", icon: "⤼", color: "var(--status-skipped)" },
  cancelled: { label: "Cancelled", icon: "⊘", color: "var(--status-cancelled)" },
};

export function statusMeta(status: string): StatusMeta {
  return STATUS_META[status] ?? { label: status, icon: "•", color: "var(--color-muted)" };
}

export const TERMINAL_RUN_STATUSES = new Set(["succeeded", "failed", "cancelled"]);

/** The latest visit of each node (a node on a loop has one step per visit). */
export function latestSteps(steps: Step[]): Map<string, Step> {
  const out = new Map<string, Step>();
  for (const step of steps) {
    const seen = out.get(step.node_id);
    if (!seen || step.visit >= seen.visit) out.set(step.node_id, step);
  }
  return out;
}

export function visitsByNode(steps: Step[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const step of steps) out.set(step.node_id, Math.max(out.get(step.node_id) ?? 0, step.visit));
  return out;
}
