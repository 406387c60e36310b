import { beforeEach, describe, expect, it } from "vitest";
import { edgeView } from "../live/edges";
import type { Run, Step } from "../lib/types";
import { BUSY_ABOVE, CALM_AT, initEditor, mergeLiveSteps, showRun, useEditor } from "./store";

const step = (node_id: string, status: Step["status"], visit = 1, extra: Partial<Step> = {}): Step => ({
  node_id,
  visit,
  status,
  attempts: status === "queued" ? 0 : 1,
  ...extra,
});
const run = (steps: Step[], status: Run["status"] = "running"): Run => ({ id: "r1", status, steps });

describe("the run view's steps", () => {
  beforeEach(() => {
    initEditor({
      workflowId: "w",
      workspace: "demo",
      apiBase: "/api/v1/",
      wsBase: "/ws/",
      csrfToken: "",
      canEdit: false,
      canRun: false,
      canPublish: false,
      user: { id: 1, username: "u" },
      mode: "run",
      runId: "r1",
    });
  });

  it("keeps a status the events already moved past when an older snapshot arrives", () => {
    showRun(run([step("a", "queued"), step("b", "queued")]));
    mergeLiveSteps({ a: step("a", "succeeded", 1, { port: "out" } as Partial<Step>) });
    // The snapshot was read before the events: it still says "running".
    showRun(run([step("a", "running", 1, { output: { x: 1 } }), step("b", "running")]));
    const { stepsByNode } = useEditor.getState();
    expect(stepsByNode.a).toMatchObject({ status: "succeeded", output: { x: 1 } });
    expect(stepsByNode.b.status).toBe("running");
  });

  it("ignores events older than a newer snapshot, and a finished run's snapshot is final", () => {
    showRun(run([step("a", "queued")]));
    showRun(run([step("a", "succeeded", 2)]));
    mergeLiveSteps({ a: step("a", "running", 1) }); // a lagging socket replaying visit 1
    expect(useEditor.getState().stepsByNode.a).toMatchObject({ status: "succeeded", visit: 2 });
    mergeLiveSteps({ a: step("a", "running", 3) });
    expect(useEditor.getState().stepsByNode.a).toMatchObject({ status: "running", visit: 3 });
    showRun(run([step("a", "failed", 3)], "failed"));
    expect(useEditor.getState().stepsByNode.a).toMatchObject({ status: "failed", visit: 3 });
  });

  it("takes only details from a snapshot while the socket delivers the events", () => {
    showRun(run([step("a", "queued"), step("b", "queued")]));
    mergeLiveSteps({ a: step("a", "running") });
    showRun(run([step("a", "succeeded", 1, { output: { x: 1 } }), step("b", "succeeded"), step("c", "running")]), { statusFromEvents: true });
    const { stepsByNode } = useEditor.getState();
    expect(stepsByNode.a).toMatchObject({ status: "running", output: { x: 1 } });
    expect(stepsByNode.b.status).toBe("queued");
    expect(stepsByNode.c).toBeUndefined();
    // The run ended: its snapshot is final.
    showRun(run([step("a", "succeeded"), step("b", "succeeded"), step("c", "failed")], "failed"), { statusFromEvents: true });
    expect(Object.values(useEditor.getState().stepsByNode).map((s) => s.status)).toEqual(["succeeded", "succeeded", "failed"]);
  });

  it("keeps the step objects of nodes whose shown fields did not change", () => {
    const a = step("a", "succeeded");
    showRun(run([a]));
    const before = useEditor.getState().stepsByNode.a;
    showRun(run([{ ...a }]));
    expect(useEditor.getState().stepsByNode.a).toBe(before);
  });

  it("is busy past BUSY_ABOVE active nodes, calm again at CALM_AT", () => {
    const many = Array.from({ length: BUSY_ABOVE + 1 }, (_, i) => step(`n${i}`, "running"));
    showRun(run(many.slice(0, BUSY_ABOVE)));
    expect(useEditor.getState().runBusy).toBe(false);
    mergeLiveSteps({ [many[BUSY_ABOVE].node_id]: many[BUSY_ABOVE] });
    expect(useEditor.getState().runBusy).toBe(true);
    const end = (from: number, to: number) =>
      mergeLiveSteps(Object.fromEntries(many.slice(from, to).map((s) => [s.node_id, { ...s, status: "succeeded" as const }])));
    end(0, BUSY_ABOVE + 1 - CALM_AT - 1); // CALM_AT + 1 still running
    expect(useEditor.getState().runBusy).toBe(true);
    end(0, BUSY_ABOVE + 1 - CALM_AT); // CALM_AT running
    expect(useEditor.getState().runBusy).toBe(false);
  });
});

describe("edge views", () => {
  const steps = {
    a: { ...step("a", "succeeded"), port: "true" },
    b: step("b", "running"),
    c: step("c", "succeeded"),
    d: step("d", "skipped"),
  };
  it("flows into an active target, is taken into an ended one, skipped otherwise", () => {
    expect(edgeView(steps, "a", "b", "true", false)).toBe("flowing");
    expect(edgeView(steps, "a", "b", "true", true)).toBe("taken");
    expect(edgeView(steps, "a", "c", "true", false)).toBe("taken");
    expect(edgeView(steps, "a", "c", "false", false)).toBe("skipped");
    expect(edgeView(steps, "a", "d", "true", false)).toBe("skipped");
    expect(edgeView(steps, "b", "c", "out", false)).toBe("");
    expect(edgeView(steps, "x", "c", "out", false)).toBe("");
  });
});
