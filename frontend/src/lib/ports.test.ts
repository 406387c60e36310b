import { describe, expect, it } from "vitest";
import { CATALOG } from "./fixtures";
import { portsFor, portTone } from "./ports";
import type { JSONObject } from "./types";

describe("port derivation", () => {
  it("adds the error port to non-trigger nodes", () => {
    expect(portsFor(CATALOG.get("ai.sentiment"), {})).toEqual(["out", "error"]);
    expect(portsFor(CATALOG.get("logic.if"), {})).toEqual(["true", "false", "error"]);
  });

  it("gives triggers no error port", () => {
    expect(portsFor(CATALOG.get("trigger.manual"), {})).toEqual(["out"]);
  });

  it("derives switch ports from its cases plus default", () => {
    expect(portsFor(CATALOG.get("logic.switch"), { cases: ["billing", "tech", "billing", ""] })).toEqual(["billing", "tech", "default", "error"]);
    expect(portsFor(CATALOG.get("logic.switch"), {})).toEqual(["default", "error"]);
  });

  it("derives classify ports from category names", () => {
    const config = { categories: [{ name: "spam" }, { name: "ham", description: "fine" }, { description: "no name" }] } as unknown as JSONObject;
    expect(portsFor(CATALOG.get("ai.classify"), config)).toEqual(["spam", "ham", "error"]);
  });

  it("handles types without ports and unknown types", () => {
    expect(portsFor(CATALOG.get("flow.fail"), {})).toEqual([]);
    expect(portsFor(undefined, {})).toEqual(["out"]);
  });

  it("tones ports", () => {
    expect(portTone("error")).toBe("danger");
    expect(portTone("true")).toBe("positive");
    expect(portTone("rejected")).toBe("negative");
    expect(portTone("billing")).toBe("neutral");
  });
});
