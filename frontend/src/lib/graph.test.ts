import { describe, expect, it } from "vitest";
import { flowToGraph, graphToFlow, NOTE_PREFIX } from "./graph";
import type { GraphDocument } from "./types";

const DOC: GraphDocument = {
  version: 1,
  nodes: [
    { id: "start", type: "trigger.manual", name: "Ticket in", config: {}, position: { x: 0, y: 0 } },
    { id: "mood", type: "ai.sentiment", config: { text: "{{ trigger.message }}" }, position: { x: 300, y: 0 }, type_version: 2 },
    {
      id: "draft",
      type: "ai.llm",
      config: { prompt: "hi" },
      retry: { max_attempts: 3, backoff_s: 1, backoff_factor: 2 },
      timeout_s: 60,
      position: { x: 600, y: 10 },
    },
  ],
  edges: [
    { id: "e1", source: "start", target: "mood" },
    { id: "e2", source: "mood", target: "draft", source_port: "error" },
    { id: "e3", source: "draft", target: "mood", loop: true },
  ],
  ui: { notes: [{ id: "note_1", text: "Hello", position: { x: 5, y: 6 }, size: { width: 200, height: 100 } }] },
  custom_key: { kept: true },
};

describe("graph <-> React Flow", () => {
  it("round-trips a document unchanged", () => {
    const flow = graphToFlow(DOC);
    expect(flow.missingPositions).toBe(false);
    expect(flowToGraph(flow, DOC)).toEqual(DOC);
  });

  it("maps ports to handles and notes to sticky nodes", () => {
    const { nodes, edges } = graphToFlow(DOC);
    expect(edges.map((e) => e.sourceHandle)).toEqual(["out", "error", "out"]);
    expect(edges[2].className).toBe("edge-loop");
    const note = nodes.find((n) => n.type === "sticky")!;
    expect(note.id).toBe(`${NOTE_PREFIX}note_1`);
    expect(note.width).toBe(200);
  });

  it("omits the default port and an empty ui key", () => {
    const doc: GraphDocument = {
      version: 1,
      nodes: [{ id: "a", type: "trigger.manual", position: { x: 0, y: 0 } }, { id: "b", type: "ai.llm", position: { x: 1, y: 2 } }],
      edges: [{ id: "e1", source: "a", target: "b", source_port: "out" }],
    };
    const back = flowToGraph(graphToFlow(doc), doc);
    expect(back.edges[0]).toEqual({ id: "e1", source: "a", target: "b" });
    expect("ui" in back).toBe(false);
  });

  it("flags nodes without a position and rounds positions", () => {
    const doc: GraphDocument = { version: 1, nodes: [{ id: "a", type: "ai.llm" }], edges: [] };
    const flow = graphToFlow(doc);
    expect(flow.missingPositions).toBe(true);
    flow.nodes[0].position = { x: 10.4, y: 20.6 };
    expect(flowToGraph(flow).nodes[0].position).toEqual({ x: 10, y: 21 });
  });
});
