import { describe, expect, it } from "vitest";
import { canRedo, canUndo, commit, createHistory, redo, undo } from "./history";

describe("undo/redo history", () => {
  it("undoes and redoes in order", () => {
    let h = createHistory("a");
    h = commit(h, "b", { now: 0 });
    h = commit(h, "c", { now: 10_000 });
    expect(h.present).toBe("c");
    h = undo(h);
    expect(h.present).toBe("b");
    h = undo(h);
    expect(h.present).toBe("a");
    expect(canUndo(h)).toBe(false);
    h = redo(h);
    h = redo(h);
    expect(h.present).toBe("c");
    expect(canRedo(h)).toBe(false);
  });

  it("drops the redo branch on a new edit", () => {
    let h = commit(createHistory(1), 2);
    h = undo(h);
    h = commit(h, 3);
    expect(canRedo(h)).toBe(false);
    expect(undo(h).present).toBe(1);
  });

  it("merges a burst of edits with the same key", () => {
    let h = createHistory("");
    h = commit(h, "h", { key: "config:a:prompt", now: 1000 });
    h = commit(h, "he", { key: "config:a:prompt", now: 1200 });
    h = commit(h, "hey", { key: "config:a:prompt", now: 1400 });
    expect(h.past).toEqual([""]);
    h = commit(h, "hey!", { key: "config:a:prompt", now: 9000 });
    expect(h.past).toEqual(["", "hey"]);
    h = commit(h, "x", { key: "config:a:other", now: 9100 });
    expect(h.past.length).toBe(3);
  });

  it("does not merge across an undo", () => {
    let h = commit(createHistory("a"), "ab", { key: "k", now: 0 });
    h = undo(h);
    h = commit(h, "ac", { key: "k", now: 1 });
    expect(h.past).toEqual(["a"]);
  });

  it("keeps at most `limit` steps", () => {
    let h = createHistory(0);
    for (let i = 1; i <= 10; i++) h = commit(h, i, { limit: 3 });
    expect(h.past).toEqual([7, 8, 9]);
  });

  it("ignores a commit of the present itself", () => {
    const h = createHistory({});
    expect(commit(h, h.present)).toBe(h);
  });
});
