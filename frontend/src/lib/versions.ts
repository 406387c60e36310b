/** Published versions as the Versions dialog shows them, and the wording of
 * publishing and restoring. Pure: no React, no DOM, no store. */
import type { GraphDocument } from "./types";

export interface VersionLike {
  version?: number;
  number?: number;
  graph?: GraphDocument | null;
}

/** The version's number (`version`, or the older `number` field); null when neither is a positive integer. */
export function versionNumber(v: VersionLike): number | null {
  const n = v.version ?? v.number;
  return typeof n === "number" && Number.isInteger(n) && n > 0 ? n : null;
}

/** JSON with object keys sorted, so that key order never makes two graphs differ. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Whether two graph documents are the same document (key order aside). */
export function sameGraph(a: GraphDocument | null | undefined, b: GraphDocument | null | undefined): boolean {
  if (!a || !b) return false;
  return canonicalJson(a) === canonicalJson(b);
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "3 nodes, 2 connections" (and ", 1 note" when it has sticky notes). */
export function graphSummary(graph: GraphDocument | null | undefined): string {
  if (!graph || !Array.isArray(graph.nodes)) return "no graph";
  const parts = [plural(graph.nodes.length, "node"), plural(Array.isArray(graph.edges) ? graph.edges.length : 0, "connection")];
  const notes = graph.ui?.notes;
  if (Array.isArray(notes) && notes.length > 0) parts.push(plural(notes.length, "note"));
  return parts.join(", ");
}

/** Why the draft cannot take a version now, or null when it can. */
export function restoreBlockedReason(state: { readOnly: boolean; saveState: string }): string | null {
  if (state.readOnly) return "You can view versions but not change the draft.";
  if (state.saveState === "conflict") return "Resolve the save conflict first (see the top bar): someone else saved a newer draft.";
  return null;
}

/** What the confirmation says before a restore. */
export function restoreQuestion(n: number, version: GraphDocument | null | undefined, draft: GraphDocument | null | undefined): string {
  const what = version ? ` (${graphSummary(version)})` : "";
  const now = draft ? ` Your current draft (${graphSummary(draft)}) is replaced;` : " Your current draft is replaced;";
  return `The draft becomes version ${n}${what}.${now} Undo (Ctrl+Z) brings it back. The published version does not change until you publish.`;
}

/** The toast after a restore: which version, which revision it was saved as, how to go back. */
export function restoredMessage(n: number, outcome: { saved: boolean; revision: number; error?: string | null }): string {
  if (!outcome.saved) {
    return `Version ${n} is on the canvas but the draft is not saved yet${outcome.error ? `: ${outcome.error}` : "."} Undo (Ctrl+Z) brings back what you had.`;
  }
  return `Restored version ${n} into the draft (saved as revision ${outcome.revision}). Undo (Ctrl+Z) brings back what you had.`;
}

/** The toast after publishing, from the API's answer (contract section 4). */
export function publishedMessage(result: { status: string; version?: number | null }): string {
  if (result.status === "published") {
    return result.version ? `Published as version ${result.version}.` : "Published.";
  }
  return "Sent for review: an approver or an admin publishes it. Your draft stays editable; a new request replaces this one.";
}
