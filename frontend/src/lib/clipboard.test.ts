import { describe, expect, it } from "vitest";
import { parseClipboard, preparePaste, selectionToDocument, serializeClipboard } from "./clipboard";
import { graphToFlow } from "./graph";
import type { GraphDocument } from "./types";

const DOC: GraphDocument = {
  version: 1,
  nodes: [
    { id: "start", type: "trigger.manual", position: { x: 0, y: 0 } },
    { id: "mood", type: "ai.sentiment", config: { text: "{{ trigger.message }}" }, position: { x: 100, y: 50 } },
    { id: "draft", type: "ai.llm", config: { prompt: "Mood: {{ nodes.mood.output.label }} / {{ nodes.start.output }}" }, position: { x: 300, y: 80 } },
  ],
  edges: [
    { id: "e1", source: "start", target: "mood" },
    { id: "e2", source: "mood", target: "draft" },
  ],
};

describe("copy", () => {
  it("copies selected nodes and only the edges between them", () => {
    const flow = graphToFlow(DOC);
    flow.nodes = flow.nodes.map((n) => ({ ...n, selected: n.id !== "start" }));
    const doc = selectionToDocument(flow);
    expect(doc.nodes.map((n) => n.id)).toEqual(["mood", "draft"]);
    expect(doc.edges.map((e) => e.id)).toEqual(["e2"]);
  });

  it("round-trips through clipboard text", () => {
    const parsed = parseClipboard(serializeClipboard(DOC));
    expect(parsed?.nodes).toEqual(DOC.nodes);
    expect(parsed?.edges).toEqual(DOC.edges);
  });

  it("accepts a workflow with a graph key and refuses other text", () => {
    expect(parseClipboard(JSON.stringify({ name: "x", graph: DOC }))?.nodes.length).toBe(3);
    expect(parseClipboard("hello")).toBeNull();
    expect(parseClipboard('{"nodes": []}')).toBeNull();
    expect(parseClipboard('{"nodes": [{"id": 1}]}')).toBeNull();
  });
});

describe("paste", () => {
  const taken = (ids: string[], edges: string[] = []) => ({ nodeIds: new Set(ids), edgeIds: new Set(edges), noteIds: new Set<string>() });

  it("keeps ids that are free", () => {
    const result = preparePaste(DOC, taken([]));
    expect(result.nodes.map((n) => n.id)).toEqual(["start", "mood", "draft"]);
    expect(result.nodes[2].config).toEqual(DOC.nodes[2].config);
  });

  it("renames colliding ids, remaps edges and references", () => {
    const result = preparePaste(DOC, taken(["start", "mood", "draft", "mood_2"], ["e1", "e2"]));
    expect(result.nodes.map((n) => n.id)).toEqual(["start_2", "mood_3", "draft_2"]);
    expect(result.edges).toEqual([
      { id: "e_1", source: "start_2", target: "mood_3" },
      { id: "e_2", source: "mood_3", target: "draft_2" },
    ]);
    expect(result.nodes[2].config?.prompt).toBe("Mood: {{ nodes.mood_3.output.label }} / {{ nodes.start_2.output }}");
    // a reference to a node outside the pasted set keeps pointing at it
    expect(result.nodes[1].config?.text).toBe("{{ trigger.message }}");
  });

  it("drops edges to nodes that were not copied", () => {
    const doc = { ...DOC, nodes: DOC.nodes.slice(1) };
    expect(preparePaste(doc, taken([])).edges.map((e) => e.id)).toEqual(["e2"]);
  });

  it("offsets or places the fragment", () => {
    expect(preparePaste(DOC, taken([]), { offset: 40 }).nodes[1].position).toEqual({ x: 140, y: 90 });
    expect(preparePaste(DOC, taken([]), { at: { x: 1000, y: 1000 } }).nodes.map((n) => n.position)).toEqual([
      { x: 1000, y: 1000 },
      { x: 1100, y: 1050 },
      { x: 1300, y: 1080 },
    ]);
  });

  it("gives malformed ids a valid one", () => {
    const doc: GraphDocument = { version: 1, nodes: [{ id: "9 bad id", type: "ai.llm" }], edges: [] };
    expect(preparePaste(doc, taken([])).nodes[0].id).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
  });

  it("renames colliding sticky notes", () => {
    const doc: GraphDocument = { version: 1, nodes: [], edges: [], ui: { notes: [{ id: "note_1", text: "x", position: { x: 0, y: 0 } }] } };
    const result = preparePaste(doc, { nodeIds: new Set(), edgeIds: new Set(), noteIds: new Set(["note_1"]) });
    expect(result.notes[0].id).toBe("note_2");
  });
});
