import { describe, expect, it } from "vitest";
import { backoffMs, batched, FINAL_CODES, LiveConnection, type LiveEvent, type SocketLike } from "./client";
import { edgeStates, emptyRunState, fold } from "./runState";

class FakeSocket implements SocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  sent: unknown[] = [];
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {}
  deliver(...events: Partial<LiveEvent>[]) {
    for (const e of events) this.onmessage?.({ data: JSON.stringify({ kind: "step", run_id: "r", node_id: "a", visit: 1, status: "running", at: "", ...e }) });
  }
}

function harness(url = "/ws/runs/r/") {
  const sockets: FakeSocket[] = [];
  const frames: (() => void)[] = [];
  const timers: (() => void)[] = [];
  const batches: LiveEvent[][] = [];
  const states: string[] = [];
  const connection = new LiveConnection({
    url,
    onEvents: (events) => batches.push(events),
    onState: (state, code) => states.push(code ? `${state}:${code}` : state),
    socket: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    frame: (cb) => frames.push(cb),
    timer: (cb) => timers.push(cb),
    random: () => 0.5,
  }).start();
  const runFrames = () => frames.splice(0).forEach((cb) => cb());
  return { connection, sockets, frames, timers, batches, states, runFrames };
}

describe("live connection", () => {
  it("asks for batches and takes an array of events as one message each, in order", () => {
    const urls: string[] = [];
    const batches: LiveEvent[][] = [];
    const frames: (() => void)[] = [];
    const socket = new FakeSocket();
    new LiveConnection({
      url: "/ws/runs/r/?since=0",
      onEvents: (events) => batches.push(events),
      socket: (url) => {
        urls.push(url);
        return socket;
      },
      frame: (cb) => frames.push(cb),
    }).start();
    expect(urls).toEqual(["/ws/runs/r/?since=0&batch=1"]);
    expect(batched("/ws/runs/r/")).toBe("/ws/runs/r/?batch=1");
    const event = (seq: number) => ({ seq, kind: "step", run_id: "r", node_id: "a", visit: 1, status: "running", at: "" });
    socket.onmessage?.({ data: JSON.stringify([event(1), event(2)]) });
    socket.onmessage?.({ data: JSON.stringify([event(2), event(3)]) }); // 2 again: dropped
    socket.deliver({ seq: 4 }); // a single event still works
    frames.splice(0).forEach((cb) => cb());
    expect(batches.map((b) => b.map((e) => e.seq))).toEqual([[1, 2, 3, 4]]);
  });

  it("asks for everything first, then resumes after the last seq it delivered", () => {
    const h = harness();
    h.sockets[0].onopen?.({});
    expect(h.sockets[0].sent).toEqual([{ since: 0 }]);
    h.sockets[0].deliver({ seq: 1 }, { seq: 2 }, { seq: 3 });
    h.runFrames();
    h.sockets[0].onclose?.({ code: 1006 });
    expect(h.states).toContain("offline:1006");
    h.timers.shift()!();
    h.sockets[1].onopen?.({});
    expect(h.sockets[1].sent).toEqual([{ since: 3 }]);
    // the server replays 4.. ; a stray duplicate is dropped
    h.sockets[1].deliver({ seq: 3 }, { seq: 4 });
    h.runFrames();
    expect(h.batches.flat().map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it("hands a burst over once per frame", () => {
    const h = harness();
    h.sockets[0].onopen?.({});
    h.sockets[0].deliver(...Array.from({ length: 1000 }, (_, i) => ({ seq: i + 1 })));
    expect(h.frames.length).toBe(1);
    h.runFrames();
    expect(h.batches.length).toBe(1);
    expect(h.batches[0].length).toBe(1000);
  });

  it("does not reconnect after a final close code", () => {
    const h = harness();
    h.sockets[0].onclose?.({ code: 4404 });
    expect(FINAL_CODES.has(4404)).toBe(true);
    expect(h.timers.length).toBe(0);
    expect(h.states.at(-1)).toBe("closed:4404");
  });

  it("a workflow socket sends a map of run cursors", () => {
    const h = harness("/ws/workflows/w/");
    h.sockets[0].onopen?.({});
    h.sockets[0].deliver({ seq: 5, run_id: "x" }, { seq: 2, run_id: "y" });
    h.sockets[0].onclose?.({ code: 1006 });
    h.timers.shift()!();
    h.sockets[1].onopen?.({});
    expect(h.sockets[1].sent).toEqual([{ since: { x: 5, y: 2 } }]);
  });

  it("backs off exponentially up to ten seconds", () => {
    expect(backoffMs(0, () => 0.5)).toBe(188);
    expect(backoffMs(3, () => 0)).toBe(1000);
    expect(backoffMs(20, () => 1)).toBe(10_000);
  });
});

describe("run state", () => {
  const ev = (seq: number, node: string | null, status: string, extra: Record<string, unknown> = {}): LiveEvent => ({
    seq, kind: node ? "step" : "run", run_id: "r", node_id: node, visit: node ? 1 : null, status, at: `2026-01-01T00:00:0${seq}Z`, ...extra,
  });

  it("folds events into the latest step per node and reports what changed", () => {
    const state = emptyRunState();
    expect(fold(state, [ev(1, null, "running"), ev(2, "a", "running", { attempt: 1 })])).toEqual(new Set(["run", "a"]));
    fold(state, [ev(3, "a", "succeeded", { port: "out" }), ev(4, "b", "skipped")]);
    const a = state.steps.get("a")!;
    expect(a).toMatchObject({ status: "succeeded", attempts: 1, port: "out", started_at: "2026-01-01T00:00:02Z", finished_at: "2026-01-01T00:00:03Z" });
    const edges = edgeStates(
      [{ id: "ab", source: "a", target: "b" }, { id: "ac", source: "a", target: "c" }, { id: "ad", source: "a", target: "d", source_port: "error" }],
      new Map([...state.steps, ["c", { node_id: "c", visit: 1, status: "running", attempts: 1 }]]),
    );
    expect(Object.fromEntries(edges)).toEqual({ ab: "skipped", ac: "taken", ad: "skipped" });
  });
});
