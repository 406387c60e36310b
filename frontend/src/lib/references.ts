/** Rewriting `nodes.<id>` references in config values when ids change
 * (paste with remapped ids, renaming a node). */
import type { JSONValue } from "./types";

const REFERENCE = /(?<![A-Za-z0-9_.])nodes\.([A-Za-z_][A-Za-z0-9_]*)/g;

export function rewriteString(text: string, idMap: Map<string, string>): string {
  if (!text.includes("nodes.")) return text;
  return text.replace(REFERENCE, (match, id: string) => {
    const next = idMap.get(id);
    return next === undefined ? match : `nodes.${next}`;
  });
}

/** A copy of `value` with every string rewritten; unchanged parts keep identity. */
export function rewriteReferences<T extends JSONValue | undefined>(value: T, idMap: Map<string, string>): T {
  if (idMap.size === 0 || value === undefined || value === null) return value;
  if (typeof value === "string") return rewriteString(value, idMap) as T;
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((item) => {
      const next = rewriteReferences(item, idMap);
      if (next !== item) changed = true;
      return next;
    });
    return (changed ? out : value) as T;
  }
  if (typeof value === "object") {
    let changed = false;
    const out: Record<string, JSONValue> = {};
    for (const [key, item] of Object.entries(value)) {
      const next = rewriteReferences(item, idMap);
      if (next !== item) changed = true;
      out[key] = next;
    }
    return (changed ? out : value) as T;
  }
  return value;
}
