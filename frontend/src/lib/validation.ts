/** Client-side checks, run as the user types: each node's config against
 * its type's JSON Schema (ajv), and the structural rules that can be seen
 * without the server (unknown type, missing port, no trigger). The server's
 * `/validate/` stays the authority; these only make feedback immediate. */
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import { isValidNodeId } from "./ids";
import { DEFAULT_PORT, portsFor } from "./ports";
import type { Catalog, GraphDocument, GraphEdge, GraphNode, Issue, JSONValue } from "./types";

let ajv: Ajv2020 | null = null;
const compiled = new Map<string, ValidateFunction | null>();

function compile(key: string, schema: object): ValidateFunction | null {
  if (compiled.has(key)) return compiled.get(key)!;
  ajv ??= new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
  let fn: ValidateFunction | null = null;
  try {
    fn = ajv.compile(schema);
  } catch {
    fn = null; // a schema ajv cannot compile is left to the server
  }
  compiled.set(key, fn);
  return fn;
}

function valueAt(root: unknown, pointer: string): unknown {
  let value: any = root;
  for (const part of pointer.split("/").slice(1)) value = value?.[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  return value;
}

function isTemplate(value: unknown): boolean {
  return typeof value === "string" && value.includes("{{");
}

function errorField(error: ErrorObject): string {
  const parts = error.instancePath.split("/").slice(1);
  if (error.keyword === "required") parts.push(String(error.params.missingProperty));
  if (error.keyword === "additionalProperties") parts.push(String(error.params.additionalProperty));
  return ["config", ...parts].join(".");
}

function errorMessage(error: ErrorObject): string {
  switch (error.keyword) {
    case "required":
      return "is required";
    case "additionalProperties":
      return "is not a setting of this node type";
    case "enum":
      return `must be one of: ${(error.params.allowedValues as unknown[]).join(", ")}`;
    default:
      return error.message ?? "is invalid";
  }
}

/** Problems of one node's config. A value that is still a template is
 * checked after rendering, at run time, as the server does. */
export function configIssues(node: GraphNode, catalog: Catalog): Issue[] {
  const type = catalog.get(node.type);
  if (!type) return [];
  const fn = compile(`${type.key}@${type.version}`, type.config_schema ?? {});
  const config = node.config ?? {};
  if (!fn || fn(config)) return [];
  const seen = new Set<string>();
  const issues: Issue[] = [];
  for (const error of fn.errors ?? []) {
    if (["anyOf", "oneOf", "if"].includes(error.keyword)) continue;
    if (isTemplate(valueAt(config, error.instancePath))) continue;
    const field = errorField(error);
    if (seen.has(field)) continue;
    seen.add(field);
    issues.push({ node_id: node.id, field, message: errorMessage(error), level: "error", source: "client" });
  }
  return issues;
}

function issue(node_id: string | null, field: string | null, message: string, level: Issue["level"] = "error"): Issue {
  return { node_id, field, message, level, source: "client" };
}

/** Structure and config checks for the whole graph, keyed by what they name. */
export function graphIssues(doc: Pick<GraphDocument, "nodes" | "edges">, catalog: Catalog): Issue[] {
  const issues: Issue[] = [];
  const byId = new Map<string, GraphNode>();
  for (const node of doc.nodes) {
    if (!isValidNodeId(node.id)) issues.push(issue(node.id, "id", "must start with a letter or _ and use only letters, digits and _"));
    if (byId.has(node.id)) issues.push(issue(node.id, "id", "is used by another node"));
    byId.set(node.id, node);
    if (catalog.size > 0 && !catalog.has(node.type)) issues.push(issue(node.id, "type", `unknown node type "${node.type}"`));
    else issues.push(...configIssues(node, catalog));
  }
  for (const edge of doc.edges) issues.push(...edgeIssues(edge, byId, catalog));
  if (catalog.size > 0 && doc.nodes.length > 0 && !doc.nodes.some((n) => catalog.get(n.type)?.is_trigger)) {
    issues.push(issue(null, null, "The workflow needs a trigger: add one from the Triggers group."));
  }
  return issues;
}

function edgeIssues(edge: GraphEdge, byId: Map<string, GraphNode>, catalog: Catalog): Issue[] {
  const source = byId.get(edge.source);
  if (!source) return [issue(null, "edges", `connection ${edge.id} starts at a missing node "${edge.source}"`)];
  if (!byId.has(edge.target)) return [issue(edge.source, "edges", `connection ${edge.id} ends at a missing node "${edge.target}"`)];
  const type = catalog.get(source.type);
  const port = edge.source_port ?? DEFAULT_PORT;
  if (type && !portsFor(type, source.config).includes(port)) {
    return [issue(edge.source, "edges", `has a connection from output "${port}", which it no longer has`)];
  }
  if (catalog.get(byId.get(edge.target)!.type)?.is_trigger) {
    return [issue(edge.target, "edges", "a trigger cannot have incoming connections")];
  }
  return [];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Checks a file being imported. Returns the graph document, or the reasons
 * it cannot be imported (in words for the person who picked the file). */
export function checkImport(value: unknown, catalog: Catalog): { doc?: GraphDocument; errors: string[] } {
  if (isObject(value) && isObject(value.graph)) value = value.graph;
  if (!isObject(value)) return { errors: ["The file does not hold a workflow (expected a JSON object)."] };
  const errors: string[] = [];
  if (!Array.isArray(value.nodes)) errors.push('The workflow has no "nodes" list.');
  if (value.edges !== undefined && !Array.isArray(value.edges)) errors.push('"edges" must be a list.');
  if (errors.length) return { errors };
  const nodes = value.nodes as unknown[];
  const edges = (value.edges ?? []) as unknown[];
  const ids = new Set<string>();
  nodes.forEach((node, i) => {
    if (!isObject(node) || typeof node.id !== "string" || typeof node.type !== "string") {
      errors.push(`Node ${i + 1} needs a text "id" and "type".`);
      return;
    }
    if (!isValidNodeId(node.id)) errors.push(`Node "${node.id}" has an id that is not allowed.`);
    if (ids.has(node.id)) errors.push(`Two nodes use the id "${node.id}".`);
    ids.add(node.id);
    if (catalog.size > 0 && !catalog.has(node.type)) errors.push(`Node "${node.id}" has an unknown type "${node.type}".`);
    if (node.config !== undefined && !isObject(node.config)) errors.push(`Node "${node.id}" has a config that is not an object.`);
  });
  edges.forEach((edge, i) => {
    if (!isObject(edge) || typeof edge.source !== "string" || typeof edge.target !== "string") {
      errors.push(`Connection ${i + 1} needs a "source" and a "target".`);
      return;
    }
    if (!ids.has(edge.source) || !ids.has(edge.target)) {
      errors.push(`Connection ${String(edge.id ?? i + 1)} links a node that is not in the file.`);
    }
  });
  if (errors.length) return { errors };
  const edgeIds = new Set<string>();
  const doc: GraphDocument = {
    ...(value as Record<string, unknown>),
    version: typeof value.version === "number" ? value.version : 1,
    nodes: nodes as GraphNode[],
    edges: (edges as GraphEdge[]).map((edge, i) => {
      let id = typeof edge.id === "string" && edge.id ? edge.id : `e_${i + 1}`;
      while (edgeIds.has(id)) id = `${id}_${i + 1}`;
      edgeIds.add(id);
      return { ...edge, id };
    }),
  };
  return { doc, errors: [] };
}

export type { JSONValue };
