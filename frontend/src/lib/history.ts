/** Undo/redo as a list of immutable snapshots. Snapshots share structure
 * (unchanged nodes are the same objects), so keeping many is cheap even for
 * large graphs. Edits that arrive in a burst under one `key` (typing in one
 * field) are merged into one step. */

export interface History<T> {
  past: T[];
  present: T;
  future: T[];
  lastKey: string | null;
  lastAt: number;
}

export interface CommitOptions {
  /** Edits with the same key within `mergeWindowMs` form one undo step. */
  key?: string;
  now?: number;
  mergeWindowMs?: number;
  limit?: number;
}

export const DEFAULT_LIMIT = 200;
export const DEFAULT_MERGE_WINDOW_MS = 1200;

export function createHistory<T>(present: T): History<T> {
  return { past: [], present, future: [], lastKey: null, lastAt: 0 };
}

export function commit<T>(history: History<T>, next: T, options: CommitOptions = {}): History<T> {
  if (next === history.present) return history;
  const now = options.now ?? Date.now();
  const key = options.key ?? null;
  const window = options.mergeWindowMs ?? DEFAULT_MERGE_WINDOW_MS;
  const merge = key !== null && key === history.lastKey && now - history.lastAt <= window;
  if (merge) return { ...history, present: next, future: [], lastAt: now };
  const limit = options.limit ?? DEFAULT_LIMIT;
  const past = [...history.past, history.present];
  if (past.length > limit) past.splice(0, past.length - limit);
  return { past, present: next, future: [], lastKey: key, lastAt: now };
}

export function canUndo<T>(history: History<T>): boolean {
  return history.past.length > 0;
}

export function canRedo<T>(history: History<T>): boolean {
  return history.future.length > 0;
}

export function undo<T>(history: History<T>): History<T> {
  if (!canUndo(history)) return history;
  const past = history.past.slice(0, -1);
  const present = history.past[history.past.length - 1];
  return { past, present, future: [history.present, ...history.future], lastKey: null, lastAt: 0 };
}

export function redo<T>(history: History<T>): History<T> {
  if (!canRedo(history)) return history;
  const [present, ...future] = history.future;
  return { past: [...history.past, history.present], present, future, lastKey: null, lastAt: 0 };
}

/** Replace the present without an undo step (e.g. selection changes, or
 * bringing the snapshot up to date after a drag in progress). */
export function replacePresent<T>(history: History<T>, present: T): History<T> {
  return { ...history, present };
}
