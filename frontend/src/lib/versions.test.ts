import { describe, expect, it } from "vitest";
import { flowToGraph, graphToFlow } from "./graph";
import type { GraphDocument } from "./types";
import {
  canonicalJson,
  graphSummary,
  publishedMessage,
  restoreBlockedReason,
  restoredMessage,
  restoreQuestion,
  sameGraph,
  versionNumber,
} from "./versions";

const V1: GraphDocument = {
  version: 1,
  nodes: [
    { id: "start", type: "trigger.manual", name: "Start", config: {}, position: { x: 0, y: 0 } },
    { id: "check", type: "logic.if", config: { condition: "trigger.amount > 10" }, position: { x: 280, y: 0 } },
  ],
  edges: [{ id: "e1", source: "start", target: "check" }],
};

describe("versionNumber", () => {
  it("reads `version`, else the older `number`", () => {
    expect(versionNumber({ version: 3, number: 3 })).toBe(3);
    expect(versionNumber({ number: 2 })).toBe(2);
  });
  it("is null for anything but a positive integer", () => {
    expect(versionNumber({})).toBeNull();
    expect(versionNumber({ version: 0 })).toBeNull();
    expect(versionNumber({ version: 1.5 })).toBeNull();
    expect(versionNumber({ version: "2" as unknown as number })).toBeNull();
  });
});

describe("sameGraph", () => {
  it("ignores key order, at every depth", () => {
    const reordered = JSON.parse(
      '{"edges":[{"target":"check","source":"start","id":"e1"}],"nodes":[{"position":{"y":0,"x":0},"config":{},"name":"Start","type":"trigger.manual","id":"start"},{"config":{"condition":"trigger.amount > 10"},"id":"check","type":"logic.if","position":{"y":0,"x":280}}],"version":1}',
    );
    expect(sameGraph(V1, reordered)).toBe(true);
    expect(canonicalJson(V1)).toBe(canonicalJson(reordered));
  });
  it("sees a changed value, a moved node, a node more, and order in lists", () => {
    const renamed = structuredClone(V1);
    renamed.nodes[0].name = "Begin";
    expect(sameGraph(V1, renamed)).toBe(false);
    const moved = structuredClone(V1);
    moved.nodes[1].position = { x: 281, y: 0 };
    expect(sameGraph(V1, moved)).toBe(false);
    const more = structuredClone(V1);
    more.nodes.push({ id: "x", type: "data.transform" });
    expect(sameGraph(V1, more)).toBe(false);
    const swapped = { ...V1, nodes: [V1.nodes[1], V1.nodes[0]] };
    expect(sameGraph(V1, swapped)).toBe(false);
  });
  it("is false when either side is missing", () => {
    expect(sameGraph(V1, null)).toBe(false);
    expect(sameGraph(undefined, V1)).toBe(false);
  });
  it("holds for a version that went through the canvas and back (what restore saves)", () => {
    const withNote: GraphDocument = {
      ...structuredClone(V1),
      ui: { notes: [{ id: "note_1", text: "Why", position: { x: 0, y: 200 }, size: { width: 220, height: 140 } }] },
    };
    for (const doc of [V1, withNote]) {
      const flow = graphToFlow(doc);
      expect(sameGraph(flowToGraph({ nodes: flow.nodes, edges: flow.edges }, doc), doc)).toBe(true);
    }
  });
});

describe("graphSummary", () => {
  it("counts nodes, connections and notes", () => {
    expect(graphSummary(V1)).toBe("2 nodes, 1 connection");
    expect(graphSummary({ version: 1, nodes: [V1.nodes[0]], edges: [] })).toBe("1 node, 0 connections");
    expect(graphSummary({ ...V1, ui: { notes: [{ id: "n", text: "", position: { x: 0, y: 0 } }] } })).toBe(
      "2 nodes, 1 connection, 1 note",
    );
  });
  it("copes with a missing graph", () => {
    expect(graphSummary(null)).toBe("no graph");
    expect(graphSummary({ version: 1 } as unknown as GraphDocument)).toBe("no graph");
  });
});

describe("restoring", () => {
  it("is refused on a read-only canvas and during a save conflict", () => {
    expect(restoreBlockedReason({ readOnly: false, saveState: "saved" })).toBeNull();
    expect(restoreBlockedReason({ readOnly: false, saveState: "dirty" })).toBeNull();
    expect(restoreBlockedReason({ readOnly: false, saveState: "error" })).toBeNull();
    expect(restoreBlockedReason({ readOnly: true, saveState: "saved" })).toMatch(/not change the draft/);
    expect(restoreBlockedReason({ readOnly: false, saveState: "conflict" })).toMatch(/conflict/);
  });
  it("asks with both sides and says how to go back", () => {
    const draft = { ...V1, nodes: [V1.nodes[0]], edges: [] };
    const question = restoreQuestion(1, V1, draft);
    expect(question).toContain("The draft becomes version 1 (2 nodes, 1 connection).");
    expect(question).toContain("Your current draft (1 node, 0 connections) is replaced;");
    expect(question).toContain("Undo (Ctrl+Z)");
    expect(question).toContain("does not change until you publish");
    expect(restoreQuestion(4, null, null)).toContain("The draft becomes version 4. Your current draft is replaced;");
  });
  it("announces the version and the new revision, or that it is not saved", () => {
    expect(restoredMessage(1, { saved: true, revision: 7 })).toBe(
      "Restored version 1 into the draft (saved as revision 7). Undo (Ctrl+Z) brings back what you had.",
    );
    expect(restoredMessage(2, { saved: false, revision: 7, error: "Cannot reach the server." })).toMatch(
      /^Version 2 is on the canvas but the draft is not saved yet: Cannot reach the server\./,
    );
    expect(restoredMessage(2, { saved: false, revision: 7 })).toMatch(/not saved yet\. Undo/);
  });
});

describe("publishedMessage", () => {
  it("names the version, or says it went to review", () => {
    expect(publishedMessage({ status: "published", version: 3 })).toBe("Published as version 3.");
    expect(publishedMessage({ status: "published" })).toBe("Published.");
    expect(publishedMessage({ status: "pending" })).toMatch(/^Sent for review: an approver or an admin publishes it\./);
  });
});
