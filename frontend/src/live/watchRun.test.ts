import { describe, expect, it } from "vitest";
import type { Step } from "../lib/types";
import type { SocketLike } from "./client";
import { liveRun } from "./watchRun";

class FakeSocket implements SocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  send() {}
  close() {}
}

describe("liveRun", () => {
  it("hands over at most maxNodesPerFrame nodes a frame, each in its latest state", () => {
    const socket = new FakeSocket();
    const frames: (() => void)[] = [];
    const handed: Record<string, Step>[] = [];
    const stop = liveRun("r", {
      wsBase: "ws://test",
      fetchRun: () => new Promise(() => undefined),
      onRun: () => undefined,
      onSteps: (steps) => handed.push(steps),
      maxNodesPerFrame: 4,
      socket: () => socket,
      frame: (cb) => frames.push(cb),
      now: () => 0, // every frame on time: the bound grows by 2 a frame
    });
    socket.onopen?.({});
    let seq = 0;
    const send = (node: string, status: string) =>
      socket.onmessage?.({ data: JSON.stringify({ seq: ++seq, kind: "step", run_id: "r", node_id: node, visit: 1, status, at: "" }) });
    for (let i = 0; i < 10; i++) send(`n${i}`, "running");
    frames.shift()!(); // the socket client's frame: all 10 events arrive at once
    expect(handed.map((s) => Object.keys(s))).toEqual([["n0", "n1", "n2", "n3"]]);
    send("n5", "succeeded"); // changed again while waiting for its turn
    while (frames.length) frames.shift()!();
    expect(handed.map((s) => Object.keys(s).length)).toEqual([4, 6, 1]);
    expect(new Set(handed.flatMap((s) => Object.keys(s)))).toEqual(new Set(Array.from({ length: 10 }, (_, i) => `n${i}`)));
    const last = handed.filter((s) => s.n5).at(-1)!;
    expect(last.n5.status).toBe("succeeded");
    stop();
  });
});

describe("liveRun's bound per frame", () => {
  it("halves after a late frame and grows while frames are on time", () => {
    const socket = new FakeSocket();
    const frames: (() => void)[] = [];
    const sizes: number[] = [];
    let clock = 0;
    liveRun("r", {
      wsBase: "ws://test",
      fetchRun: () => new Promise(() => undefined),
      onRun: () => undefined,
      onSteps: (steps) => sizes.push(Object.keys(steps).length),
      maxNodesPerFrame: 16,
      socket: () => socket,
      frame: (cb) => frames.push(cb),
      now: () => clock,
    });
    socket.onopen?.({});
    for (let i = 0; i < 200; i++)
      socket.onmessage?.({ data: JSON.stringify({ seq: i + 1, kind: "step", run_id: "r", node_id: `n${i}`, visit: 1, status: "running", at: "" }) });
    frames.shift()!(); // 16 handed over, the rest wait
    clock += 33; // a dropped frame
    frames.shift()!();
    clock += 16;
    frames.shift()!();
    expect(sizes).toEqual([16, 8, 10]);
  });
});
