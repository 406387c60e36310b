/** Client-side checks, run as the user types: each node's config against
 * its type's JSON Schema, and the structural rules that can be seen without
 * the server (unknown type, missing port, no trigger). The server's
 * `/validate/` stays the authority; these only make feedback immediate.
 *
 * The validator is @cfworker/json-schema, an interpreter: the page's
 * Content-Security-Policy (script-src 'self', no 'unsafe-eval') forbids the
 * generated code that ajv compiles schemas into. */
import { Validator, type OutputUnit } from "@cfworker/json-schema";
import { isValidNodeId } from "./ids";
import { DEFAULT_PORT, portsFor } from "./ports";
import type { Catalog, GraphDocument, GraphEdge, GraphNode, Issue } from "./types";

const validators = new Map<string, Validator | null>();

function validatorFor(key: string, schema: object): Validator | null {
  if (validators.has(key)) return validators.get(key)!;
  let validator: Validator | null = null;
  try {
    validator = new Validator(schema as never, "2020-12", false);
  } catch {
    validator = null; // a schema the client cannot read is left to the server
  }
  validators.set(key, validator);
  return validator;
}

/** Keywords that only say "something below failed"; the leaf error says what. */
const CONTAINER_KEYWORDS = new Set([
  "properties", "items", "prefixItems", "additionalItems", "$ref", "$dynamicRef", "anyOf", "oneOf", "allOf",
  "if", "then", "else", "not", "additionalProperties", "patternProperties", "unevaluatedProperties",
  "unevaluatedItems", "dependentSchemas", "contains", "propertyNames",
]);

function pointerParts(location: string): string[] {
  return location
    .replace(/^#/, "")
    .split("/")
    .slice(1)
    .map((part) => {
      let text = part;
      try {
        text = decodeURIComponent(part);
      } catch {
        /* keep as is */
      }
      return text.replace(/~1/g, "/").replace(/~0/g, "~");
    });
}

function valueAt(root: unknown, parts: string[]): unknown {
  let value: any = root;
  for (const part of parts) value = value?.[part];
  return value;
}

function isTemplate(value: unknown): boolean {
  return typeof value === "string" && value.includes("{{");
}

function plainMessage(unit: OutputUnit): string {
  const text = unit.error;
  switch (unit.keyword) {
    case "required":
      return "is required";
    case "false":
      return "is not a setting of this node type";
    case "type": {
      const expected = /Expected "([^"]+)"/.exec(text)?.[1];
      return expected ? `must be ${expected === "integer" ? "a whole number" : `a ${expected}`}` : "has the wrong type";
    }
    case "enum": {
      const list = /any of (\[.*\])/.exec(text)?.[1];
      try {
        return `must be one of: ${(JSON.parse(list ?? "[]") as unknown[]).join(", ")}`;
      } catch {
        return "is not one of the allowed values";
      }
    }
    case "minLength":
      return /\(0 </.test(text) ? "must not be empty" : text.replace(/^String/, "is");
    default:
      return text.replace(/^Instance /, "value ").replace(/\.$/, "");
  }
}

/** Problems of one node's config. A value that is still a template is
 * checked after rendering, at run time, as the server does. */
export function configIssues(node: GraphNode, catalog: Catalog): Issue[] {
  const type = catalog.get(node.type);
  if (!type) return [];
  const validator = validatorFor(`${type.key}@${type.version}`, type.config_schema ?? {});
  const config = node.config ?? {};
  if (!validator) return [];
  const result = validator.validate(config);
  if (result.valid) return [];
  const seen = new Set<string>();
  const issues: Issue[] = [];
  for (const unit of result.errors) {
    if (CONTAINER_KEYWORDS.has(unit.keyword)) continue;
    // An optional field is `anyOf [T, null]`: "expected null" only restates the other branch.
    if (unit.keyword === "type" && /Expected "null"/.test(unit.error)) continue;
    const parts = pointerParts(unit.instanceLocation);
    if (isTemplate(valueAt(config, parts))) continue;
    if (unit.keyword === "required") {
      const missing = /property "([^"]+)"/.exec(unit.error)?.[1];
      if (missing) parts.push(missing);
    }
    const field = ["config", ...parts].join(".");
    if (seen.has(field)) continue;
    seen.add(field);
    issues.push({ node_id: node.id, field, message: plainMessage(unit), level: "error", source: "client" });
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

