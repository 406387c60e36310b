/** JSON Schema helpers for generated forms. Config schemas come from
 * pydantic models: they use `$defs`/`$ref`, and an optional field is an
 * `anyOf` of its type and `null`. `normalizeSchema` turns that into a plain
 * tree that a form can walk. */
import type { JSONSchema } from "./types";

export interface FieldSchema extends JSONSchema {
  nullable?: boolean;
}

const MAX_DEPTH = 8;

function resolveRef(ref: string, root: JSONSchema): JSONSchema | undefined {
  if (!ref.startsWith("#/")) return undefined;
  let target: any = root;
  for (const part of ref.slice(2).split("/")) {
    const key = part.replace(/~1/g, "/").replace(/~0/g, "~");
    target = target?.[key];
    if (target === undefined) return undefined;
  }
  return target;
}

function isNullSchema(s: JSONSchema): boolean {
  return s?.type === "null" || (s && "const" in s && s.const === null);
}

export function normalizeSchema(schema: JSONSchema | undefined, root: JSONSchema = schema ?? {}, depth = 0): FieldSchema {
  if (!schema || typeof schema !== "object") return {};
  if (depth > MAX_DEPTH) return { ...schema };
  let s: FieldSchema = { ...schema };
  if (typeof s.$ref === "string") {
    const { $ref, ...rest } = s;
    const target = resolveRef($ref, root);
    s = { ...normalizeSchema(target, root, depth + 1), ...rest };
  }
  if (Array.isArray(s.allOf) && s.allOf.length === 1) {
    const { allOf, ...rest } = s;
    s = { ...normalizeSchema(allOf[0], root, depth + 1), ...rest };
  }
  for (const key of ["anyOf", "oneOf"] as const) {
    const variants = s[key];
    if (!Array.isArray(variants)) continue;
    const nonNull = variants.filter((v: JSONSchema) => !isNullSchema(v));
    if (nonNull.length === 1) {
      const { [key]: _dropped, ...rest } = s;
      s = { ...normalizeSchema(nonNull[0], root, depth + 1), ...rest, nullable: nonNull.length < variants.length };
    }
  }
  if (Array.isArray(s.type)) {
    const types = s.type.filter((t: string) => t !== "null");
    if (types.length === 1) s = { ...s, type: types[0], nullable: types.length < s.type.length };
  }
  if (s.properties && typeof s.properties === "object") {
    const properties: Record<string, FieldSchema> = {};
    for (const [name, child] of Object.entries(s.properties)) {
      properties[name] = normalizeSchema(child as JSONSchema, root, depth + 1);
    }
    s.properties = properties;
  }
  if (s.items && typeof s.items === "object" && !Array.isArray(s.items)) {
    s.items = normalizeSchema(s.items, root, depth + 1);
  }
  if ("const" in s && !s.enum && s.const !== null) s.enum = [s.const];
  return s;
}

export type FieldKind =
  | "string"
  | "text"
  | "number"
  | "integer"
  | "boolean"
  | "enum"
  | "stringList"
  | "objectList"
  | "object"
  | "json";

const LONG_TEXT = /prompt|system|body|message|instructions|text|description|template/i;

/** Which input a field gets. Unstructured values (free objects, anything
 * without a type) are edited as JSON. */
export function fieldKind(name: string, schema: FieldSchema): FieldKind {
  if (Array.isArray(schema.enum) && schema.enum.every((v) => typeof v === "string" || typeof v === "number")) {
    return "enum";
  }
  switch (schema.type) {
    case "string":
      return LONG_TEXT.test(name) || schema.format === "textarea" ? "text" : "string";
    case "number":
      return "number";
    case "integer":
      return "integer";
    case "boolean":
      return "boolean";
    case "array": {
      const items = schema.items as FieldSchema | undefined;
      if (items?.type === "string" && !items.enum) return "stringList";
      if (items?.type === "object" && items.properties) return "objectList";
      return "json";
    }
    case "object":
      return schema.properties && Object.keys(schema.properties).length > 0 && !schema.additionalProperties
        ? "object"
        : "json";
    default:
      return "json";
  }
}

/** "max_tokens" -> "Max tokens" when the schema has no title. */
export function fieldLabel(name: string, schema: FieldSchema): string {
  if (typeof schema.title === "string" && schema.title.trim()) return schema.title;
  const words = name.replace(/_/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function isCredentialField(name: string, schema: FieldSchema): boolean {
  return schema.format === "credential" || schema["x-widget"] === "credential" || /credential$/.test(name);
}
