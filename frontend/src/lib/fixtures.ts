/** A small catalog in the shape of GET /api/v1/node-types/, for tests. */
import type { Catalog, NodeType } from "./types";

function type(key: string, extra: Partial<NodeType> = {}): NodeType {
  return {
    key,
    version: 1,
    category: key.split(".")[0],
    label: key,
    description: "",
    config_schema: { type: "object", properties: {} },
    ports: ["out"],
    dynamic_ports: false,
    error_port: true,
    output_schema: {},
    expression_fields: [],
    is_trigger: false,
    ...extra,
  };
}

export const TYPES: NodeType[] = [
  type("trigger.manual", {
    is_trigger: true,
    error_port: false,
    config_schema: {
      type: "object",
      properties: { input_schema: { anyOf: [{ type: "object" }, { type: "null" }], default: null } },
      additionalProperties: false,
    },
  }),
  type("ai.sentiment", {
    config_schema: { type: "object", properties: { text: { type: "string" } }, required: ["text"], additionalProperties: false },
    output_schema: { type: "object", properties: { label: { type: "string" }, score: { type: "number" } } },
  }),
  type("logic.if", {
    ports: ["true", "false"],
    expression_fields: ["condition"],
    config_schema: { type: "object", properties: { condition: { type: "string" } }, required: ["condition"] },
  }),
  type("logic.switch", {
    ports: ["default"],
    dynamic_ports: true,
    config_schema: {
      type: "object",
      properties: { value: { type: "string" }, cases: { type: "array", items: { type: "string" } } },
      required: ["value"],
    },
  }),
  type("ai.classify", {
    ports: [],
    dynamic_ports: true,
    config_schema: {
      $defs: {
        Category: { type: "object", properties: { name: { type: "string" }, description: { type: "string" } }, required: ["name"] },
      },
      type: "object",
      properties: {
        text: { type: "string" },
        categories: { type: "array", items: { $ref: "#/$defs/Category" } },
        temperature: { anyOf: [{ type: "number", maximum: 2 }, { type: "null" }], default: null },
      },
      required: ["text", "categories"],
    },
  }),
  type("ai.llm", {
    config_schema: {
      type: "object",
      properties: {
        credential: { type: "string" },
        prompt: { type: "string", description: "What to ask" },
        max_tokens: { type: "integer", minimum: 1 },
        response_format: { enum: ["text", "json"], type: "string", default: "text" },
      },
      required: ["prompt"],
    },
    output_schema: {
      type: "object",
      properties: {
        text: { type: "string" },
        usage: { type: "object", properties: { input_tokens: { type: "integer" }, output_tokens: { type: "integer" } } },
      },
    },
  }),
  type("flow.fail", { ports: [], error_port: false }),
];

export const CATALOG: Catalog = new Map(TYPES.map((t) => [t.key, t]));
