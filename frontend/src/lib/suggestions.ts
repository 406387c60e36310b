/** What a template field can refer to: the trigger, the direct input, the
 * run, and the outputs of upstream nodes (`nodes.<id>.output...`), with
 * paths taken from each type's output schema. */
import { normalizeSchema } from "./schema";
import type { Catalog, GraphEdge, GraphNode, JSONSchema } from "./types";

export interface Suggestion {
  path: string;
  detail: string;
}

const MAX_PATH_DEPTH = 3;

/** Dotted paths below `prefix` for the object properties of `schema`. */
export function schemaPaths(schema: JSONSchema | undefined, prefix: string, depth = 0): string[] {
  const s = normalizeSchema(schema ?? {});
  if (depth >= MAX_PATH_DEPTH || s.type === "array" || !s.properties) return [];
  const out: string[] = [];
  for (const [name, child] of Object.entries(s.properties as Record<string, JSONSchema>)) {
    const path = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `${prefix}.${name}` : `${prefix}["${name}"]`;
    out.push(path, ...schemaPaths(child, path, depth + 1));
  }
  return out;
}

/** Ids of the nodes upstream of `nodeId`, nearest first. */
export function upstreamOf(nodeId: string, edges: Pick<GraphEdge, "source" | "target">[]): string[] {
  const incoming = new Map<string, string[]>();
  for (const edge of edges) {
    const list = incoming.get(edge.target) ?? [];
    list.push(edge.source);
    incoming.set(edge.target, list);
  }
  const seen = new Set<string>([nodeId]);
  const order: string[] = [];
  let frontier = [nodeId];
  while (frontier.length) {
    const next: string[] = [];
    for (const id of frontier) {
      for (const source of incoming.get(id) ?? []) {
        if (seen.has(source)) continue;
        seen.add(source);
        order.push(source);
        next.push(source);
      }
    }
    frontier = next;
  }
  return order;
}

/** A node's output schema: a manual trigger outputs its `input_schema`. */
export function outputSchemaOf(node: GraphNode, catalog: Catalog): JSONSchema | undefined {
  const type = catalog.get(node.type);
  const inputSchema = node.config?.input_schema;
  if (type?.is_trigger && inputSchema && typeof inputSchema === "object" && !Array.isArray(inputSchema)) {
    return inputSchema as JSONSchema;
  }
  return type?.output_schema;
}

export function suggestionsFor(
  nodeId: string,
  nodes: GraphNode[],
  edges: Pick<GraphEdge, "source" | "target">[],
  catalog: Catalog,
): Suggestion[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const out: Suggestion[] = [{ path: "trigger", detail: "the run input" }];
  const trigger = nodes.find((n) => catalog.get(n.type)?.is_trigger);
  if (trigger) {
    for (const path of schemaPaths(outputSchemaOf(trigger, catalog), "trigger")) out.push({ path, detail: "run input" });
  }
  out.push({ path: "input", detail: "output of the incoming edge" });
  for (const id of upstreamOf(nodeId, edges)) {
    const node = byId.get(id);
    if (!node) continue;
    const label = node.name || catalog.get(node.type)?.label || node.type;
    const base = `nodes.${id}.output`;
    out.push({ path: base, detail: label });
    for (const path of schemaPaths(outputSchemaOf(node, catalog), base)) out.push({ path, detail: label });
  }
  out.push({ path: "run.id", detail: "this run" }, { path: "run.started_at", detail: "this run" });
  return out;
}

/** The expression being typed at `caret`: inside an open `{{` for
 * templates, or the word under the caret for bare expressions. */
export function tokenAt(text: string, caret: number, bare: boolean): { start: number; token: string } | null {
  const before = text.slice(0, caret);
  if (!bare) {
    const open = before.lastIndexOf("{{");
    if (open < 0 || before.lastIndexOf("}}") > open) return null;
  }
  const match = /[A-Za-z_][A-Za-z0-9_.[\]"]*$/.exec(before);
  if (!match) return bare ? null : { start: caret, token: "" };
  return { start: match.index, token: match[0] };
}

export function filterSuggestions(all: Suggestion[], token: string, limit = 12): Suggestion[] {
  const t = token.toLowerCase();
  const hits = all.filter((s) => s.path.toLowerCase().startsWith(t) && s.path.toLowerCase() !== t);
  if (hits.length < limit) {
    for (const s of all) if (!hits.includes(s) && s.path.toLowerCase().includes(t) && s.path.toLowerCase() !== t) hits.push(s);
  }
  return hits.slice(0, limit);
}
