import { describe, expect, it } from "vitest";
import { handlesFor, nodeHeight, sameHandles } from "./handles";

describe("computed handle positions", () => {
  it("places the input on the left and one output per port row", () => {
    const handles = handlesFor(["true", "false", "error"], true);
    expect(handles.map((h) => [h.type, h.id, h.x, h.y])).toEqual([
      ["target", null, -5, 19],
      ["source", "true", 233, 57],
      ["source", "false", 233, 77],
      ["source", "error", 233, 97],
    ]);
    expect(nodeHeight(3)).toBe(122);
  });

  it("knows when handles are up to date", () => {
    const handles = handlesFor(["out", "error"], true);
    expect(sameHandles(handles, ["out", "error"], true)).toBe(true);
    expect(sameHandles(handles, ["out"], true)).toBe(false);
    expect(sameHandles(handles, ["out", "error"], false)).toBe(false);
    expect(sameHandles(undefined, [], false)).toBe(false);
  });
});
