import { describe, expect, it } from "vitest";
import { CATALOG } from "./fixtures";
import { layoutPositions } from "./layout";
import { normalizeSchema, fieldKind } from "./schema";
import { checkImport, configIssues, graphIssues } from "./validation";

describe("client-side config checks", () => {
  it("reports missing required fields by path", () => {
    const issues = configIssues({ id: "d", type: "ai.llm", config: {} }, CATALOG);
    expect(issues.map((i) => [i.field, i.message])).toEqual([["config.prompt", "is required"]]);
  });

  it("reports wrong types and enum values, and skips templates", () => {
    const issues = configIssues({ id: "d", type: "ai.llm", config: { prompt: "x", max_tokens: "{{ trigger.n }}", response_format: "xml" } }, CATALOG);
    expect(issues.map((i) => i.field)).toEqual(["config.response_format"]);
    expect(issues[0].message).toContain("text, json");
    const bad = configIssues({ id: "d", type: "ai.llm", config: { prompt: "x", max_tokens: 0 } }, CATALOG);
    expect(bad.map((i) => i.field)).toEqual(["config.max_tokens"]);
  });

  it("follows $ref and nullable fields", () => {
    const issues = configIssues({ id: "c", type: "ai.classify", config: { text: "x", categories: [{ description: "no name" }], temperature: 5 } }, CATALOG);
    expect(issues.map((i) => i.field).sort()).toEqual(["config.categories.0.name", "config.temperature"]);
  });

  it("checks the graph: trigger, unknown types, missing ports", () => {
    const issues = graphIssues(
      {
        nodes: [
          { id: "a", type: "logic.if", config: { condition: "true" } },
          { id: "b", type: "no.such" },
        ],
        edges: [{ id: "e1", source: "a", target: "b", source_port: "maybe" }],
      },
      CATALOG,
    );
    expect(issues.map((i) => [i.node_id, i.field])).toEqual([
      ["b", "type"],
      ["a", "edges"],
      [null, null],
    ]);
  });
});

describe("import checks", () => {
  it("accepts a graph or a workflow export", () => {
    const graph = { version: 1, nodes: [{ id: "a", type: "trigger.manual" }], edges: [] };
    expect(checkImport(graph, CATALOG).doc?.nodes.length).toBe(1);
    expect(checkImport({ name: "x", graph }, CATALOG).doc?.nodes.length).toBe(1);
  });

  it("refuses malformed files with reasons", () => {
    expect(checkImport([], CATALOG).errors.length).toBe(1);
    expect(checkImport({ nodes: "x" }, CATALOG).errors[0]).toContain("nodes");
    const errors = checkImport(
      { nodes: [{ id: "a", type: "ai.llm" }, { id: "a", type: "nope" }, { id: "1x", type: "ai.llm" }], edges: [{ source: "a", target: "zzz" }] },
      CATALOG,
    ).errors;
    expect(errors).toHaveLength(4);
  });

  it("gives edges without ids one", () => {
    const doc = checkImport({ nodes: [{ id: "a", type: "trigger.manual" }, { id: "b", type: "ai.llm" }], edges: [{ source: "a", target: "b" }] }, CATALOG).doc!;
    expect(doc.edges[0].id).toBe("e_1");
  });
});

describe("schemas for forms", () => {
  it("collapses pydantic optionals and resolves refs", () => {
    const schema = normalizeSchema(CATALOG.get("ai.classify")!.config_schema);
    expect(schema.properties.temperature).toMatchObject({ type: "number", nullable: true });
    expect(schema.properties.categories.items.properties.name.type).toBe("string");
    expect(fieldKind("categories", schema.properties.categories)).toBe("objectList");
    expect(fieldKind("prompt", { type: "string" })).toBe("text");
    expect(fieldKind("model", { type: "string" })).toBe("string");
    expect(fieldKind("mode", { type: "string", enum: ["a", "b"] })).toBe("enum");
    expect(fieldKind("output", {})).toBe("json");
  });
});

describe("auto-layout", () => {
  it("places nodes left to right along the edges and ignores loop edges", () => {
    const boxes = ["a", "b", "c"].map((id) => ({ id, width: 200, height: 80 }));
    const p = layoutPositions(boxes, [
      { source: "a", target: "b" },
      { source: "b", target: "c" },
      { source: "c", target: "a", loop: true },
    ]);
    expect(p.get("a")!.x).toBeLessThan(p.get("b")!.x);
    expect(p.get("b")!.x).toBeLessThan(p.get("c")!.x);
  });
});
