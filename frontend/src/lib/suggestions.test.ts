import { describe, expect, it } from "vitest";
import { CATALOG } from "./fixtures";
import { filterSuggestions, schemaPaths, suggestionsFor, tokenAt, upstreamOf } from "./suggestions";
import type { GraphEdge, GraphNode } from "./types";

const NODES: GraphNode[] = [
  {
    id: "start",
    type: "trigger.manual",
    config: { input_schema: { type: "object", properties: { message: { type: "string" }, customer: { type: "object", properties: { email: { type: "string" } } } } } },
  },
  { id: "mood", type: "ai.sentiment" },
  { id: "draft", type: "ai.llm" },
  { id: "side", type: "ai.llm" },
  { id: "after", type: "ai.llm" },
];
const EDGES: GraphEdge[] = [
  { id: "e1", source: "start", target: "mood" },
  { id: "e2", source: "mood", target: "draft" },
  { id: "e3", source: "start", target: "side" },
  { id: "e4", source: "draft", target: "after" },
];

describe("upstream paths", () => {
  it("finds every ancestor, nearest first", () => {
    expect(upstreamOf("draft", EDGES)).toEqual(["mood", "start"]);
    expect(upstreamOf("start", EDGES)).toEqual([]);
  });

  it("terminates on cycles", () => {
    expect(upstreamOf("a", [{ source: "b", target: "a" }, { source: "a", target: "b" }])).toEqual(["b"]);
  });

  it("lists schema paths, nested", () => {
    const schema = { type: "object", properties: { text: { type: "string" }, usage: { type: "object", properties: { input_tokens: {} } }, "odd key": {} } };
    expect(schemaPaths(schema, "nodes.x.output")).toEqual([
      "nodes.x.output.text",
      "nodes.x.output.usage",
      "nodes.x.output.usage.input_tokens",
      'nodes.x.output["odd key"]',
    ]);
  });

  it("suggests upstream outputs but not downstream or sibling nodes", () => {
    const paths = suggestionsFor("draft", NODES, EDGES, CATALOG).map((s) => s.path);
    expect(paths).toContain("nodes.mood.output.label");
    expect(paths).toContain("nodes.mood.output.score");
    expect(paths).toContain("nodes.start.output.message");
    expect(paths).toContain("trigger.customer.email");
    expect(paths).toContain("input");
    expect(paths.some((p) => p.startsWith("nodes.side"))).toBe(false);
    expect(paths.some((p) => p.startsWith("nodes.after"))).toBe(false);
    expect(paths.some((p) => p.startsWith("nodes.draft"))).toBe(false);
  });
});

describe("typing a reference", () => {
  it("finds the token inside an open template", () => {
    expect(tokenAt("Hi {{ nodes.mo", 14, false)).toEqual({ start: 6, token: "nodes.mo" });
    expect(tokenAt("Hi {{ ", 6, false)).toEqual({ start: 6, token: "" });
    expect(tokenAt("Hi {{ x }} there", 16, false)).toBeNull();
    expect(tokenAt("plain text", 5, false)).toBeNull();
  });

  it("finds the word in a bare expression", () => {
    expect(tokenAt("nodes.mood.output.label == 'neg", 10, true)).toEqual({ start: 0, token: "nodes.mood" });
    expect(tokenAt("a == ", 5, true)).toBeNull();
  });

  it("filters by prefix first", () => {
    const all = [{ path: "trigger", detail: "" }, { path: "nodes.mood.output", detail: "" }, { path: "nodes.mood.output.label", detail: "" }];
    expect(filterSuggestions(all, "nodes.mood.o").map((s) => s.path)).toEqual(["nodes.mood.output", "nodes.mood.output.label"]);
    expect(filterSuggestions(all, "label").map((s) => s.path)).toEqual(["nodes.mood.output.label"]);
  });
});
